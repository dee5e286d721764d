"""Edges for the model contract from an ASE structure, and the host-side reduction.

The model returns dE/d(edge_vec) per edge, edge_vec = r_j − r_i (+ periodic shift). The host
turns it into forces and virial, the same way LAMMPS and ML-IAP do:
    F_i += g_ij,  F_j −= g_ij,   stress = (1/V) Σ_ij g_ij ⊗ r_ij (symmetrised).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from ase import Atoms
from ase.neighborlist import neighbor_list


@dataclass
class Edges:
    vec: torch.Tensor  # [E, 3] float64, r_j − r_i including the periodic shift, Å
    src: torch.Tensor  # [E] int64, centre atom i
    dst: torch.Tensor  # [E] int64, neighbour atom j (index in the structure, not the image)
    spec: torch.Tensor  # [n] int64, model species index of every atom

    @property
    def edge_spec(self) -> torch.Tensor:
        return self.spec[self.dst]  # [E]


def species_indices(atoms: Atoms, species: list[str]) -> np.ndarray:
    symbols = atoms.get_chemical_symbols()
    unknown = sorted(set(symbols) - set(species))
    if unknown:
        raise ValueError(f"structure holds species {unknown} that the model does not know (it has {species})")
    lookup = {s: k for k, s in enumerate(species)}
    return np.array([lookup[s] for s in symbols], dtype=np.int64)


MIN_DISTANCE = 0.8  # Å: closer atoms overlap (the B-N bond is 1.45 Å); no model stands behind them


def _vector(v) -> str:
    return "[" + ", ".join(f"{float(x):g}" for x in v) + "]"


def check_structure(atoms: Atoms) -> None:
    """ValueError naming the cell vector or atom when a structure cannot be evaluated:
    a non-finite cell vector, a zero (or dependent) cell vector along a periodic direction,
    a non-finite position."""
    cell = np.asarray(atoms.cell.array, dtype=np.float64)
    for k, name in enumerate("abc"):
        if not np.isfinite(cell[k]).all():
            raise ValueError(f"areanet: cell vector {name} (atoms.cell[{k}]) is {_vector(cell[k])}: not finite")
        if atoms.pbc[k] and not np.any(cell[k]):
            raise ValueError(f"areanet: cell vector {name} (atoms.cell[{k}]) is zero, but the structure is "
                             f"periodic along it (pbc[{k}] = True)")
    periodic = cell[atoms.pbc]
    if len(periodic) and np.linalg.matrix_rank(periodic) < len(periodic):
        names = ", ".join(n for n, p in zip("abc", atoms.pbc) if p)
        raise ValueError(f"areanet: the periodic cell vectors {names} are linearly dependent: the cell "
                         "has no extent along one periodic direction")
    bad = np.nonzero(~np.isfinite(atoms.positions).all(axis=1))[0]
    if len(bad):
        i = int(bad[0])
        raise ValueError(f"areanet: atom {i} ({atoms[i].symbol}) has position {_vector(atoms.positions[i])}: "
                         f"not finite (NaN or inf){f' ({len(bad)} atoms have such positions)' if len(bad) > 1 else ''}")


def refuse_overlaps(atoms: Atoms, edges: "Edges") -> None:
    """ValueError naming the closest pair when two atoms are closer than MIN_DISTANCE."""
    if edges.vec.shape[0] == 0:
        return
    dist = torch.linalg.norm(edges.vec, dim=1)
    k = int(torch.argmin(dist))
    if float(dist[k]) < MIN_DISTANCE:
        i, j = int(edges.src[k]), int(edges.dst[k])
        raise ValueError(f"areanet: atoms {i} ({atoms[i].symbol}) and {j} ({atoms[j].symbol}) are "
                         f"{float(dist[k]):.3g} Å apart (< {MIN_DISTANCE} Å): they overlap, and no model "
                         "describes that (a blown-up MD, or a duplicated atom?)")


SMALL_CELL_ATOMS = 128  # below this, all pairs × images beats ASE's cell list (measured: 60 atoms yes, 960 no)


def image_pairs(atoms: Atoms, cutoff: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(i, j, r_j − r_i + image shift) for every pair within the cutoff: all pairs × all images.

    Vectorised over pairs, for the small cells of training data (60 atoms: ~1 ms, where
    ASE's general neighbour list takes tens of ms).
    """
    cell = atoms.cell.array
    pbc = atoms.pbc
    positions = atoms.positions
    if pbc.any():
        frac = np.linalg.solve(cell.T, positions.T).T
        frac[:, pbc] -= np.floor(frac[:, pbc])  # wrap into the cell along periodic axes
        positions = frac @ cell
    reach = []
    volume = abs(np.linalg.det(cell)) if pbc.all() or atoms.cell.rank == 3 else 0.0
    for k in range(3):
        if not pbc[k]:
            reach.append(0)
            continue
        cross = np.cross(cell[(k + 1) % 3], cell[(k + 2) % 3])
        spacing = volume / np.linalg.norm(cross)  # distance between lattice planes
        reach.append(int(np.ceil(cutoff / spacing)))
    grids = np.meshgrid(*[np.arange(-r, r + 1) for r in reach], indexing="ij")
    shifts = np.stack([g.ravel() for g in grids], axis=1) @ cell  # [S, 3]
    n = len(positions)
    delta = positions[None, :, :] - positions[:, None, :]  # [n, n, 3] r_j − r_i
    i_list, j_list, d_list = [], [], []
    for shift in shifts:
        vec = delta + shift  # [n, n, 3]
        dist2 = np.einsum("ijc,ijc->ij", vec, vec)
        mask = dist2 < cutoff * cutoff
        if not shift.any():
            np.fill_diagonal(mask, False)
        i, j = np.nonzero(mask)
        i_list.append(i)
        j_list.append(j)
        d_list.append(vec[i, j])
    i = np.concatenate(i_list)
    order = np.argsort(i, kind="stable")
    return i[order], np.concatenate(j_list)[order], np.concatenate(d_list)[order]


