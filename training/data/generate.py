"""Perturbed h-BN training structures, the report's protocol, a 3D one and a strained one.

The structure: a 60-atom monolayer cell, 5 × 3 rectangular 4-atom cells (a × √3 a, atoms
B (0, 0), N (0, b), B (a/2, 3b/2), N (a/2, 5b/2) with bond b = a/√3), cell height 12 Å, atoms
at z = 6 Å, relaxed with the reference in use (its lattice constant a minimises E(a)).
This is the layout of the PBE data in ``data/`` (same atom order).

For a perturbation strength p (in %), every atom is displaced in-plane by a vector uniform
in a disk of radius p·b (area-uniform: radius p·b·√u, angle 2πv). Protocols:

* ``paper`` (set ``inplane``): p = 1.0, 1.2, …, 5.0 % (21 levels);
* ``3d`` (set ``3d``): first a random in-plane strain, εxx, εyy, εxy each uniform in ±1 %,
  applied to the cell and the atoms (r → (1 + ε) r, ε symmetric), then the same in-plane
  disk displacement plus an out-of-plane displacement uniform in [−p·b, p·b];
* ``strain`` (set ``strain``, the wider domain): a strain state of one of the modes
  ``biaxial`` (εxx = εyy = ε), ``zigzag`` (εxx = ε; x runs along the zigzag direction of this
  cell), ``armchair`` (εyy = ε), ``shear`` (εxy = ε) or ``mixed`` (εxx, εyy uniform between 0 and ε,
  εxy uniform in ±|ε|), at ε = ±2, ±4, ±6, ±8, ±10 %, then the ``3d`` displacements at a strength p drawn
  per frame from 1.0, 1.2, …, 5.0 %. Frames come in a stratified order: the k-th frame of
  every (mode, ε) bin, the bins in a seeded random order, before any bin's (k+1)-th, so any
  prefix of the file (a labelling stopped early) covers the strain range evenly;
* ``extrap=True`` (set ``extrap``): the extrapolation points of the report, p = 0 % (the
  perfect cell: 1 frame), 0.5, 5.5, 6.0, 6.5, 7.0, 7.5 % (2 frames each by default), with
  the displacements of the chosen protocol.

Counts. ``per_level=None`` gives the report's 4450 structures: 4450 = 21 × 211 + 19, so
the 19 lowest levels (1.0 … 4.6 %) get 212 frames and the two highest (4.8, 5.0 %) 211.

Randomness. Every frame draws from its own ``numpy`` Generator seeded with
``(seed, set, level, index)``: the same seed gives the same frames, and a smaller
``per_level`` gives a prefix of each level of a larger run.
"""
from __future__ import annotations

import gzip
import io
import math
import os
import time
from pathlib import Path

import numpy as np

from ..progress import progress
from .sheets import perfect_sheet
from .reference import LammpsReference, relaxed_lattice_constant

PAPER_LEVELS = tuple(round(1.0 + 0.2 * i, 1) for i in range(21))  # %, 1.0 ... 5.0
EXTRAP_LEVELS = (0.0, 0.5, 5.5, 6.0, 6.5, 7.0, 7.5)  # %
PAPER_TOTAL = 4450
EXTRAP_PER_LEVEL = 2
STRAIN_MAX = 0.01  # |εxx|, |εyy|, |εxy| of the 3d protocol
STRAIN_MODES = ("biaxial", "zigzag", "armchair", "shear", "mixed")
STRAIN_LEVELS = (-10.0, -8.0, -6.0, -4.0, -2.0, 2.0, 4.0, 6.0, 8.0, 10.0)  # ε in % (strain protocol)
STRAIN_PER_BIN = 4  # default frames per (mode, ε) bin: 200 in all
PROTOCOLS = {"paper": "inplane", "3d": "3d", "strain": "strain"}
_SET_CODES = {"inplane": 0, "3d": 1, "extrap-inplane": 2, "extrap-3d": 3, "strain": 4}


def default_counts(n_levels: int = len(PAPER_LEVELS), total: int = PAPER_TOTAL) -> list[int]:
    """Frames per level summing to ``total``: the remainder goes to the lowest levels."""
    base, extra = divmod(total, n_levels)
    return [base + (1 if i < extra else 0) for i in range(n_levels)]


