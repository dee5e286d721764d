"""Predictions of a checkpoint or an exported model for a list of structures."""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import torch

from areanet.potential.export import load_model, model_error_message, MODEL_ERRORS, ModelFileError
from areanet.potential.model import AreaNet
from areanet.potential.neighbors import build_edges, edge_forces
from areanet.potential.sheet_coulomb import structure_coulomb

from ..errors import UserError
from .checkpoint import load_checkpoint, model_from_checkpoint
from .dataset import collate, predict_batch, prepare


def load_any(model) -> torch.nn.Module:
    """An AreaNet from a checkpoint, a scripted module from a model file, or the module given."""
    if isinstance(model, torch.nn.Module):
        return model
    path = Path(model)
    if path.is_dir():
        raise UserError(f"{path} is a directory, not a model: pass an exported model file or a "
                        f"checkpoint of a training run (e.g. {path / 'best.pt'})")
    if not path.is_file():
        raise UserError(f"{path}: no such model or checkpoint")

    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            scripted = any(n.endswith("/code/__torch__.py") or "/code/" in n for n in z.namelist())
        if scripted:
            try:
                return load_model(path)
            except ModelFileError as err:
                raise UserError(str(err)) from None
    return model_from_checkpoint(load_checkpoint(path))


def predict(model, structures, chunk: int = 64) -> list[tuple[float, np.ndarray, np.ndarray | None]]:
    """(energy, forces [n, 3], force_mask [n] or None) per structure.

    Conservative models go through the TorchScript contract (forces on every atom); a
    direct-force checkpoint predicts forces on its centre atoms only (the mask).
    """
    net = load_any(model)
    if isinstance(net, AreaNet):
        net.eval()
    if isinstance(net, AreaNet) and not net.conservative:
        return _predict_direct(net, structures, chunk)
    out = []
    for k, atoms in enumerate(structures):
        edges = build_edges(atoms, float(net.cutoff), list(net.species))
        try:
            atom_energy, g = net(edges.vec, edges.src, edges.edge_spec, edges.spec)
        except MODEL_ERRORS as err:
            raise UserError(f"structure {k}: {model_error_message(err)}") from None
        energy, forces = float(atom_energy.sum()), edge_forces(edges, g, len(atoms)).detach().numpy()
        energy, forces = _with_coulomb(net, atoms, k, energy, forces)
        out.append((energy, forces, None))
    return out


def _with_coulomb(net, atoms, k: int, energy: float, forces: np.ndarray) -> tuple[float, np.ndarray]:
    """Add a charged model's long-range sheet Coulomb (its training labels had it taken off)."""
    try:
        coulomb = structure_coulomb(net, atoms)
    except ValueError as err:
        raise UserError(f"structure {k}: charged model: {err}") from None
    if coulomb is None:
        return energy, forces
    return energy + coulomb[0], forces + coulomb[2]


def _predict_direct(net: AreaNet, structures, chunk: int):
    out = []
    for start in range(0, len(structures), chunk):
        part = structures[start : start + chunk]
        items = prepare(net, part, [f"structure {start + k}" for k in range(len(part))])
        batch = collate(items)
        with torch.no_grad():
            energy, forces, mask = predict_batch(net, batch)
        offsets = np.cumsum([0] + [len(a) for a in part])
        for k in range(len(part)):
            sl = slice(offsets[k], offsets[k + 1])
            e, f = _with_coulomb(net, part[k], start + k, float(energy[k]), forces[sl].numpy().copy())
            out.append((e, f, mask[sl].numpy().copy()))
    return out
