"""A fast classical reference labeller: ExTeP or Tersoff for h-BN through LAMMPS, in process.

``LammpsReference("extep").label(atoms)`` returns the energy (eV) and forces (eV/Å) of a
periodic B/N structure. One LAMMPS instance is kept and reused while the atom count and
species stay the same: each new structure only resets the box, writes the positions and
runs ``run 0``, so thousands of 60-atom cells are labelled in seconds.

Cell convention. LAMMPS wants a right-handed lower-triangular cell (a along x, b in the xy
plane): rows ``L = [[ax, 0, 0], [bx, by, 0], [cx, cy, cz]]``. For an ASE cell ``C`` (rows =
lattice vectors) there is one rotation ``Q`` with ``C @ Q = L``; positions go in as
``r @ Q`` and forces come back as ``f @ Q.T``. Energies are rotation invariant.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from ..lammps_env import import_lammps, potentials_dir
from .sheets import perfect_sheet

# name -> (pair_style, potential file); pair_coeff maps LAMMPS types 1, 2 to B, N.
REFERENCES = {
    "extep": ("extep", "BN.extep"),
    "tersoff": ("tersoff", "BNC.tersoff"),
}
SPECIES = ("B", "N")
MASSES = {"B": 10.811, "N": 14.0067}


def lammps_cell(cell: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lower-triangular LAMMPS cell ``L`` and rotation ``Q`` with ``cell @ Q = L``.

    ``cell`` rows are the lattice vectors; it must be right-handed (det > 0).
    """
    cell = np.asarray(cell, dtype=float)  # [3, 3]
    if np.linalg.det(cell) <= 1e-9:
        raise ValueError(f"cell must be three right-handed lattice vectors, got {cell.tolist()}")
    a, b, c = cell
    ax = np.linalg.norm(a)
    ahat = a / ax
    bx = b @ ahat
    by = math.sqrt(max(b @ b - bx * bx, 0.0))
    cx = c @ ahat
    cy = (b @ c - bx * cx) / by
    cz = math.sqrt(max(c @ c - cx * cx - cy * cy, 0.0))
    lower = np.array([[ax, 0.0, 0.0], [bx, by, 0.0], [cx, cy, cz]])  # [3, 3]
    rotation = np.linalg.solve(cell, lower)  # [3, 3], orthogonal
    return lower, rotation


