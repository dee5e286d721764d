"""Structures → tensors for training: each element's 12 vertex vectors, computed once.

The shell finder's labelling is piecewise constant in the positions, so for fixed training
structures it is found once; training differentiates only through the vertex vectors
(r_vertex − r_centre), exactly as the exported contract does through its edge vectors.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from areanet.potential.element import frame_axes
from areanet.potential.export import model_error_message, MODEL_ERRORS
from areanet.potential.model import AreaNet
from areanet.potential.neighbors import build_edges
from areanet.potential.sheet_coulomb import structure_coulomb

from ..errors import UserError
from ..progress import progress


@dataclass
class Batch:
    vertices: torch.Tensor  # [m, 12, 3] vertex vectors relative to the centre, Å
    centre_spec: torch.Tensor  # [m] species index of each centre
    centre_atom: torch.Tensor  # [m] atom index (in the batch) of each centre
    vertex_atom: torch.Tensor  # [m, 12] atom index (in the batch) of each vertex
    centre_structure: torch.Tensor  # [m] structure index (in the batch) of each centre
    n_atoms: torch.Tensor  # [B] atoms per structure
    energy: torch.Tensor  # [B] reference energy, eV
    forces: torch.Tensor  # [N, 3] reference forces, eV/Å
    geometry: "Geometry | None" = None  # precomputed (attach_geometry), else computed per step

    def to(self, device: torch.device) -> "Batch":
        return Batch(**{k: (v.to(device) if v is not None else None) for k, v in self.__dict__.items()})


@dataclass
class Geometry:
    """What the frames give each element, fixed for fixed structures (see attach_geometry)."""

    features: torch.Tensor  # [m, F, n_features] network inputs
    axes: torch.Tensor  # [m, 7, 3] x̂_0..2, ŷ_0..2, n (element.base_coordinates)
    axes_jacobian: torch.Tensor  # [m, 21, 9] d axes / d first-shell vertices

    def to(self, device: torch.device) -> "Geometry":
        return Geometry(self.features.to(device), self.axes.to(device), self.axes_jacobian.to(device))

    def index(self, order: torch.Tensor) -> "Geometry":
        return Geometry(self.features[order], self.axes[order], self.axes_jacobian[order])

    @staticmethod
    def cat(parts: list["Geometry"]) -> "Geometry":
        return Geometry(*(torch.cat([getattr(g, k) for g in parts]) for k in ("features", "axes", "axes_jacobian")))


@dataclass
class Elements:
    """One structure's elements and labels."""

    vertices: torch.Tensor  # [m, 12, 3]
    centre_spec: torch.Tensor  # [m]
    centre_atom: torch.Tensor  # [m]
    vertex_atom: torch.Tensor  # [m, 12]
    energy: float
    forces: torch.Tensor  # [n, 3]
    geometry: Geometry | None = None


def structure_elements(model: AreaNet, atoms, label: str) -> Elements:
    """The structure's area elements and labels; a charged model learns what its long-range
    sheet Coulomb leaves (labels minus that term, which every prediction adds back)."""
    edges = build_edges(atoms, model.cutoff, model.species)
    try:
        centres, slots = model.element_slots(edges.vec, edges.src, edges.edge_spec, edges.spec)
    except MODEL_ERRORS as err:
        raise UserError(f"{label}: {model_error_message(err)}") from None
    energy = float(atoms.get_potential_energy())
    forces = np.asarray(atoms.get_forces(), dtype=np.float64)
    try:
        coulomb = structure_coulomb(model, atoms)
    except ValueError as err:
        raise UserError(f"{label}: charged model: {err}") from None
    if coulomb is not None:
        energy, forces = energy - coulomb[0], forces - coulomb[2]
    return Elements(
        vertices=edges.vec[slots],
        centre_spec=edges.spec[centres],
        centre_atom=centres,
        vertex_atom=edges.dst[slots],
        energy=energy,
        forces=torch.from_numpy(forces),
    )


def prepare(model: AreaNet, structures, labels: list[str] | None = None, progress_desc: str = "") -> list[Elements]:

    labels = labels or [f"structure {k}" for k in range(len(structures))]
    items = zip(structures, labels)
    if progress_desc:
        items = progress(items, total=len(structures), desc=progress_desc)
    return [structure_elements(model, atoms, label) for atoms, label in items]


