"""ASE calculator: a thin host over the TorchScript contract (DESIGN §5)."""
from __future__ import annotations

import os

import numpy as np
import torch
from ase.calculators.calculator import Calculator, all_changes

from .export import MODEL_ERRORS, load_model, model_error_message
from .neighbors import build_edges, edge_forces, edge_virial
from .sheet_coulomb import structure_coulomb


class AreaNetCalculator(Calculator):
    """Energy, per-atom energies, forces and stress from an exported areanet model.

    ``model`` is the path of a file written by ``areanet export`` (or an already loaded
    module obeying the contract). Stress is ∂E/∂ε / V, in eV/Å³ like every ASE calculator;
    for a monolayer V includes the vacuum.
    """

    implemented_properties = ["energy", "free_energy", "energies", "forces", "stress"]

    def __init__(self, model: str | os.PathLike | torch.nn.Module, **kwargs):
        super().__init__(**kwargs)
        self.model = load_model(model) if isinstance(model, (str, os.PathLike)) else model
        self.cutoff = float(self.model.cutoff)
        self.species = list(self.model.species)

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        edges = build_edges(self.atoms, self.cutoff, self.species)
        n = len(self.atoms)
        try:
            atom_energy, dE_dedge = self.model(edges.vec, edges.src, edges.edge_spec, edges.spec)
        except MODEL_ERRORS as err:  # the model names the atom; keep its one-line reason
            raise RuntimeError(model_error_message(err)) from None
        forces = edge_forces(edges, dE_dedge, n).numpy().copy()
        energies = atom_energy.detach().numpy().copy()
        try:
            coulomb = structure_coulomb(self.model, self.atoms)  # None for an uncharged model
        except ValueError as err:
            raise RuntimeError(f"charged model: {err}") from None
        if coulomb is not None:
            energies += coulomb[1]
            forces += coulomb[2]
        energy = float(energies.sum())
        self.results["energy"] = energy
        self.results["free_energy"] = energy
        self.results["energies"] = energies
        self.results["forces"] = forces
        if self.atoms.cell.rank == 3:
            virial = edge_virial(edges, dE_dedge).numpy()  # ∂E/∂ε (ASE's sign)
            if coulomb is not None:
                virial = virial - coulomb[3]  # sheet_coulomb's W = −∂E/∂ε
            self.results["stress"] = (virial / self.atoms.get_volume()).flat[[0, 4, 8, 5, 2, 1]].copy()
        else:
            self.results["stress"] = np.zeros(6)