def frame_count(protocol: str, per_level: int | None = None, extrap: bool = False) -> int:
    """How many frames one run of ``generate`` writes."""
    if protocol == "strain":
        return len(STRAIN_MODES) * len(STRAIN_LEVELS) * (per_level or STRAIN_PER_BIN)
    return sum(level_counts(per_level, extrap).values())


def level_counts(per_level: int | None = None, extrap: bool = False) -> dict[float, int]:
    """Strength (%) -> number of frames for one run."""
    if extrap:
        n = EXTRAP_PER_LEVEL if per_level is None else per_level
        return {p: (1 if p == 0.0 else n) for p in EXTRAP_LEVELS}
    if per_level is None:
        return dict(zip(PAPER_LEVELS, default_counts()))
    return {p: per_level for p in PAPER_LEVELS}


def strain_state(mode: str, strain_pct: float, rng: np.random.Generator) -> tuple[float, float, float]:
    """(εxx, εyy, εxy) of one strain-protocol frame (fractions, not %)."""
    e = strain_pct / 100.0
    if mode == "biaxial":
        return e, e, 0.0
    if mode == "zigzag":
        return e, 0.0, 0.0
    if mode == "armchair":
        return 0.0, e, 0.0
    if mode == "shear":
        return 0.0, 0.0, e
    if mode == "mixed":  # ε > 0: both normal strains tensile, ε < 0: both compressive
        exx, eyy = rng.uniform(min(e, 0.0), max(e, 0.0), size=2)
        exy = rng.uniform(-abs(e), abs(e))
        return float(exx), float(eyy), float(exy)
    raise ValueError(f"unknown strain mode {mode!r}; choose one of {', '.join(STRAIN_MODES)}")


def apply_strain(atoms, exx: float, eyy: float, exy: float) -> None:
    """Strain cell and atoms in place: r → (1 + ε) r in the plane, ε symmetric."""
    deform = np.array([[1.0 + exx, exy], [exy, 1.0 + eyy]])  # [2, 2]
    cell = atoms.cell.array.copy()
    cell[:, :2] = cell[:, :2] @ deform
    pos = atoms.positions.copy()
    pos[:, :2] = pos[:, :2] @ deform
    atoms.set_cell(cell, scale_atoms=False)
    atoms.positions = pos


def perturb(sheet, strength_pct: float, rng: np.random.Generator, bond: float,
            three_d: bool = False, strain: tuple[float, float, float] | None = None):
    """A perturbed copy of ``sheet``: strain (3d: random within ±1 %, or the given
    (εxx, εyy, εxy)), in-plane disk and out-of-plane (3d)."""
    atoms = sheet.copy()
    n = len(atoms)
    radius = strength_pct / 100.0 * bond
    if three_d:
        if strain is None:
            strain = tuple(rng.uniform(-STRAIN_MAX, STRAIN_MAX, size=3))
        apply_strain(atoms, *strain)
    r = radius * np.sqrt(rng.random(n))  # [n], area-uniform in the disk
    theta = 2.0 * np.pi * rng.random(n)  # [n]
    disp = np.zeros((n, 3))
    disp[:, 0] = r * np.cos(theta)
    disp[:, 1] = r * np.sin(theta)
    if three_d:
        disp[:, 2] = rng.uniform(-radius, radius, size=n)
    atoms.positions = atoms.positions + disp
    return atoms