def build_edges(atoms: Atoms, cutoff: float, species: list[str]) -> Edges:
    """Every neighbour within the cutoff, periodic images included (small cells meet themselves)."""
    if len(atoms) <= SMALL_CELL_ATOMS and (atoms.cell.rank == 3 or not atoms.pbc.any()):
        i, j, d = image_pairs(atoms, cutoff)
    else:
        i, j, d = neighbor_list("ijD", atoms, cutoff, self_interaction=False)
    return Edges(
        vec=torch.from_numpy(np.ascontiguousarray(d, dtype=np.float64)),
        src=torch.from_numpy(i.astype(np.int64)),
        dst=torch.from_numpy(j.astype(np.int64)),
        spec=torch.from_numpy(species_indices(atoms, species)),
    )


def edge_forces(edges: Edges, dE_dedge: torch.Tensor, n_atoms: int) -> torch.Tensor:
    """F = −∂E/∂R from per-edge gradients: [n, 3]."""
    forces = torch.zeros((n_atoms, 3), dtype=dE_dedge.dtype, device=dE_dedge.device)
    forces.index_add_(0, edges.src, dE_dedge)
    forces.index_add_(0, edges.dst, -dE_dedge)
    return forces


def edge_virial(edges: Edges, dE_dedge: torch.Tensor) -> torch.Tensor:
    """Σ_ij g_ij ⊗ r_ij = ∂E/∂ε (3×3, eV): stress × volume in ASE's sign convention."""
    virial = dE_dedge.T @ edges.vec  # [3, 3]
    return 0.5 * (virial + virial.T)


def edge_centroid_virials(edges: Edges, dE_dedge: torch.Tensor, n_atoms: int) -> torch.Tensor:
    """Per-atom centroid virial W_k = Σ_(i,k) −r_ik ⊗ g_ik over the edges ending at k: [n, 3, 3] eV.

    LAMMPS' sign (W = −∂E/∂ε summed over atoms, W_ab = −r_a g_b, not symmetric) and the
    split of ``compute centroid/stress/atom`` with ``pair_style areanet``: each centre's
    term measured from the centre, where its energy sits (derivation in
    lammps_plugin/areanet_centroid.h), so the heat current is J = Σ_k e_k v_k + Σ_k W_k·v_k.
    """
    outer = -edges.vec[:, :, None] * dE_dedge[:, None, :]  # [E, 3, 3], (a, b) = −r_a g_b
    virials = torch.zeros((n_atoms, 3, 3), dtype=dE_dedge.dtype, device=dE_dedge.device)
    virials.index_add_(0, edges.dst, outer)
    return virials
