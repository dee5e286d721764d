"""The reference labellers: GPAW (DFT, the settings of data/) and the classical potentials through
LAMMPS, behind one interface: ``label(atoms) -> (energy eV, forces eV/Å)``, ``description``,
``close()``. The settings are checked here, before any work starts."""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from ..errors import UserError
from .reference import LammpsReference


REFERENCES = ("gpaw", "extep", "tersoff")
POISSON_SOLVERS = ("fd", "fft")
GPAW_INSTALL_HELP = (
    "GPAW is not installed: it is the optional extra areanet[dft]. On Debian/Ubuntu:\n"
    "    apt-get install -y g++ libxc-dev libopenblas-dev\n"
    "    CC=g++ pip install 'areanet[dft]'      # builds GPAW (~2 min) and installs gpaw-data\n"
    "(from a checkout: CC=g++ .venv/bin/pip install -e '.[dft]'). The PAW setups come with the\n"
    "gpaw-data package; Debian's gpaw-data (/usr/share/gpaw-setups) or GPAW_SETUP_PATH also work.")

_SETUP_DIRS = ("/usr/share/gpaw-setups", "/usr/local/share/gpaw-setups")


@dataclass(frozen=True)
class LabelSettings:
    """What labels the structures. The GPAW fields default to the settings of ``data/``."""

    reference: str = "gpaw"
    mode: str = "lcao"
    basis: str = "dzp"
    xc: str = "PBE"
    h: float = 0.15  # Å, real-space grid spacing
    kpts: tuple[int, int, int] = (1, 1, 1)  # Γ-centred Monkhorst-Pack size
    smearing: float = 0.01  # eV, Fermi-Dirac width
    symmetry: str = "off"  # "off" (data/ settings) or "auto" (GPAW's default: fewer k-points)
    # Poisson solver: "fft" (spectral, exact for any cell shape: the data/fft/ sets) or "fd"
    # (GPAW's default finite differences, the first data/ sets: its stencil for a sheared cell
    # adds an energy offset that grows with the shear, data/README.md "Sheared cells")
    poisson: str = "fft"
    gpts: tuple[int, int, int] | None = None  # grid points; overrides h (small-cell checks)
    log_dir: str | None = None  # GPAW text output, one file per structure
    extra: dict = field(default_factory=dict)  # further GPAW keywords (Python API only)

    def check(self) -> "LabelSettings":
        if self.reference not in REFERENCES:
            raise UserError(f"--reference {self.reference}: choose one of {', '.join(REFERENCES)}")
        if not (self.h > 0 and math.isfinite(self.h)):
            raise UserError(f"--h {self.h}: the grid spacing must be a positive number of Å")
        if len(self.kpts) != 3 or min(self.kpts) < 1:
            raise UserError(f"--kpts {self.kpts}: three positive integers")
        if not self.smearing >= 0:
            raise UserError(f"--smearing {self.smearing}: a width >= 0 eV")
        if self.symmetry not in ("off", "auto"):
            raise UserError(f"symmetry {self.symmetry!r}: 'off' or 'auto'")
        if self.poisson not in POISSON_SOLVERS:
            raise UserError(f"--poisson {self.poisson}: choose one of {', '.join(POISSON_SOLVERS)}")
        if self.gpts is not None and (len(self.gpts) != 3 or min(self.gpts) < 1):
            raise UserError(f"gpts {self.gpts}: three positive integers")
        return self

    def gpaw_kwargs(self) -> dict:
        """Keyword arguments of ``gpaw.GPAW`` (without ``txt``)."""
        from gpaw import FermiDirac

        kpts = tuple(int(k) for k in self.kpts)
        kwargs = dict(mode=self.mode, basis=self.basis, xc=self.xc,
                      kpts=kpts if kpts == (1, 1, 1) else {"size": kpts, "gamma": True},
                      occupations=FermiDirac(self.smearing))
        if self.gpts is not None:
            kwargs["gpts"] = tuple(int(n) for n in self.gpts)
        else:
            kwargs["h"] = self.h
        if self.symmetry == "off":
            kwargs["symmetry"] = "off"
        if self.poisson == "fft":
            kwargs["poissonsolver"] = {"name": "fft"}
        return {**kwargs, **self.extra}


def import_gpaw():
    """The ``gpaw`` module with its PAW setups found, or a UserError saying how to install."""
    try:
        import gpaw
    except ImportError as err:
        raise UserError(f"{GPAW_INSTALL_HELP}\n(import gpaw failed: {err})") from None
    find_setups(gpaw)
    return gpaw


