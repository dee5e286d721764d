"""Label structures with a reference method: GPAW (PBE, the settings of ``data/``) or a fast
classical potential (ExTeP, Tersoff through LAMMPS), resumably and in parallel.

    areanet data label IN OUT --reference gpaw [--workers N] [--h 0.15] ...

The defaults are exactly the settings the PBE data in ``data/`` was labelled with
(``data/README.md``)::

    GPAW(mode="lcao", basis="dzp", xc="PBE", h=0.15, kpts=(1, 1, 1),
         occupations=FermiDirac(0.01), symmetry="off")

Resumable. Every labelled structure is appended to OUT the moment it is done, as one
extended-XYZ frame written with a single ``write`` and flushed to disk (``fsync``); for a
``.gz`` OUT each frame is its own gzip member, so the file stays a valid gzip stream after
every append. A rerun reads OUT, drops an incomplete last frame (the one in flight when the
run was killed) and skips every input structure already there: a structure is recognised by
``source_hash``, a fingerprint of its species, positions and cell (so reordering IN is
harmless), stored in the frame's ``info`` with ``source_index`` (its position in IN),
``label_seconds`` and ``reference`` (what labelled it). An interrupted run therefore loses
at most the structures in flight (one per worker). When every structure of IN is done, the
frames of this IN are put in IN's order (one atomic rewrite if the workers finished out of
order), so a parallel run writes the same file as a serial one.

Parallel. ``--workers N`` runs N worker processes (spawned, never forked), each with one
labeller and single-threaded BLAS/OpenMP; the parent only writes. One GPAW calculation per
worker at a time is the efficient use of a few cores for cells of tens of atoms.
"""
from __future__ import annotations

import hashlib
import io
import math
import os
import sys
import time
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from .cli import UserError

REFERENCES = ("gpaw", "extep", "tersoff")

# info keys the labeller adds to each frame
KEY_HASH = "source_hash"
KEY_INDEX = "source_index"
KEY_SECONDS = "label_seconds"
KEY_REFERENCE = "reference"
# results an input file may carry, which a new label replaces
_OLD_RESULTS = ("energy", "free_energy", "forces", "stress", "energies", "magmom", "dipole")

GPAW_INSTALL_HELP = (
    "GPAW is not installed: it is the optional extra areanet[dft]. On Debian/Ubuntu:\n"
    "    apt-get install -y g++ libxc-dev libopenblas-dev\n"
    "    CC=g++ pip install 'areanet[dft]'      # builds GPAW (~2 min) and installs gpaw-data\n"
    "(from a checkout: CC=g++ .venv/bin/pip install -e '.[dft]'). The PAW setups come with the\n"
    "gpaw-data package; Debian's gpaw-data (/usr/share/gpaw-setups) or GPAW_SETUP_PATH also work.")

_SETUP_DIRS = ("/usr/share/gpaw-setups", "/usr/local/share/gpaw-setups")
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


# ---------------------------------------------------------------------------------------
# settings and labellers
# ---------------------------------------------------------------------------------------


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
        from importlib import metadata

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
        from .reference import LammpsReference

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


# ---------------------------------------------------------------------------------------
# the output file: append one frame at a time, read back tolerating a cut-off end
# ---------------------------------------------------------------------------------------


def structure_hash(atoms) -> str:
    """Fingerprint of a structure to label: species, positions and cell (rounded to 1e-8 Å).

    Computed from the input structure (never from the written frame, whose positions are
    rounded by the text format), so it is the same on every run over the same input.
    """
    import numpy as np

    digest = hashlib.sha256(b"areanet-structure-v1")
    digest.update(np.asarray(atoms.numbers, dtype="<i8").tobytes())
    for values in (atoms.positions, atoms.cell.array):
        digest.update(np.rint(np.asarray(values, dtype=float) * 1e8).astype("<i8").tobytes())
    digest.update(np.asarray(atoms.pbc, dtype="<i8").tobytes())
    return digest.hexdigest()[:24]


