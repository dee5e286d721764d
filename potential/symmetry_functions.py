"""A Behler–Parrinello network (atom-centred symmetry functions) for the comparison study.

Behler & Parrinello's descriptor of a centre atom i is a vector of radial (G2) and angular
(G4) symmetry functions over every neighbour j, k within a cutoff R_c, with the cosine
cutoff f_c(r) = ½ (cos(π r / R_c) + 1):

    G2(η, R_s; t)    = Σ_{j ∈ t} exp(−η (r_ij − R_s)²) f_c(r_ij)
    G4(ζ, λ, η; tu)  = 2^{1−ζ} Σ_{j<k, {t_j, t_k} = tu} (1 + λ cos θ_jik)^ζ
                       · exp(−η (r_ij² + r_ik² + r_jk²)) f_c(r_ij) f_c(r_ik) f_c(r_jk)

resolved by the neighbours' species relative to the centre (t = other/same species, pairs
other-other, other-same, same-same). These are invariant under rotations, reflections and
permutations of equal atoms by construction: no local frames are needed (one "frame").

With R_c = 3.6 Å, the neighbours of an h-BN atom inside the cutoff are exactly the 12
vertices of the high-order area element (3 + 6 + 3 atoms at b, √3 b and 2b; the next shell
is at √7 b = 3.83 Å), which the area-element shell finder already lists for every centre.
So :class:`SymmetryFunctionNet` reuses everything of :class:`AreaNet` -- the shell finder,
the per-species MLPs (32-64-32, SiLU), the standardisation, the per-species reference
energies, the conservative forces and the TorchScript contract -- and replaces only the
features: the comparison measures the representation, nothing else.
"""

import math
from typing import List

import torch

from .config import ModelConfig
from .model import AreaNet, make_mlp

# slots of the canonical element (potential/element.py): other species 0-2 and 9-11,
# the centre's own species 3-8
OTHER_SLOTS = (0, 1, 2, 9, 10, 11)
SAME_SLOTS = (3, 4, 5, 6, 7, 8)

# Default parameters: 8 shifted radial Gaussians per neighbour class (covering the three
# shells) and 2 ζ × 2 λ × 2 η angular terms per neighbour pair class.
RADIAL_SHIFTS = (1.2, 1.5, 1.8, 2.1, 2.4, 2.7, 3.0, 3.3)  # Å
RADIAL_ETA = 4.0  # 1/Å²
ANGULAR_ZETA = (1.0, 4.0)
ANGULAR_LAMBDA = (1.0, -1.0)
ANGULAR_ETA = (0.005, 0.05)  # 1/Å²


class SymmetryFunctionNet(AreaNet):
    """AreaNet with Behler–Parrinello G2/G4 features instead of frame coordinates."""

    rc: float
    radial_eta: float

    def __init__(self, config: ModelConfig):
        super().__init__(config)
        self.rc = float(config.cutoff)
        self.radial_eta = RADIAL_ETA
        self.register_buffer("radial_shift", torch.tensor(RADIAL_SHIFTS, dtype=torch.float64))
        zeta, lam, eta = [], [], []
        for z in ANGULAR_ZETA:
            for lm in ANGULAR_LAMBDA:
                for e in ANGULAR_ETA:
                    zeta.append(z)
                    lam.append(lm)
                    eta.append(e)
        self.register_buffer("angular_zeta", torch.tensor(zeta, dtype=torch.float64))  # [A]
        self.register_buffer("angular_lambda", torch.tensor(lam, dtype=torch.float64))  # [A]
        self.register_buffer("angular_eta", torch.tensor(eta, dtype=torch.float64))  # [A]
        self.register_buffer("other_slots", torch.tensor(OTHER_SLOTS, dtype=torch.long))
        self.register_buffer("same_slots", torch.tensor(SAME_SLOTS, dtype=torch.long))
        # pair masks over the 12 × 12 vertex pairs: other-other, other-same, same-same (j < k)
        is_other = torch.zeros(12, dtype=torch.bool)
        is_other[list(OTHER_SLOTS)] = True
        upper = torch.triu(torch.ones(12, 12, dtype=torch.bool), diagonal=1)
        oo = upper & is_other[:, None] & is_other[None, :]
        ss = upper & ~is_other[:, None] & ~is_other[None, :]
        os_ = upper & (is_other[:, None] ^ is_other[None, :])
        self.register_buffer("pair_masks", torch.stack([oo, os_, ss]).to(torch.float64))  # [3, 12, 12]
        n_features = self.n_symmetry_functions()
        n_species = len(self.species)
        self.feature_mean = torch.zeros(n_species, n_features, dtype=torch.float64)
        self.feature_std = torch.ones(n_species, n_features, dtype=torch.float64)
        n_out = 1 if self.conservative else 1 + config.dims
        self.mlps = torch.nn.ModuleList(
            [make_mlp(n_features, list(config.hidden), n_out, config.activation) for _ in self.species]
        )
        self.to(torch.float64)

    def n_symmetry_functions(self) -> int:
        return 2 * len(RADIAL_SHIFTS) + 3 * len(ANGULAR_ZETA) * len(ANGULAR_LAMBDA) * len(ANGULAR_ETA)

    def cutoff_function(self, r: torch.Tensor) -> torch.Tensor:
        inside = r < self.rc
        fc = 0.5 * (torch.cos(math.pi * r / self.rc) + 1.0)
        return torch.where(inside, fc, torch.zeros_like(r))

    def features(self, vertices: torch.Tensor) -> torch.Tensor:
        """G2 and G4 of every centre: [m, 1, n_features] from its 12 neighbours [m, 12, 3]."""
        r = torch.linalg.norm(vertices, dim=-1)  # [m, 12]
        fc = self.cutoff_function(r)  # [m, 12]
        gauss = torch.exp(-self.radial_eta * (r[:, :, None] - self.radial_shift) ** 2) * fc[:, :, None]  # [m, 12, R]
        g2_other = gauss[:, self.other_slots].sum(1)  # [m, R]
        g2_same = gauss[:, self.same_slots].sum(1)  # [m, R]
        # angles at the centre between every pair of neighbours j, k
        dots = torch.einsum("mjc,mkc->mjk", vertices, vertices)  # [m, 12, 12]
        cos = dots / (r[:, :, None] * r[:, None, :])  # [m, 12, 12]
        rjk2 = (r[:, :, None] ** 2 + r[:, None, :] ** 2 - 2.0 * dots).clamp(min=0.0)  # [m, 12, 12]
        fjk = self.cutoff_function(torch.sqrt(rjk2 + 1e-12))  # [m, 12, 12]
        radial2 = r[:, :, None] ** 2 + r[:, None, :] ** 2 + rjk2  # [m, 12, 12]
        cut3 = fc[:, :, None] * fc[:, None, :] * fjk  # [m, 12, 12]
        angular: List[torch.Tensor] = []
        for p in range(3):
            mask = self.pair_masks[p]  # [12, 12]
            for a in range(self.angular_zeta.shape[0]):
                zeta = self.angular_zeta[a]
                base = (1.0 + self.angular_lambda[a] * cos).clamp(min=0.0)
                term = base ** zeta * torch.exp(-self.angular_eta[a] * radial2) * cut3 * mask
                angular.append(2.0 ** (1.0 - zeta) * term.sum((1, 2)))  # [m]
        g4 = torch.stack(angular, dim=1)  # [m, 3·A]
        return torch.cat([g2_other, g2_same, g4], dim=1)[:, None, :]  # [m, 1, F]