def find_setups(gpaw=None) -> list[str]:
    """Make sure GPAW searches a directory holding B and N PBE setups; returns its paths.

    GPAW looks in GPAW_SETUP_PATH, its config and the ``gpaw-data`` package; when none of
    these holds the setups, Debian's ``gpaw-data`` directory is added.
    """
    if gpaw is None:
        import gpaw
    paths = [str(p) for p in getattr(gpaw, "setup_paths", [])]

    def has_bn(directory) -> bool:
        d = Path(directory)
        return any((d / f"{s}.PBE{ext}").is_file() for s in ("B",) for ext in (".gz", "")) and \
            any((d / f"N.PBE{ext}").is_file() for ext in (".gz", ""))

    if any(has_bn(p) for p in paths):
        return paths
    for candidate in [os.environ.get("GPAW_SETUP_PATH", "")] + list(_SETUP_DIRS):
        for entry in candidate.split(os.pathsep):
            if entry and has_bn(entry):
                gpaw.setup_paths.insert(0, entry)
                return [str(p) for p in gpaw.setup_paths]
    raise UserError("GPAW cannot find its PAW setups (B.PBE, N.PBE): pip install gpaw-data, "
                    "or apt-get install gpaw-data, or set GPAW_SETUP_PATH to their directory")


def _setups_version() -> str:
    try:
        return f"gpaw-data {metadata.version('gpaw-data')}"
    except Exception:
        return "setups"


class GpawLabeller:
    """Energy and forces from a fresh GPAW calculation per structure (no state carried from
    one structure to the next, so the result never depends on the order or the worker)."""

    def __init__(self, settings: LabelSettings):
        self.settings = settings.check()
        self.gpaw = import_gpaw()
        self._count = 0

    @property
    def description(self) -> str:
        s = self.settings
        k = "Gamma" if tuple(s.kpts) == (1, 1, 1) else "x".join(map(str, s.kpts)) + "-Gamma-centred"
        sym = "" if s.symmetry == "off" else f" symmetry={s.symmetry}"
        sym += "" if s.poisson == "fd" else f" poisson={s.poisson}"
        grid = f"h={s.h:g}" if s.gpts is None else "gpts=" + "x".join(map(str, s.gpts))
        return (f"GPAW {self.gpaw.__version__} {s.mode.upper()} {s.basis} {s.xc} {grid} "
                f"kpts={k} FermiDirac({s.smearing:g}){sym} ({_setups_version()})")

    def label(self, atoms, name: str | None = None):
        from gpaw import GPAW

        self._count += 1
        txt = None
        if self.settings.log_dir:
            Path(self.settings.log_dir).mkdir(parents=True, exist_ok=True)
            txt = str(Path(self.settings.log_dir) / f"{name or f'structure-{self._count}'}.txt")
        work = atoms.copy()
        work.calc = GPAW(txt=txt, **self.settings.gpaw_kwargs())
        energy = float(work.get_potential_energy())
        forces = work.get_forces().copy()
        return energy, forces

    def energy(self, atoms, name: str | None = None) -> float:
        """The total energy only (no forces: about half the time of ``label``)."""
        from gpaw import GPAW

        txt = None
        if self.settings.log_dir:
            Path(self.settings.log_dir).mkdir(parents=True, exist_ok=True)
            txt = str(Path(self.settings.log_dir) / f"{name or 'energy'}.txt")
        work = atoms.copy()
        work.calc = GPAW(txt=txt, **self.settings.gpaw_kwargs())
        return float(work.get_potential_energy())

    def close(self) -> None:
        pass


class ClassicalLabeller:
    """ExTeP or Tersoff through LAMMPS (``areanet.training.reference.LammpsReference``)."""

    def __init__(self, settings: LabelSettings):
        self.settings = settings.check()
        self.reference = LammpsReference(settings.reference)

    @property
    def description(self) -> str:
        return self.reference.description

    def label(self, atoms, name: str | None = None):
        return self.reference.label(atoms)

    def close(self) -> None:
        self.reference.close()


def make_labeller(settings: LabelSettings):
    """A labeller with ``label(atoms) -> (energy eV, forces [n, 3] eV/Å)``, ``description``
    and ``close()``."""
    settings.check()
    if settings.reference == "gpaw":
        return GpawLabeller(settings)
    return ClassicalLabeller(settings)