def _is_gz(path: Path) -> bool:
    return path.name.endswith(".gz")


def frame_text(atoms) -> str:
    """One extended-XYZ frame (with energy, forces and info) as text."""
    import ase.io

    buffer = io.StringIO()
    ase.io.write(buffer, atoms, format="extxyz")
    return buffer.getvalue()


def append_frame(path: Path, text: str) -> None:
    """Append one frame to ``path`` in one write, then flush it to the disk."""
    data = text.encode("utf-8")
    if _is_gz(path):
        data = _gzip_member(data)
    with open(path, "ab") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _gzip_member(data: bytes) -> bytes:
    import gzip

    return gzip.compress(data, compresslevel=6, mtime=0)


def _decompress_tolerant(raw: bytes) -> tuple[str, bool]:
    """Text of a (multi-member) gzip file and whether its end was cut off."""
    chunks, pos, cut = [], 0, False
    while pos < len(raw):
        stream = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            chunks.append(stream.decompress(raw[pos:]))
        except zlib.error:
            cut = True
            break
        if not stream.eof:
            cut = True
            break
        pos = len(raw) - len(stream.unused_data)
    return b"".join(chunks).decode("utf-8", errors="replace"), cut


def _split_frames(text: str) -> tuple[list[str], bool]:
    """Complete XYZ frames (text each) and whether an incomplete frame followed them."""
    lines = text.splitlines(keepends=True)
    frames, i = [], 0
    while i < len(lines):
        head = lines[i].strip()
        if not head:
            i += 1
            continue
        try:
            n = int(head)
        except ValueError:
            return frames, True
        end = i + 2 + n
        if end > len(lines) or not lines[end - 1].endswith("\n"):
            return frames, True
        frames.append("".join(lines[i:end]))
        i = end
    return frames, False


def read_labelled(path: str | os.PathLike, repair: bool = True) -> list:
    """The complete frames of a labeller's output file (list of ase.Atoms).

    An incomplete last frame (a run killed while writing) is dropped and, with ``repair``,
    cut from the file (atomically rewritten), so that appending can go on. An unreadable
    frame before the end is an error: that file was not written by the labeller.
    """
    import ase.io

    path = Path(path)
    if not path.exists():
        return []
    raw = path.read_bytes()
    if _is_gz(path):
        text, cut = _decompress_tolerant(raw)
    else:
        text, cut = raw.decode("utf-8", errors="replace"), False
    texts, partial = _split_frames(text)
    frames = []
    for k, chunk in enumerate(texts):
        try:
            frames.append(ase.io.read(io.StringIO(chunk), format="extxyz"))
        except Exception as err:
            if k == len(texts) - 1:  # a damaged last frame is the one in flight
                texts, partial = texts[:k], True
                break
            raise UserError(f"{path}: frame {k} is not a readable extended-XYZ frame "
                            f"({type(err).__name__}: {err}); not a labeller output file?") from None
    if (cut or partial) and repair:
        _rewrite(path, "".join(texts))
        print(f"{path}: dropped an incomplete last frame (interrupted run); "
              f"{len(frames)} complete frames kept", file=sys.stderr)
    return frames


