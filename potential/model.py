"""AreaNet: one small MLP per centre species over frame-averaged area elements.

Energy of a structure = Σ over element centres of a sub-energy
    e_i = e0[s_i] + energy_scale · mean_f MLP_{s_i}((features_f(i) − mean[s_i]) / std[s_i])
where f runs over the local frames of `element.py`. Forces are −∂E/∂R by autograd through
the frames (conservative, default); the paper's direct force head is available for the
comparison study only and cannot drive MD.

`forward` is the one TorchScript contract every host uses (DESIGN §5):
    forward(edge_vec [E,3], edge_src [E], edge_spec [E], spec [n]) -> (atom_energy [n], dE_dedge [E,3])
"""

from typing import List, Tuple

import torch
from torch import nn

from .config import FORMAT_VERSION, ModelConfig
from .element import find_element_slots, frame_axes, frame_coordinates, frame_tables, low_order_matrix


def make_mlp(n_in: int, hidden: List[int], n_out: int, activation: str) -> nn.Sequential:
    layers: List[nn.Module] = []
    width = n_in
    for h in hidden:
        layers.append(nn.Linear(width, h))
        layers.append({"silu": nn.SiLU, "tanh": nn.Tanh, "leaky_relu": nn.LeakyReLU}[activation]())
        width = h
    layers.append(nn.Linear(width, n_out))
    return nn.Sequential(*layers)


class AreaNet(nn.Module):
    format_version: int
    cutoff: float
    species: List[str]
    units: str
    dims: int
    low_order: bool
    conservative: bool

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.format_version = FORMAT_VERSION
        self.cutoff = float(config.cutoff)
        self.species = list(config.species)
        self.units = "metal"
        self.dims = config.dims
        self.low_order = config.order == "low"
        self.conservative = config.forces == "conservative"
        n_species = len(self.species)
        ref, sy, sz, order = frame_tables(config.dims)
        self.register_buffer("frame_ref", ref)  # [F]
        self.register_buffer("frame_sy", sy)  # [F]
        self.register_buffer("frame_sz", sz)  # [F]
        self.register_buffer("frame_order", order)  # [F, 12]
        self.register_buffer("low_order_matrix", low_order_matrix())  # [6, 12]
        is_centre = torch.zeros(n_species, dtype=torch.bool)
        is_centre[config.centre_species()] = True
        self.register_buffer("is_centre", is_centre)  # [S]
        n_features = config.n_features
        self.register_buffer("feature_mean", torch.zeros(n_species, n_features, dtype=torch.float64))
        self.register_buffer("feature_std", torch.ones(n_species, n_features, dtype=torch.float64))
        self.register_buffer("ref_energy", torch.zeros(n_species, dtype=torch.float64))  # [S] eV
        self.register_buffer("energy_scale", torch.ones((), dtype=torch.float64))  # eV
        self.register_buffer("force_scale", torch.ones((), dtype=torch.float64))  # eV/Å, direct head
        n_out = 1 if self.conservative else 1 + config.dims
        self.mlps = nn.ModuleList(
            [make_mlp(n_features, list(config.hidden), n_out, config.activation) for _ in self.species]
        )
        self.to(torch.float64)

    # --- the representation -----------------------------------------------------------------

    def element_slots(
        self, edge_vec: torch.Tensor, edge_src: torch.Tensor, edge_spec: torch.Tensor, spec: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """(centre atom indices [m], edge index of each canonical vertex slot [m, 12])."""
        centres = torch.nonzero(self.is_centre[spec]).flatten()  # [m]
        with torch.no_grad():
            slots = find_element_slots(
                edge_vec.detach(), edge_src, edge_spec, spec, centres, self.species, self.cutoff
            )  # [m, 12]
        return centres, slots

    def features(self, vertices: torch.Tensor) -> torch.Tensor:
        """Network inputs in every frame: [m, F, n_features] from vertices [m, 12, 3]."""
        coords = frame_coordinates(
            vertices, self.frame_ref, self.frame_sy, self.frame_sz, self.frame_order, self.dims
        )  # [m, F, 12, dims]
        if self.low_order:
            coords = torch.einsum("uv,mfvd->mfud", self.low_order_matrix, coords)  # [m, F, 6, dims]
        return coords.reshape(coords.shape[0], coords.shape[1], -1)

    def element_outputs(
        self, vertices: torch.Tensor, centre_spec: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Sub-energies [m] (eV) and, for a direct-force model, forces on the centres [m, 3]."""
        m = vertices.shape[0]
        features = self.features(vertices)  # [m, F, n_features]
        energy = torch.zeros([m], dtype=vertices.dtype, device=vertices.device)  # [m]
        frame_out = torch.zeros([m, features.shape[1], 3], dtype=vertices.dtype, device=vertices.device)
        for s, mlp in enumerate(self.mlps):
            sel = torch.nonzero(centre_spec == s).flatten()  # [m_s]
            if sel.numel() > 0:
                x = (features[sel] - self.feature_mean[s]) / self.feature_std[s]  # [m_s, F, n_features]
                out = mlp(x)  # [m_s, F, n_out]
                energy = energy.index_copy(0, sel, self.ref_energy[s] + self.energy_scale * out[:, :, 0].mean(1))
                if not self.conservative:
                    force_in_frame = torch.zeros([sel.shape[0], out.shape[1], 3], dtype=out.dtype, device=out.device)
                    force_in_frame[:, :, : self.dims] = out[:, :, 1:]
                    frame_out = frame_out.index_copy(0, sel, force_in_frame)
        if self.conservative:
            return energy, torch.zeros([0, 3], dtype=vertices.dtype, device=vertices.device)
        return energy, self.direct_forces(vertices, frame_out)

    def direct_forces(self, vertices: torch.Tensor, frame_force: torch.Tensor) -> torch.Tensor:
        """Rotate per-frame force outputs [m, F, 3] back to the lab frame and average: [m, 3]."""
        x_axis, y_axis, normal = frame_axes(vertices)  # [m, 3, 3], [m, 3, 3], [m, 3]
        fx = frame_force[:, :, 0:1] * x_axis[:, self.frame_ref]  # [m, F, 3]
        fy = (frame_force[:, :, 1:2] * self.frame_sy[None, :, None]) * y_axis[:, self.frame_ref]
        fz = (frame_force[:, :, 2:3] * self.frame_sz[None, :, None]) * normal[:, None, :]
        return self.force_scale * (fx + fy + fz).mean(1)

    # --- the contract -----------------------------------------------------------------------

    def forward(
        self, edge_vec: torch.Tensor, edge_src: torch.Tensor, edge_spec: torch.Tensor, spec: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        if not self.conservative:
            raise RuntimeError("areanet: a direct-force model has no conservative forces; it cannot drive MD")
        centres, slots = self.element_slots(edge_vec, edge_src, edge_spec, spec)
        if not edge_vec.requires_grad:
            edge_vec = edge_vec.detach().requires_grad_(True)
        vertices = edge_vec[slots]  # [m, 12, 3]
        energy, _ = self.element_outputs(vertices, spec[centres])  # [m]
        atom_energy = torch.zeros(spec.shape, dtype=edge_vec.dtype, device=edge_vec.device)
        atom_energy = atom_energy.index_copy(0, centres, energy)  # [n]
        grads = torch.autograd.grad([energy.sum()], [edge_vec], allow_unused=True)
        dE_dedge = grads[0]
        if dE_dedge is None:
            dE_dedge = torch.zeros_like(edge_vec)
        return atom_energy.detach(), dE_dedge  # [n], [E, 3]