class LammpsReference:
    """Energy and forces of periodic B/N structures from ExTeP (``BN.extep``) or Tersoff
    (``BNC.tersoff``) in an in-process LAMMPS (units metal, atom_style atomic)."""

    def __init__(self, name: str = "extep"):
        if name not in REFERENCES:
            raise ValueError(f"unknown reference {name!r}; choose one of {sorted(REFERENCES)}")
        self.name = name
        self.pair_style, self.potential_file = REFERENCES[name]
        self._lmp = None
        self._signature: tuple | None = None  # (types tuple) of the live instance
        self._box: tuple | None = None

    # -- description ---------------------------------------------------------------------
    @property
    def description(self) -> str:
        """What labelled the data, for the frames' ``reference`` info key."""
        return f"LAMMPS {self.version()} pair_style {self.pair_style} {self.potential_file}"

    @staticmethod
    @functools.lru_cache(maxsize=None)
    def version() -> int:
        lammps = import_lammps()
        lmp = lammps.lammps(cmdargs=["-screen", "none", "-log", "none", "-nocite"])
        try:
            return int(lmp.version())
        finally:
            lmp.close()

    # -- LAMMPS instance -------------------------------------------------------------------
    def _types(self, atoms) -> np.ndarray:
        symbols = atoms.get_chemical_symbols()
        unknown = sorted(set(symbols) - set(SPECIES))
        if unknown:
            raise ValueError(f"{self.name} reference knows only {SPECIES}, got {unknown}")
        return np.array([SPECIES.index(s) + 1 for s in symbols], dtype=np.int32)

    def _start(self, types: np.ndarray, lower: np.ndarray, x: np.ndarray) -> None:
        self.close()
        lammps = import_lammps()
        lmp = lammps.lammps(cmdargs=["-screen", "none", "-log", "none", "-nocite"])
        (ax, _, _), (bx, by, _), (cx, cy, cz) = lower
        lmp.commands_list([
            "units metal",
            "atom_style atomic",
            "atom_modify map array sort 0 0",
            "boundary p p p",
            "region box prism 0 {:.17g} 0 {:.17g} 0 {:.17g} {:.17g} {:.17g} {:.17g} units box"
            .format(ax, by, cz, bx, cx, cy),
            f"create_box {len(SPECIES)} box",
        ])
        n = len(types)
        lmp.create_atoms(n, list(range(1, n + 1)), types.tolist(), x.ravel().tolist())
        if lmp.get_natoms() != n:
            raise RuntimeError(f"LAMMPS created {lmp.get_natoms()} of {n} atoms")
        potential = potentials_dir() / self.potential_file
        lmp.commands_list(
            [f"mass {i + 1} {MASSES[s]}" for i, s in enumerate(SPECIES)]
            + [
                f"pair_style {self.pair_style}",
                f"pair_coeff * * {potential} {' '.join(SPECIES)}",
                "neighbor 1.0 bin",
                "neigh_modify every 1 delay 0 check yes",
                "thermo_modify norm no",
            ]
        )
        self._lmp = lmp
        self._signature = tuple(types.tolist())
        self._box = tuple(lower.ravel().tolist())

    def close(self) -> None:
        if self._lmp is not None:
            self._lmp.close()
        self._lmp = None
        self._signature = None
        self._box = None

    def __del__(self):  # pragma: no cover - interpreter shutdown order varies
        try:
            self.close()
        except Exception:
            pass

    # -- labelling ---------------------------------------------------------------------
    def label(self, atoms) -> tuple[float, np.ndarray]:
        """Energy (eV) and forces ``[n, 3]`` (eV/Å, in the frame of ``atoms``)."""
        types = self._types(atoms)
        lower, rotation = lammps_cell(atoms.cell.array)
        frac = np.linalg.solve(lower.T, (atoms.positions @ rotation).T).T  # [n, 3]
        x = (frac - np.floor(frac)) @ lower  # [n, 3], wrapped into the box
        if self._lmp is None or self._signature != tuple(types.tolist()):
            self._start(types, lower, x)
        lmp = self._lmp
        box = tuple(lower.ravel().tolist())
        if box != self._box:
            (ax, _, _), (bx, by, _), (cx, cy, cz) = lower
            lmp.command(
                "change_box all x final 0 {:.17g} y final 0 {:.17g} z final 0 {:.17g} "
                "xy final {:.17g} xz final {:.17g} yz final {:.17g} units box"
                .format(ax, by, cz, bx, cx, cy))
            self._box = box
        nlocal = lmp.extract_global("nlocal")
        ids = lmp.numpy.extract_atom("id")[:nlocal] - 1  # [n]
        xl = lmp.numpy.extract_atom("x")  # [nmax, 3], LAMMPS' own memory
        xl[:nlocal] = x[ids]
        lmp.command("run 0 post no")
        energy = float(lmp.get_thermo("pe"))
        nlocal = lmp.extract_global("nlocal")
        ids = lmp.numpy.extract_atom("id")[:nlocal] - 1
        f = np.empty((len(types), 3))
        f[ids] = lmp.numpy.extract_atom("f")[:nlocal]
        return energy, f @ rotation.T

    def calculate(self, atoms):
        """Attach energy and forces to ``atoms`` (a SinglePointCalculator); returns atoms."""
        from ase.calculators.singlepoint import SinglePointCalculator

        energy, forces = self.label(atoms)
        atoms.calc = SinglePointCalculator(atoms, energy=energy, forces=forces)
        return atoms

    def calculator(self):
        """This reference as an ASE calculator (energy and forces), e.g. for relaxations."""
        from ase.calculators.calculator import Calculator, all_changes

        reference = self

        class ReferenceCalculator(Calculator):
            implemented_properties = ["energy", "forces"]

            def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
                super().calculate(atoms, properties, system_changes)
                energy, forces = reference.label(self.atoms)
                self.results = {"energy": energy, "forces": forces}

        return ReferenceCalculator()

    def energy_of_lattice_constant(self, a: float, nx: int = 5, ny: int = 3) -> float:
        """Energy per atom (eV) of the perfect sheet with lattice constant ``a`` (Å)."""

        atoms = perfect_sheet(a, nx=nx, ny=ny)
        return self.label(atoms)[0] / len(atoms)


@functools.lru_cache(maxsize=None)
def relaxed_lattice_constant(name: str = "extep", tol: float = 1e-7) -> float:
    """Lattice constant a (Å) minimising the reference's energy of the 60-atom perfect sheet.

    The perfect sheet has no free internal coordinate (every atom sits on a D3h site, so its
    force vanishes at any a): relaxing the cell is a 1D minimisation of E(a), done by golden
    section in [2.3, 2.7] Å to ``tol``. Memoised per reference.
    """
    ref = LammpsReference(name)
    try:
        lo, hi = 2.3, 2.7
        g = (math.sqrt(5.0) - 1.0) / 2.0
        x1, x2 = hi - g * (hi - lo), lo + g * (hi - lo)
        f1, f2 = ref.energy_of_lattice_constant(x1), ref.energy_of_lattice_constant(x2)
        while hi - lo > tol:
            if f1 < f2:
                hi, x2, f2 = x2, x1, f1
                x1 = hi - g * (hi - lo)
                f1 = ref.energy_of_lattice_constant(x1)
            else:
                lo, x1, f1 = x1, x2, f2
                x2 = lo + g * (hi - lo)
                f2 = ref.energy_of_lattice_constant(x2)
        a = 0.5 * (lo + hi)
    finally:
        ref.close()
    if not 2.31 < a < 2.69:
        raise RuntimeError(f"{name}: E(a) has no minimum inside [2.3, 2.7] Å (got {a:.4f})")
    return a
