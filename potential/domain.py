"""The training domain of a model: the range of what its networks see, over its training data.

Two kinds of descriptor of an area element (Å), each with its range per centre species s:

* the network inputs: in every local frame f of the element, the feature vector x_f (the
  vertex coordinates in that frame, 12 vertices × dims for the high-order element;
  model.features), j = 0 … n_features − 1;
* the mean distance of each shell from the centre (first, second, third shell:
  j = n_features … n_features + 2). Strain moves every vertex together; a single
  coordinate can stay inside its range long after the shells have left theirs (the PBE
  data's third-shell mean spans 2.82–3.03 Å, reached by ~4 % biaxial strain, while the
  first-shell x coordinate alone would pass 11 %).

``areanet export`` stores the ranges in the model file (the arrays ``domain_min`` /
``domain_max`` [S, n_features + 3] of ``areanet_native.bin`` with ``domain_centres`` [S],
the number of training centres behind them; older readers ignore arrays they do not know).
The LAMMPS plugin's domain guard compares every atom with them at every step.

The excess of a centre is how far it leaves the ranges, the worst over frames and
descriptors:  excess_i = max_j max(lo_sj − x_j, x_j − hi_sj, 0)  (Å; x_j over every frame
for the network inputs). An atom is outside the training domain when excess_i > margin:
there the model extrapolates in at least one descriptor, where its error is not known.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .neighbors import build_edges

DOMAIN_ARRAYS = ("domain_min", "domain_max", "domain_centres")
SHELLS = (slice(0, 3), slice(3, 9), slice(9, 12))  # canonical vertex slots of the three shells


@dataclass
class Domain:
    minimum: np.ndarray  # [S, nf + 3] Å; 0 for a species without training centres
    maximum: np.ndarray  # [S, nf + 3] Å
    centres: np.ndarray  # [S] training centres of each species behind the ranges

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays of ``areanet_native.bin`` (potential/export.py) that hold the domain."""
        return {"domain_min": self.minimum.astype(np.float64),
                "domain_max": self.maximum.astype(np.float64),
                "domain_centres": self.centres.astype(np.int64)}

    @classmethod
    def from_arrays(cls, arrays: dict) -> "Domain | None":
        if not all(name in arrays for name in DOMAIN_ARRAYS):
            return None
        return cls(np.asarray(arrays["domain_min"]), np.asarray(arrays["domain_max"]),
                   np.asarray(arrays["domain_centres"]))


def element_descriptors(module: torch.nn.Module, atoms) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(centre atom indices [m], their species [m], network inputs [m, F, nf], shell mean
    distances [m, 3]) of one structure, for an AreaNet module (eager or scripted:
    element_slots and features are part of its compiled forward)."""
    edges = build_edges(atoms, float(module.cutoff), list(module.species))
    with torch.no_grad():
        centres, slots = module.element_slots(edges.vec, edges.src, edges.edge_spec, edges.spec)
        vertices = edges.vec[slots]  # [m, 12, 3], canonical slots
        features = module.features(vertices)  # [m, F, nf]
    distance = torch.linalg.norm(vertices, dim=2)  # [m, 12]
    shells = torch.stack([distance[:, sl].mean(1) for sl in SHELLS], 1)  # [m, 3]
    return centres.numpy(), edges.spec[centres].numpy(), features.numpy(), shells.numpy()


def feature_domain(module: torch.nn.Module, structures) -> Domain:
    """The per-species range of every descriptor over all centres (and frames) of ``structures``."""
    n_species = len(module.species)
    n_features = int(module.feature_mean.shape[1])
    lo = np.full((n_species, n_features + 3), np.inf)
    hi = np.full((n_species, n_features + 3), -np.inf)
    counts = np.zeros(n_species, dtype=np.int64)
    for atoms in structures:
        _, spec, features, shells = element_descriptors(module, atoms)
        for s in range(n_species):
            mine = spec == s
            if mine.any():
                low = np.concatenate([features[mine].min(axis=(0, 1)), shells[mine].min(0)])  # [nf + 3]
                high = np.concatenate([features[mine].max(axis=(0, 1)), shells[mine].max(0)])
                lo[s] = np.minimum(lo[s], low)
                hi[s] = np.maximum(hi[s], high)
                counts[s] += int(mine.sum())
    empty = counts == 0
    lo[empty], hi[empty] = 0.0, 0.0
    return Domain(lo, hi, counts)


def domain_excess(module: torch.nn.Module, domain: Domain, atoms) -> np.ndarray:
    """excess_i (Å) of every atom of ``atoms`` (0 inside the ranges, and for atoms that are
    no centre)."""
    centres, spec, features, shells = element_descriptors(module, atoms)
    excess = np.zeros(len(atoms))
    if not len(centres):
        return excess
    nf = features.shape[2]
    lo, hi = domain.minimum[spec], domain.maximum[spec]  # [m, nf + 3]
    over_f = np.maximum(lo[:, None, :nf] - features, features - hi[:, None, :nf]).max(axis=(1, 2))  # [m]
    over_s = np.maximum(lo[:, nf:] - shells, shells - hi[:, nf:]).max(1)  # [m]
    excess[centres] = np.maximum(np.maximum(over_f, over_s), 0.0)
    return excess
