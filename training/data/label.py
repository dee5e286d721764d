"""Label structures with a reference method: GPAW (PBE, the settings of ``data/``) or a fast
classical potential (ExTeP, Tersoff through LAMMPS), resumably and in parallel.

    areanet data label IN OUT --reference gpaw [--workers N] [--h 0.15] ...

The defaults are exactly the settings the PBE data in ``data/`` was labelled with
(``data/README.md``)::

    GPAW(mode="lcao", basis="dzp", xc="PBE", h=0.15, kpts=(1, 1, 1),
         occupations=FermiDirac(0.01), symmetry="off", poissonsolver={"name": "fft"})

(``--poisson fd`` gives GPAW's finite-difference Poisson solver, with which the first sets of
``data/`` were labelled.)

Resumable. Every labelled structure is appended to OUT the moment it is done, as one
extended-XYZ frame written with a single ``write`` and flushed to disk (``fsync``); for a
``.gz`` OUT each frame is its own gzip member, so the file stays a valid gzip stream after
every append. A rerun reads OUT, drops an incomplete last frame (the one in flight when the
run was killed) and skips every input structure already there: a structure is recognised by
``source_hash``, a fingerprint of its species, positions and cell (so reordering IN is
harmless; an input frame that already carries one, from an earlier label run, keeps it, so a
relabel with other settings stays in the same splits), stored in the frame's ``info`` with
``source_index`` (its position in IN), ``label_seconds`` and ``reference`` (what labelled it);
OUT holds one ``reference`` only: a run with other settings than OUT's frames stops. An interrupted run therefore loses
at most the structures in flight (one per worker). When every structure of IN is done, the
frames of this IN are put in IN's order (one atomic rewrite if the workers finished out of
order), so a parallel run writes the same file as a serial one.

Parallel. ``--workers N`` runs N worker processes (spawned, never forked), each with one
labeller and single-threaded BLAS/OpenMP; the parent only writes. One GPAW calculation per
worker at a time is the efficient use of a few cores for cells of tens of atoms.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import multiprocessing
import os
import sys
import time
import zlib
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import asdict
from pathlib import Path
from typing import Callable

from ..errors import UserError
from ..progress import progress
from .labellers import GpawLabeller, LabelSettings, make_labeller
from .reference import LammpsReference
from .structures import _read_frames


# info keys the labeller adds to each frame
KEY_HASH = "source_hash"
KEY_INDEX = "source_index"
KEY_SECONDS = "label_seconds"
KEY_REFERENCE = "reference"
# results an input file may carry, which a new label replaces
_OLD_RESULTS = ("energy", "free_energy", "forces", "stress", "energies", "magmom", "dipole")
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


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


def source_key(atoms) -> str:
    """What identifies an input structure: the ``source_hash`` it carries when it is a frame of
    an earlier label run (relabelling with other settings keeps it, so the splits that draw
    from it stay put), else its ``structure_hash``."""
    key = atoms.info.get(KEY_HASH)
    return str(key) if key else structure_hash(atoms)


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


def read_inputs(path: str | os.PathLike) -> list:
    """Every frame of an ASE-readable file (energies and forces not needed)."""

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

    settings.check()
    if workers < 1:
        raise UserError(f"--workers {workers}: at least 1")
    out = Path(out)
    if not out.name.endswith((".extxyz", ".xyz", ".extxyz.gz", ".xyz.gz")):
        raise UserError(f"{out}: the output must be extended XYZ (.extxyz/.xyz, optionally .gz)")
    structures = read_inputs(inp)
    keys = [source_key(a) for a in structures]
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
    foreign = sorted({str(f.info[KEY_REFERENCE]) for f in existing if KEY_REFERENCE in f.info}
                     - {labeller_description})
    if foreign:  # one file, one reference method: never append other settings' labels
        raise UserError(f"{out} holds frames labelled by {foreign[0]!r}; this run labels with "
                        f"{labeller_description!r}. The two cannot be mixed in one file: write "
                        "to another OUT")
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