def _rewrite(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".part")
    data = text.encode("utf-8")
    with open(tmp, "wb") as handle:
        handle.write(_gzip_member(data) if (_is_gz(path) and data) else data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def labelled_frame(atoms, energy: float, forces, index: int, key: str, seconds: float,
                   description: str):
    """A clean copy of input ``atoms`` carrying the new label and the bookkeeping info."""
    import numpy as np
    from ase import Atoms
    from ase.calculators.singlepoint import SinglePointCalculator

    out = Atoms(numbers=atoms.numbers, positions=atoms.positions, cell=atoms.cell,
                pbc=atoms.pbc)
    info = {k: v for k, v in atoms.info.items() if k not in _OLD_RESULTS}
    info.update({KEY_REFERENCE: description, KEY_INDEX: int(index), KEY_HASH: key,
                 KEY_SECONDS: round(float(seconds), 3)})
    out.info.update(info)
    out.calc = SinglePointCalculator(out, energy=float(energy),
                                     forces=np.asarray(forces, dtype=float))
    return out


# ---------------------------------------------------------------------------------------
# workers
# ---------------------------------------------------------------------------------------

_WORKER: dict = {}


def _worker_init(settings: LabelSettings) -> None:
    for name in _THREAD_VARIABLES:
        os.environ[name] = "1"
    try:
        import torch

        torch.set_num_threads(1)
    except Exception:  # torch is not needed by the labellers
        pass
    _WORKER["labeller"] = make_labeller(settings)


def _worker_label(task):
    index, key, atoms = task
    labeller = _WORKER["labeller"]
    start = time.perf_counter()
    try:
        energy, forces = labeller.label(atoms, name=f"structure-{index:06d}")
    except Exception as err:  # reported by the parent, the other structures go on
        return index, key, None, None, time.perf_counter() - start, f"{type(err).__name__}: {err}"
    return index, key, energy, forces, time.perf_counter() - start, None


class _SingleThreadEnv:
    """Thread variables = 1 while worker processes are spawned (they inherit them)."""

    def __enter__(self):
        self.saved = {k: os.environ.get(k) for k in _THREAD_VARIABLES}
        for k in _THREAD_VARIABLES:
            os.environ[k] = "1"

    def __exit__(self, *exc):
        for k, v in self.saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _serial_results(tasks, settings):
    labeller = make_labeller(settings)
    try:
        for index, key, atoms in tasks:
            start = time.perf_counter()
            try:
                energy, forces = labeller.label(atoms, name=f"structure-{index:06d}")
                error = None
            except Exception as err:
                energy = forces = None
                error = f"{type(err).__name__}: {err}"
            yield index, key, energy, forces, time.perf_counter() - start, error
    finally:
        labeller.close()


def _parallel_results(tasks, settings, workers: int):
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    context = multiprocessing.get_context("spawn")
    with _SingleThreadEnv():
        executor = ProcessPoolExecutor(max_workers=workers, mp_context=context,
                                       initializer=_worker_init, initargs=(settings,))
    finished = False
    try:
        pending = set()
        queue = iter(tasks)
        for task in queue:  # keep a few tasks per worker queued, not the whole input
            pending.add(executor.submit(_worker_label, task))
            if len(pending) >= 2 * workers:
                break
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield future.result()
                nxt = next(queue, None)
                if nxt is not None:
                    pending.add(executor.submit(_worker_label, nxt))
        finished = True
    finally:
        if not finished:  # interrupted: stop the structures in flight now
            for process in list((getattr(executor, "_processes", None) or {}).values()):
                process.terminate()
        executor.shutdown(wait=True, cancel_futures=True)


# ---------------------------------------------------------------------------------------
# the run
# ---------------------------------------------------------------------------------------


def read_inputs(path: str | os.PathLike) -> list:
    """Every frame of an ASE-readable file (energies and forces not needed)."""
    from .data import _read_frames

    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such input file")
    frames = [atoms for _, atoms in _read_frames(path)]
    if not frames:
        raise UserError(f"{path}: holds no structures")
    return frames


def label_file(inp, out, settings: LabelSettings, workers: int = 1, limit: int | None = None,
               show_progress: bool = True,
               on_written: Callable[[int, object], None] | None = None) -> dict:
    """Label the structures of ``inp`` not yet in ``out``, appending each as it is done.

    ``limit`` labels at most that many new structures in this run. ``on_written(count,
    frame)`` is called after each frame is safely on disk (tests interrupt the run there).
    Returns a summary: counts, failures, timing.
    """
    from .progress import progress

    settings.check()
    if workers < 1:
        raise UserError(f"--workers {workers}: at least 1")
    out = Path(out)
    if not out.name.endswith((".extxyz", ".xyz", ".extxyz.gz", ".xyz.gz")):
        raise UserError(f"{out}: the output must be extended XYZ (.extxyz/.xyz, optionally .gz)")
    structures = read_inputs(inp)
    keys = [structure_hash(a) for a in structures]
    if len(set(keys)) != len(keys):
        first = next(k for k in range(len(keys)) if keys[k] in keys[:k])
        raise UserError(f"{inp}: structure {first} is a duplicate of an earlier one "
                        "(same species, positions and cell)")
    out.parent.mkdir(parents=True, exist_ok=True)
    existing = read_labelled(out)
    done = {str(f.info.get(KEY_HASH)) for f in existing if f.info.get(KEY_HASH) is not None}
    missing = [k for k in range(len(structures)) if keys[k] not in done]
    todo = missing if limit is None else missing[:max(limit, 0)]
    summary = {"input": str(inp), "output": str(out), "n_input": len(structures),
               "n_already_done": len(structures) - len(missing),
               "n_labelled": 0, "failed": {}, "compute_seconds": 0.0, "wall_seconds": 0.0}
    if not todo:
        summary["reordered"] = _finalise(out, keys)
        return summary

    labeller_description = describe(settings)
    tasks = ((k, keys[k], structures[k]) for k in todo)
    workers = min(workers, len(todo))
    results = (_serial_results(tasks, settings) if workers == 1
               else _parallel_results(tasks, settings, workers))
    desc = f"{settings.reference} label" + (f" ({workers} workers)" if workers > 1 else "")
    iterator = progress(results, total=len(todo), desc=desc) if show_progress else results
    start = time.perf_counter()
    try:
        for index, key, energy, forces, seconds, error in iterator:
            summary["compute_seconds"] += seconds
            if error is not None:
                summary["failed"][index] = error
                print(f"\nstructure {index}: labelling failed: {error}", file=sys.stderr)
                continue
            frame = labelled_frame(structures[index], energy, forces, index, key, seconds,
                                   labeller_description)
            append_frame(out, frame_text(frame))
            summary["n_labelled"] += 1
            if on_written is not None:
                on_written(summary["n_labelled"], frame)
    finally:
        summary["wall_seconds"] = time.perf_counter() - start
        if hasattr(results, "close"):
            results.close()
    if not summary["failed"]:
        summary["reordered"] = _finalise(out, keys)
    return summary


def describe(settings: LabelSettings) -> str:
    """The ``reference`` string of the frames this labeller writes (without running it)."""
    if settings.reference == "gpaw":
        return GpawLabeller(settings).description
    from .reference import LammpsReference

    return LammpsReference(settings.reference).description


def _finalise(out: Path, keys: list[str]) -> bool:
    """When OUT holds every structure of IN: put them in IN's order (frames from other
    inputs stay first, in their order). Returns whether the file was rewritten."""
    if not out.exists():
        return False
    frames_text, _ = _split_frames(_read_text(out))
    position = {k: i for i, k in enumerate(keys)}
    frames = read_labelled(out, repair=False)
    mine = [i for i, f in enumerate(frames) if str(f.info.get(KEY_HASH)) in position]
    if len(mine) < len(keys):
        return False
    ordered = sorted(mine, key=lambda i: position[str(frames[i].info[KEY_HASH])])
    if ordered == mine:
        return False
    others = [i for i in range(len(frames)) if i not in set(mine)]
    _rewrite(out, "".join(frames_text[i] for i in others + ordered))
    return True


def _read_text(path: Path) -> str:
    raw = path.read_bytes()
    return _decompress_tolerant(raw)[0] if _is_gz(path) else raw.decode("utf-8")


def settings_dict(settings: LabelSettings) -> dict:
    return asdict(settings)
