"""Reading, checking, splitting and fingerprinting reference structures.

Anything ASE reads loads (extended XYZ, VASP OUTCAR / vasprun.xml, ASE databases, …): every
frame of every file, each checked before training sees it. A frame without energy or
forces, with a NaN/inf, with a species the model does not know, or whose cell is not
periodic in the sheet's plane is refused with a ``DataError`` that names the file, the frame
index (0-based, within that file) and the problem.

What comes back is a list of ``ase.Atoms``, each with a SinglePointCalculator holding
exactly ``energy`` (eV) and ``forces`` (eV/Å, float64) and the frame's ``info`` (the
generated and DFT data carry ``set``, ``perturb_strength_pct``, ``index``, ``reference``;
for ASE databases the rows' key-value pairs become ``info``). Where a file stores both,
``energy`` is ASE's ``energy`` (for VASP: the energy extrapolated to σ → 0), falling back to
``free_energy``.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import os
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ..errors import UserError

DEFAULT_SPECIES = ("B", "N")
STRENGTH_KEY = "perturb_strength_pct"
SET_KEY = "set"
_DB_FORMATS = {"db", "json"}


class DataError(UserError):
    """A data file or frame that cannot be used, with the file, frame and reason."""


# ---------------------------------------------------------------------------------------
# reading


def _as_paths(paths) -> list[Path]:
    if isinstance(paths, (str, os.PathLike)):
        return [Path(paths)]
    return [Path(p) for p in paths]


def _read_frames(path: Path) -> list[tuple[str, object]]:
    """(label, atoms) for every frame of one file; label is 'frame i' (plus db row id)."""
    import ase.io
    from ase.io.formats import filetype

    try:
        fmt = filetype(str(path), guess=True)
    except Exception:  # unknown format: let ase.io.read try and report
        fmt = None
    try:
        if fmt in _DB_FORMATS:
            import ase.db

            frames = []
            with ase.db.connect(str(path)) as db:
                for i, row in enumerate(db.select()):
                    atoms = row.toatoms()
                    atoms.info.update(row.key_value_pairs)
                    frames.append((f"frame {i} (row id {row.id})", atoms))
            return frames
        if fmt == "extxyz" and path.suffix == ".gz":
            # ASE seeks back and forth in the file: on a gzip stream every seek decompresses
            # from the start (minutes for thousands of frames), so decompress once.

            with gzip.open(path, "rt") as handle:
                images = ase.io.read(io.StringIO(handle.read()), index=":", format="extxyz")
        else:
            images = ase.io.read(str(path), index=":")
    except Exception as err:  # ASE raises many types for unreadable files
        raise DataError(f"{path}: cannot read it as a structure file: "
                        f"{type(err).__name__}: {err}") from err
    if not isinstance(images, list):
        images = [images]
    return [(f"frame {i}", atoms) for i, atoms in enumerate(images)]


def _result(atoms, name: str):
    calc = atoms.calc
    if calc is not None and getattr(calc, "results", None) is not None:
        value = calc.results.get(name)
        if value is not None:
            return value
    if name == "forces":
        return atoms.arrays.get("forces")
    return atoms.info.get(name)


def check_structure(atoms, species: Sequence[str] = DEFAULT_SPECIES, where: str = "structure"):
    """Return a clean copy of ``atoms`` (energy + forces only) or raise DataError at ``where``."""
    from ase.calculators.singlepoint import SinglePointCalculator

    n = len(atoms)
    if n == 0:
        raise DataError(f"{where}: has no atoms")
    unknown = sorted(set(atoms.get_chemical_symbols()) - set(species))
    if unknown:
        raise DataError(f"{where}: unknown species {', '.join(unknown)} "
                        f"(the model knows {', '.join(species)})")
    energy = _result(atoms, "energy")
    if energy is None:
        energy = _result(atoms, "free_energy")
    if energy is None:
        raise DataError(f"{where}: missing energy (every structure needs a total energy)")
    forces = _result(atoms, "forces")
    if forces is None:
        raise DataError(f"{where}: missing forces (every structure needs forces on all atoms)")
    try:
        energy = float(np.asarray(energy, dtype=float).reshape(()))
    except (TypeError, ValueError) as err:
        raise DataError(f"{where}: energy is not one number ({energy!r})") from err
    forces = np.array(forces, dtype=np.float64)
    if forces.shape != (n, 3):
        raise DataError(f"{where}: forces have shape {forces.shape}, expected ({n}, 3)")
    if not np.isfinite(energy):
        raise DataError(f"{where}: energy is {energy}")
    for name, values in (("forces", forces), ("positions", atoms.positions),
                         ("cell", atoms.cell.array)):
        bad = ~np.isfinite(values)
        if bad.any():
            row = int(np.argwhere(bad)[0][0])
            what = f"atom {row}" if name != "cell" else f"lattice vector {row}"
            raise DataError(f"{where}: {name} contain NaN/inf (first at {what})")
    cell = atoms.cell.array
    area = np.linalg.norm(np.cross(cell[0], cell[1]))
    if not (atoms.pbc[0] and atoms.pbc[1]) or area < 1e-6:
        raise DataError(f"{where}: cell is not periodic in the sheet's plane "
                        f"(pbc={atoms.pbc.tolist()}, in-plane cell area {area:.3g} Å²); "
                        "a monolayer needs two periodic in-plane lattice vectors")
    clean = atoms.copy()
    clean.calc = SinglePointCalculator(clean, energy=energy, forces=forces)
    return clean


def read_structures(paths, species: Sequence[str] = DEFAULT_SPECIES) -> list:
    """Every frame of every file in ``paths`` (one path or a list), checked; see module doc."""
    structures = []
    path_list = _as_paths(paths)
    if not path_list:
        raise DataError("no data files given")
    for path in path_list:
        if not path.is_file():
            raise DataError(f"{path}: no such file")
        frames = _read_frames(path)
        if not frames:
            raise DataError(f"{path}: holds no structures")
        for label, atoms in frames:
            structures.append(check_structure(atoms, species, where=f"{path}: {label}"))
    return structures


# ---------------------------------------------------------------------------------------
# metadata helpers


def strengths(structures: Iterable) -> np.ndarray:
    """Perturbation strength (%) of each structure; NaN where a frame has none."""
    out = []
    for atoms in structures:
        value = atoms.info.get(STRENGTH_KEY)
        out.append(np.nan if value is None else float(value))
    return np.array(out, dtype=float)


def sets(structures: Iterable) -> list[str | None]:
    """The ``set`` info key of each structure (None where absent)."""
    return [atoms.info.get(SET_KEY) for atoms in structures]


# ---------------------------------------------------------------------------------------
# splits


def split_random(n: int, fractions: Sequence[float] = (0.8, 0.1, 0.1), seed: int = 0
                 ) -> tuple[np.ndarray, ...]:
    """Split ``range(n)`` at random into parts of the given fractions (summing to 1).

    Part sizes come from rounding the cumulative fractions, so they add up to ``n`` (4450 →
    3560 / 445 / 445). The same ``seed`` gives the same split; each part is sorted.
    """
    fr = np.asarray(fractions, dtype=float)
    if n < 0 or fr.ndim != 1 or len(fr) == 0 or (fr < 0).any() or abs(fr.sum() - 1.0) > 1e-6:
        raise DataError(f"split fractions must be non-negative and sum to 1, got {list(fractions)}")
    order = np.random.default_rng(seed).permutation(n)
    bounds = np.rint(np.cumsum(fr) * n).astype(int)
    bounds[-1] = n
    parts, start = [], 0
    for stop in bounds:
        parts.append(np.sort(order[start:stop]))
        start = stop
    return tuple(parts)


def split_by_strength(structures, train_range: tuple[float, float] = (1.0, 5.0),
                      tol: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """Indices inside ``train_range`` (inclusive) and outside it, by perturbation strength.

    ``structures`` is a list of Atoms (their ``perturb_strength_pct``) or an array of
    strengths. A structure without a strength is an error.
    """
    values = np.asarray(structures, dtype=float) if _is_numeric(structures) else strengths(structures)
    missing = np.flatnonzero(np.isnan(values))
    if len(missing):
        raise DataError(f"structure {int(missing[0])} has no {STRENGTH_KEY} "
                        f"({len(missing)} without one); cannot split by strength")
    lo, hi = train_range
    inside = (values >= lo - tol) & (values <= hi + tol)
    return np.flatnonzero(inside), np.flatnonzero(~inside)


def _is_numeric(x) -> bool:
    try:
        return np.asarray(x).dtype.kind in "fiu"
    except Exception:
        return False


# ---------------------------------------------------------------------------------------
# fingerprint


def data_hash(structures: Iterable) -> str:
    """SHA-256 (hex) of the data: species, positions, cell, energies and forces.

    Values are rounded to 1e-8 (Å, eV, eV/Å) and hashed as integers, so float noise below
    that does not matter but any real edit does, reordering included. Hash the structures
    as ``read_structures`` returns them from the data files, so that the training data and
    the hash recorded in a model's metadata come from the same bytes.
    """
    digest = hashlib.sha256(b"areanet-data-v1")

    def put(values) -> None:
        digest.update(np.rint(np.asarray(values, dtype=float) * 1e8).astype("<i8").tobytes())

    count = 0
    for atoms in structures:
        count += 1
        digest.update(np.asarray(atoms.numbers, dtype="<i8").tobytes())
        put(atoms.positions)
        put(atoms.cell.array)
        put([atoms.get_potential_energy()])
        put(atoms.get_forces())
    digest.update(np.int64(count).tobytes())
    return digest.hexdigest()
