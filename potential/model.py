"""AreaNet: one small MLP per centre species over frame-averaged area elements.

Energy of a structure = Σ over element centres of a sub-energy
    e_i = e0[s_i] + energy_scale · mean_f MLP_{s_i}((features_f(i) − mean[s_i]) / std[s_i])
where f runs over the local frames of `element.py`. Forces are −∂E/∂R by autograd through
the frames (conservative, default); the paper's direct force head is available for the
comparison study only and cannot drive MD.

`forward` is the one TorchScript contract every host uses (README, "The model file"):
    forward(edge_vec [E,3], edge_src [E], edge_spec [E], spec [n]) -> (atom_energy [n], dE_dedge [E,3])
"""

from typing import List, Optional, Tuple

import torch
from torch import nn

from .config import ModelConfig
from .element import (base_coordinates, find_element_slots, frame_axes, frame_tables, frames_from_base,
                      low_order_matrix)


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
    activation: str
    chunk_rows: int
    species_charges: List[float]  # e per species: the hosts add sheet_coulomb.py when non-zero
    charge_width: float  # Å

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.format_version = config.format_version()
        self.cutoff = float(config.cutoff)
        self.species = list(config.species)
        self.units = "metal"
        self.dims = config.dims
        self.low_order = config.order == "low"
        self.conservative = config.forces == "conservative"
        self.activation = config.activation
        self.species_charges = config.species_charges()
        self.charge_width = float(config.charge_width)
        self.chunk_rows = 512  # MLP rows (element × frame) per block of the inference pass (cache)
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
        return self.features_from_base(base_coordinates(vertices))

    def features_from_base(self, base: torch.Tensor) -> torch.Tensor:
        """Network inputs [m, F, n_features] from base coordinates [m, 7, 12] (a linear map)."""
        coords = frames_from_base(
            base, self.frame_ref, self.frame_sy, self.frame_sz, self.frame_order, self.dims
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

    # --- the MLP with its input gradient, by hand ---------------------------------------------

    def layer_parameters(self) -> List[Tuple[List[torch.Tensor], List[torch.Tensor]]]:
        """(weights, biases) of the Linear layers of each species' MLP, in order."""
        out: List[Tuple[List[torch.Tensor], List[torch.Tensor]]] = []
        for mlp in self.mlps:
            weights: List[torch.Tensor] = []
            biases: List[torch.Tensor] = []
            for layer in mlp:
                if hasattr(layer, "weight"):
                    weights.append(layer.weight)
                    biases.append(layer.bias)
            out.append((weights, biases))
        return out

    def energy_and_feature_grad(
        self, features: torch.Tensor, centre_spec: torch.Tensor, differentiable: bool
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Sub-energies [m] and their gradient with respect to the features [m, F, n_features].

        The MLP's input gradient is written out (mlp_value_and_input_grad) instead of taken by
        autograd: one pass forward, one backward, no graph. ``differentiable`` keeps every
        operation out of place so that autograd can differentiate the result again (training:
        the loss on forces needs the parameter gradient of this input gradient).
        """
        if differentiable:  # out of place, on rows sorted by species (training batches are)
            if bool((centre_spec[1:] >= centre_spec[:-1]).all()):
                return self.sorted_energy_and_feature_grad(features, centre_spec)
            order = torch.argsort(centre_spec, stable=True)  # [m]
            energy, grad = self.sorted_energy_and_feature_grad(features[order], centre_spec[order])
            inverse = torch.argsort(order)  # [m]
            return energy[inverse], grad[inverse]
        m, n_frames, n_features = features.shape[0], features.shape[1], features.shape[2]
        energy = torch.zeros([m], dtype=features.dtype, device=features.device)  # [m]
        grad = torch.zeros_like(features)  # [m, F, n_features]
        for s, (weights, biases) in enumerate(self.layer_parameters()):
            sel = torch.nonzero(centre_spec == s).flatten()  # [m_s]
            if sel.numel() == 0:
                continue
            # blocks of elements whose rows stay in cache, results written in place
            coef = (self.energy_scale / n_frames) / self.feature_std[s]  # [n_features]
            for idx in sel.split(max(self.chunk_rows // n_frames, 1)):
                x = (features[idx] - self.feature_mean[s]) / self.feature_std[s]  # [b, F, n_features]
                x = x.reshape(-1, n_features).to(weights[0].dtype)
                out, g = mlp_value_and_input_grad(x, weights, biases, self.activation, False)
                out, g = out.to(features.dtype), g.to(features.dtype)
                energy.index_copy_(0, idx, self.ref_energy[s] + self.energy_scale * out.reshape(-1, n_frames).mean(1))
                grad.index_copy_(0, idx, g.reshape(-1, n_frames, n_features).mul_(coef))
        return energy, grad

    def sorted_energy_and_feature_grad(
        self, features: torch.Tensor, centre_spec: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """energy_and_feature_grad (differentiable) for centres sorted by species (training
        batches are, see dataset.collate): contiguous slices and one concatenation, no gathers
        or scatters of every species' rows."""
        n_frames, n_features = features.shape[1], features.shape[2]
        counts = torch.bincount(centre_spec, minlength=len(self.species))  # [S]
        energies: List[torch.Tensor] = []
        grads: List[torch.Tensor] = []
        start = 0
        for s, (weights, biases) in enumerate(self.layer_parameters()):
            n_s = int(counts[s].item())
            if n_s == 0:
                continue
            x = (features.narrow(0, start, n_s) - self.feature_mean[s]) / self.feature_std[s]  # [m_s, F, f]
            x = x.reshape(-1, n_features).to(weights[0].dtype)
            out, g = mlp_value_and_input_grad(x, weights, biases, self.activation, True)
            out, g = out.to(features.dtype), g.to(features.dtype)
            energies.append(self.ref_energy[s] + self.energy_scale * out.reshape(-1, n_frames).mean(1))
            grads.append(g.reshape(-1, n_frames, n_features) * ((self.energy_scale / n_frames) / self.feature_std[s]))
            start += n_s
        return torch.cat(energies), torch.cat(grads)  # [m], [m, F, n_features]

    # --- the contract -----------------------------------------------------------------------

    def forward(
        self, edge_vec: torch.Tensor, edge_src: torch.Tensor, edge_spec: torch.Tensor, spec: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        if not self.conservative:
            raise RuntimeError("areanet: a direct-force model has no conservative forces; it cannot drive MD")
        centres, slots = self.element_slots(edge_vec, edge_src, edge_spec, spec)
        vertices = edge_vec.detach()[slots]  # [m, 12, 3]
        energy, grad_vertices = self.energy_and_vertex_grad(vertices, spec[centres], False)
        atom_energy = torch.zeros(spec.shape, dtype=edge_vec.dtype, device=edge_vec.device)
        atom_energy = atom_energy.index_copy(0, centres, energy.detach())  # [n]
        dE_dedge = torch.zeros(edge_vec.shape, dtype=edge_vec.dtype, device=edge_vec.device)
        dE_dedge.index_put_([slots.reshape(-1)], grad_vertices.reshape(-1, 3), accumulate=True)
        return atom_energy, dE_dedge  # [n], [E, 3]

    def energy_and_vertex_grad(
        self, vertices: torch.Tensor, centre_spec: torch.Tensor, create_graph: bool
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Sub-energies [m] and dE/d(vertices) [m, 12, 3] of a conservative model.

        Autograd runs only through the frame geometry (vertices -> features); the MLP's own
        gradient is written out (energy_and_feature_grad). Inference (``create_graph`` False)
        builds no graph of the MLP at all; training (True) gets results that autograd can
        differentiate again with respect to the parameters, as the force loss needs.
        """
        if not vertices.requires_grad:
            vertices = vertices.detach().requires_grad_(True)
        features = self.features(vertices)  # [m, F, n_features]
        if create_graph:
            energy, grad_features = self.energy_and_feature_grad(features, centre_spec, True)
        else:
            with torch.no_grad():
                energy, grad_features = self.energy_and_feature_grad(features.detach(), centre_spec, False)
        grad_outputs: List[Optional[torch.Tensor]] = [grad_features]
        grads = torch.autograd.grad([features], [vertices], grad_outputs, create_graph=create_graph, allow_unused=True)
        grad_vertices = grads[0]
        if grad_vertices is None:
            grad_vertices = torch.zeros_like(vertices)
        return energy, grad_vertices  # [m], [m, 12, 3]


def mlp_value_and_input_grad(
    x: torch.Tensor, weights: List[torch.Tensor], biases: List[torch.Tensor], activation: str, differentiable: bool
) -> Tuple[torch.Tensor, torch.Tensor]:
    """First output of the MLP on rows x [r, f] and its gradient d out / d x [r, f].

    Hidden layers z = h·Wᵀ + b, h' = act(z); the backward pass reuses act'(z) saved on the way
    forward: SiLU' = s·(1 + z·(1 − s)) = s + h·(1 − s) with s = sigmoid(z), h = z·s.
    """
    n_hidden = len(weights) - 1
    h = x
    slopes: List[torch.Tensor] = []  # act'(z) of each hidden layer
    for k in range(n_hidden):
        z = torch.addmm(biases[k], h, weights[k].t())  # [r, w_k]
        if activation == "silu":
            s = torch.sigmoid(z)
            if differentiable:
                h = z * s
                slopes.append(torch.addcmul(s, h, 1.0 - s))
            else:
                h = torch.mul(z, s)
                d = torch.rsub(s, 1.0)
                slopes.append(d.mul_(h).add_(s))
        elif activation == "tanh":
            h = torch.tanh(z)
            slopes.append(1.0 - h * h)
        else:  # leaky_relu, nn.LeakyReLU's default slope
            positive = z > 0
            h = torch.where(positive, z, 0.01 * z)
            slopes.append(torch.where(positive, torch.ones_like(z), torch.full_like(z, 0.01)))
    out = torch.addmm(biases[n_hidden][0:1], h, weights[n_hidden][0:1].t())[:, 0]  # [r]
    g = slopes[n_hidden - 1] * weights[n_hidden][0:1]  # d out / d z of the last hidden layer
    for k in range(n_hidden - 1, 0, -1):
        g = torch.mm(g, weights[k])
        g = g * slopes[k - 1] if differentiable else g.mul_(slopes[k - 1])
    return out, torch.mm(g, weights[0])  # [r], [r, f]
