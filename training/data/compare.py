"""Two labellings of the same structures, frame by frame: what changed between reference
settings (``areanet data compare OLD NEW``, e.g. GPAW's FD against its FFT Poisson solver).

Frames are matched by the labeller's ``source_hash`` (or, for a frame without one, the hash
of its structure), so the order of the files does not matter; a matched pair must hold the
same structure (species, positions and cell to 1e-6 Å), or the comparison stops naming it.
"""
from __future__ import annotations

import numpy as np

from ..errors import UserError
from .label import source_key


def match_frames(old: list, new: list) -> list[tuple[int, int]]:
    """Pairs (index in ``old``, index in ``new``) of the same structure, by ``source_key`` (the
    carried ``source_hash``, else the structure's own hash: what a relabel of OLD carries);
    every frame of ``new`` must be found in ``old``."""
    where = {source_key(a): i for i, a in enumerate(old)}
    pairs = []
    for j, atoms in enumerate(new):
        if source_key(atoms) not in where:
            raise UserError(f"frame {j} of the new file (source_hash {source_key(atoms)}) is not "
                            "a structure of the old one")
        pairs.append((where[source_key(atoms)], j))
    for i, j in pairs:
        a, b = old[i], new[j]
        same = (len(a) == len(b) and np.array_equal(a.numbers, b.numbers)
                and np.allclose(a.positions, b.positions, atol=1e-6, rtol=0)
                and np.allclose(a.cell.array, b.cell.array, atol=1e-6, rtol=0))
        if not same:
            raise UserError(f"frame {j} of the new file is not the structure of frame {i} of "
                            "the old one (species, positions or cell differ)")
    return pairs


def shear_cosine(atoms) -> float:
    """cos of the angle between the two in-plane cell vectors (0 for an orthogonal cell)."""
    a, b = atoms.cell.array[0], atoms.cell.array[1]
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def compare_labels(old: list, new: list) -> list[dict]:
    """One row per frame of ``new``: its set, the cell's shear cosine, the energy difference
    new − old per atom (eV) and the force difference (RMS and max over components, eV/Å)."""
    rows = []
    for i, j in match_frames(old, new):
        a, b = old[i], new[j]
        df = b.get_forces() - a.get_forces()  # [n_atoms, 3]
        rows.append({"old_index": i, "new_index": j, "set": str(b.info.get("set", "")),
                     "shear_cos": shear_cosine(b),
                     "de_per_atom": (b.get_potential_energy() - a.get_potential_energy()) / len(b),
                     "df_rms": float(np.sqrt(np.mean(df ** 2))),
                     "df_max": float(np.abs(df).max())})
    return rows


def summarise(rows: list[dict]) -> dict:
    """Mean, spread and range of the energy difference, the worst force differences."""
    de = np.array([r["de_per_atom"] for r in rows])
    return {"n": len(rows), "de_mean": float(de.mean()), "de_std": float(de.std()),
            "de_min": float(de.min()), "de_max": float(de.max()),
            "df_rms": float(np.sqrt(np.mean([r["df_rms"] ** 2 for r in rows]))),
            "df_max": float(max(r["df_max"] for r in rows))}