def collate(items: list[Elements]) -> Batch:
    """One batch of structures; its centres are sorted by species (the model then runs each
    species' MLP on a contiguous slice)."""
    offsets = np.cumsum([0] + [len(e.forces) for e in items[:-1]])
    batch = Batch(
        vertices=torch.cat([e.vertices for e in items]),
        centre_spec=torch.cat([e.centre_spec for e in items]),
        centre_atom=torch.cat([e.centre_atom + int(o) for e, o in zip(items, offsets)]),
        vertex_atom=torch.cat([e.vertex_atom + int(o) for e, o in zip(items, offsets)]),
        centre_structure=torch.cat(
            [torch.full((len(e.centre_atom),), k, dtype=torch.long) for k, e in enumerate(items)]
        ),
        n_atoms=torch.tensor([len(e.forces) for e in items], dtype=torch.long),
        energy=torch.tensor([e.energy for e in items], dtype=torch.float64),
        forces=torch.cat([e.forces for e in items]),
        geometry=Geometry.cat([e.geometry for e in items]) if all(e.geometry is not None for e in items) else None,
    )
    order = torch.argsort(batch.centre_spec, stable=True)  # [m]
    for name in ("vertices", "centre_spec", "centre_atom", "vertex_atom", "centre_structure"):
        setattr(batch, name, getattr(batch, name)[order])
    if batch.geometry is not None:
        batch.geometry = batch.geometry.index(order)
    return batch


# --- precomputed geometry (training) ----------------------------------------------------------
#
# The features are fixed functions of fixed training structures, and so is their Jacobian.
# Computing both once turns each training step's geometry (and autograd's double backward
# through it) into four small linear maps: g = dE/d(features) -> dE/d(base coordinates)
# (a constant matrix, frames_from_base being linear) -> dE/d(vertices) directly and through
# the 7 axes, which depend on the 3 first-shell vertices only.


def has_frame_features(model: AreaNet) -> bool:
    """Features made by the frames of element.py (not, e.g., symmetry functions)?"""
    return type(model).features is AreaNet.features


def attach_geometry(model: AreaNet, items: list[Elements], chunk: int = 20000) -> None:
    """Precompute each structure's Geometry (about 5 KB per element in 3D)."""
    if not has_frame_features(model):
        raise ValueError(f"{type(model).__name__} has its own features: no frame geometry to precompute")
    from torch.func import jacrev, vmap

    def axes_of(first: torch.Tensor) -> torch.Tensor:  # [3, 3] -> [21]
        x_axis, y_axis, normal = frame_axes(first[None])
        return torch.cat([x_axis.reshape(-1), y_axis.reshape(-1), normal.reshape(-1)])

    vertices = torch.cat([e.vertices for e in items])  # [M, 12, 3]
    parts = []
    with torch.no_grad():
        for v in vertices.split(chunk):
            x_axis, y_axis, normal = frame_axes(v)
            axes = torch.cat([x_axis, y_axis, normal[:, None, :]], dim=1)  # [b, 7, 3]
            jacobian = vmap(jacrev(axes_of))(v[:, 0:3]).reshape(-1, 21, 9)  # [b, 21, 9]
            parts.append(Geometry(model.features(v), axes, jacobian))
    geometry = Geometry.cat(parts)
    start = 0
    for e in items:
        n = len(e.vertices)
        e.geometry = Geometry(*(t[start : start + n] for t in (geometry.features, geometry.axes, geometry.axes_jacobian)))
        start += n


def base_from_features_matrix(model: AreaNet) -> torch.Tensor:
    """P [F·n_features, 84] with features_flat = base_flat @ Pᵀ (the map is linear: its
    columns are the features of the 84 unit base-coordinate vectors)."""
    unit = torch.eye(84, dtype=model.feature_mean.dtype, device=model.feature_mean.device).reshape(84, 7, 12)
    return model.features_from_base(unit).reshape(84, -1).t()