def generate(protocol: str = "paper", reference: str = "extep", per_level: int | None = None,
             seed: int = 0, extrap: bool = False, show_progress: bool = True,
             lattice_constant: float | None = None) -> list:
    """Perturbed 60-atom cells labelled with the reference (list of ase.Atoms).

    ``lattice_constant`` (Å) builds the sheet at that a instead of the reference's own
    minimum: candidates for another labeller (e.g. PBE's 2.5198 Å for GPAW).

    Each frame carries ``info`` keys ``set``, ``perturb_strength_pct``, ``index`` (within its
    level) and ``reference``, and a SinglePointCalculator with energy and forces.
    """
    from ase.calculators.singlepoint import SinglePointCalculator

    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; choose one of {sorted(PROTOCOLS)}")
    if per_level is not None and per_level < 1:
        raise ValueError(f"per_level must be at least 1, got {per_level}")
    if seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")
    if protocol == "strain" and extrap:
        raise ValueError("the strain protocol has no extrapolation points (its ε already "
                         "reaches ±10 %)")
    three_d = protocol == "3d"
    set_name = "extrap" if extrap else PROTOCOLS[protocol]
    set_code = _SET_CODES[f"extrap-{PROTOCOLS[protocol]}" if extrap else set_name]

    if lattice_constant is not None and not 2.0 < lattice_constant < 3.2:
        raise ValueError(f"lattice_constant {lattice_constant} Å is not an h-BN lattice constant (2-3.2 Å)")
    a = lattice_constant if lattice_constant is not None else relaxed_lattice_constant(reference)
    bond = a / math.sqrt(3.0)
    sheet = perfect_sheet(a)
    ref = LammpsReference(reference)
    description = f"{ref.description} a0={a:.5f}A {protocol}-protocol"

    if protocol == "strain":
        candidates = strained_frames(sheet, bond, per_level or STRAIN_PER_BIN, seed)
    else:
        candidates = [_perturbed_frame(sheet, bond, p, k, seed, set_code, set_name, three_d)
                      for p, count in level_counts(per_level, extrap).items() for k in range(count)]
    frames = []
    try:
        iterator = (progress(candidates, desc=f"{reference} {set_name}") if show_progress
                    else candidates)
        for atoms in iterator:
            energy, forces = ref.label(atoms)
            atoms.calc = SinglePointCalculator(atoms, energy=energy, forces=forces)
            atoms.info["reference"] = description
            frames.append(atoms)
    finally:
        ref.close()
    return frames


def _perturbed_frame(sheet, bond: float, p: float, k: int, seed: int, set_code: int,
                     set_name: str, three_d: bool):
    rng = np.random.default_rng([seed, set_code, int(round(p * 10)), k])
    atoms = perturb(sheet, p, rng, bond, three_d=three_d)
    atoms.info.update(set=set_name, perturb_strength_pct=float(p), index=int(k))
    return atoms


def strained_frames(sheet, bond: float, per_bin: int, seed: int) -> list:
    """The strain protocol's unlabelled frames, in stratified order (module docstring)."""
    bins = [(m, e) for m in range(len(STRAIN_MODES)) for e in STRAIN_LEVELS]
    order = np.random.default_rng([seed, _SET_CODES["strain"]]).permutation(len(bins))
    frames = []
    for k in range(per_bin):
        for b in order:
            mode, level = bins[b]
            rng = np.random.default_rng([seed, _SET_CODES["strain"], mode,
                                         int(round(level * 10)) + 1000, k])
            p = float(PAPER_LEVELS[rng.integers(len(PAPER_LEVELS))])
            strain = strain_state(STRAIN_MODES[mode], level, rng)
            atoms = perturb(sheet, p, rng, bond, three_d=True, strain=strain)
            atoms.info.update(set="strain", strain_mode=STRAIN_MODES[mode], strain_pct=level,
                              strain_xx=strain[0], strain_yy=strain[1], strain_xy=strain[2],
                              perturb_strength_pct=p, index=int(k))
            frames.append(atoms)
    return frames


def write_frames(frames, path: str | os.PathLike) -> Path:
    """Write frames as extended XYZ (gzip-compressed when the name ends in ``.gz``).

    Written to a temporary name and renamed, so an interrupted run leaves no half file.
    """

    import ase.io

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    if path.name.endswith(".gz"):  # mtime=0: the same frames give the same bytes
        with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6,
                                                   mtime=0, filename="") as packed, \
                io.TextIOWrapper(packed, encoding="utf-8") as handle:
            ase.io.write(handle, frames, format="extxyz")
    else:
        with open(tmp, "w", encoding="utf-8") as handle:
            ase.io.write(handle, frames, format="extxyz")
    os.replace(tmp, path)
    return path


def run(protocol: str, reference: str, out, per_level: int | None = None, seed: int = 0,
        extrap: bool = False, show_progress: bool = True, lattice_constant: float | None = None) -> dict:
    """Generate, write and time one data set; returns a summary dict."""
    t0 = time.perf_counter()
    frames = generate(protocol, reference, per_level=per_level, seed=seed, extrap=extrap,
                      show_progress=show_progress, lattice_constant=lattice_constant)
    t1 = time.perf_counter()
    path = write_frames(frames, out)
    t2 = time.perf_counter()
    return {"path": str(path), "n_structures": len(frames), "seconds_generate": t1 - t0,
            "seconds_write": t2 - t1, "seconds_total": t2 - t0}
