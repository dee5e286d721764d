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


def build_edges(atoms: Atoms, cutoff: float, species: list[str]) -> Edges:
    """Every neighbour within the cutoff, periodic images included (small cells meet themselves)."""
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