def vertex_grad_from_geometry(
    model: AreaNet, vertices: torch.Tensor, geometry: Geometry, grad_features: torch.Tensor
) -> torch.Tensor:
    """dE/d(vertices) [m, 12, 3] from dE/d(features) [m, F, n_features], exactly what
    autograd through model.features gives, as linear maps (differentiable in grad_features)."""
    m = vertices.shape[0]
    grad_base = (grad_features.reshape(m, -1) @ base_from_features_matrix(model)).reshape(m, 7, 12)
    direct = torch.bmm(grad_base.transpose(1, 2), geometry.axes)  # [m, 12, 3]
    grad_axes = torch.bmm(grad_base, vertices).reshape(m, 1, 21)  # dE/d(axes)
    through_axes = torch.bmm(grad_axes, geometry.axes_jacobian).reshape(m, 3, 3)  # [m, 3, 3]
    return torch.cat([direct[:, 0:3] + through_axes, direct[:, 3:]], dim=1)


def predict_batch(model: AreaNet, batch: Batch, create_graph: bool = False) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(energies [B], forces [N, 3], force_mask [N]) for a batch.

    Conservative models: F = −∂E/∂R on every atom (the graph kept when training). Direct
    models: the force head's output on the centre atoms; other atoms are masked out.
    """
    n_structures = batch.n_atoms.shape[0]
    n_atoms = batch.forces.shape[0]
    if model.conservative and batch.geometry is not None:
        with torch.set_grad_enabled(create_graph):
            energy_c, grad_features = model.energy_and_feature_grad(
                batch.geometry.features, batch.centre_spec, create_graph)
            grad = vertex_grad_from_geometry(model, batch.vertices, batch.geometry, grad_features)
    elif model.conservative:  # the MLP's input gradient by hand: autograd only through the geometry
        energy_c, grad = model.energy_and_vertex_grad(batch.vertices, batch.centre_spec, create_graph)
    else:
        energy_c, force_c = model.element_outputs(batch.vertices, batch.centre_spec)  # [m], [m, 3]
    energy = torch.zeros(n_structures, dtype=energy_c.dtype, device=energy_c.device)
    energy = energy.index_add(0, batch.centre_structure, energy_c)  # [B]
    forces = torch.zeros((n_atoms, 3), dtype=energy_c.dtype, device=energy_c.device)
    mask = torch.zeros(n_atoms, dtype=torch.bool, device=energy_c.device)
    if model.conservative:  # grad = dE/d(vertex − centre) [m, 12, 3]
        forces = forces.index_add(0, batch.centre_atom, grad.sum(1))
        forces = forces.index_add(0, batch.vertex_atom.reshape(-1), -grad.reshape(-1, 3))
        mask[:] = True
    else:
        forces = forces.index_add(0, batch.centre_atom, force_c)
        mask[batch.centre_atom] = True
    return energy, forces, mask


def fit_statistics(model: AreaNet, items: list[Elements]) -> dict[str, float]:
    """Input standardisation, per-species reference energies and output scales from data."""
    n_species = len(model.species)
    counts = np.zeros((len(items), n_species))
    for k, e in enumerate(items):
        counts[k] = np.bincount(e.centre_spec.numpy(), minlength=n_species)
    energies = np.array([e.energy for e in items])
    ref, *_ = np.linalg.lstsq(counts, energies, rcond=None)  # minimum norm when B and N always pair
    all_forces = torch.cat([e.forces for e in items])
    force_rms = float(all_forces.pow(2).mean().sqrt())
    thin = []
    with torch.no_grad():
        vertices = torch.cat([e.vertices for e in items])
        spec = torch.cat([e.centre_spec for e in items])
        for s in range(n_species):
            sel = spec == s
            if not bool(sel.any()):
                continue
            feats = torch.cat([model.features(v) for v in vertices[sel].split(20000)])  # [m_s, F, f]
            flat = feats.reshape(-1, feats.shape[-1])
            std = flat.std(0)
            thin += [int(i) for i in torch.nonzero(std < 1e-3).flatten()]
            model.feature_mean[s] = flat.mean(0)
            model.feature_std[s] = std.clamp(min=1e-2)
        model.ref_energy[:] = torch.from_numpy(ref)
        typical_std = float(model.feature_std.median())
        model.energy_scale.fill_(max(force_rms * typical_std, 1e-3))
        model.force_scale.fill_(max(force_rms, 1e-3))
    return {"force_rms": force_rms, "constant_features": len(set(thin)), "ref_energy": ref.tolist()}
