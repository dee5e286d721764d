"""ASE calculator: a thin host over the model's TorchScript contract (potential/model.py)."""
from __future__ import annotations

import os
import warnings

import numpy as np
import torch
from ase.calculators.calculator import Calculator, PropertyNotImplementedError, all_changes

from .export import MODEL_ERRORS, load_model, model_error_message
from .layers import atom_layers, check_sheets, layered_coulomb, same_layer_edges
from .neighbors import (build_edges, check_structure, edge_centroid_virials, edge_forces, edge_virial,
                        refuse_overlaps)
from .sheet_coulomb import model_charges

CHARGED_CENTROID_REASON = (
    "its long-range sheet Coulomb term is a reciprocal-space lattice sum, not a sum of per-centre "
    "edge terms, and no per-atom split of it gives a correct heat current (lammps_plugin/"
    "areanet_centroid.h); use a local model (models/hbn-pbe-local.pt) for thermal transport")
CHARGE_TOLERANCE = 1e-6  # e: a per-atom charge this close to the model's is the model's


class AreaNetCalculator(Calculator):
    """Energy, per-atom energies, forces and stress from an exported areanet model.

    ``model`` is the path of a file written by ``areanet export`` (or an already loaded
    module obeying the contract: ``forward(edge_vec [E,3], edge_src [E], edge_spec [E],
    spec [n]) -> (atom_energy [n], dE_dedge [E,3])``, with attributes ``format_version``,
    ``cutoff``, ``species``, ``units``; README, "The model file"). A model file is checked
    whole before use (every zip entry's CRC-32): a damaged copy, a training checkpoint or a
    directory is refused with what to do.

    Multilayers (``potential/layers.py``): the layers are ``atoms.arrays['mol-id']`` (what
    ASE's ``lammps-data`` reader writes) or the tags; an element takes atoms of its own layer
    only and a charged model's sheet Coulomb is summed per layer, as in LAMMPS with molecule
    IDs. An atom of another sheet near a centre (off its local plane, inside the cutoff) in
    the same layer, or without layers, raises an error naming both atoms.

    Stress is ∂E/∂ε / V in eV/Å³, like every ASE calculator; for a monolayer V includes the
    vacuum, so the sheet's 2D stress (eV/Å²) is the stress times the cell height. A cell
    without a third vector (``pbc=[True, True, False]`` and ``cell[2] = 0``) has no volume:
    its stress is refused with that reason (give the cell a height; the energy and forces
    do not depend on it).

    Nothing comes back that the model cannot stand behind: a structure with a non-finite
    position or cell vector, a zero cell vector along a periodic direction, two atoms
    closer than 0.8 Å, or an atom without a complete area element (vacancy, edge, isolated
    atom) raises an error naming the atom (or cell vector) and what is wrong. Per-atom
    charges (``atoms.set_initial_charges``) are not an input of the model: a charged model
    uses its own per-species charges and refuses non-zero charges that differ from them;
    a local model warns once that they are ignored.

    Where an MD run stopped: every error message ends with the calculation count of this
    calculator (how many calculations succeeded before); with ``dynamics=dyn`` (an ASE
    MolecularDynamics or Optimizer, also settable later as ``calc.dynamics``) it names
    the step of ``dyn`` that failed and the last step its ``MDLogger`` wrote.

    Per-atom stresses (``atoms.get_stresses()``, a local model only) are the centroid
    virials of ``compute centroid/stress/atom`` with ``pair_style areanet``, −W_k / V in
    Voigt order (they sum to the stress); ``calc.get_centroid_virials(atoms)`` gives the
    full, non-symmetric W_k (n × 3 × 3, eV, LAMMPS' sign), from which the heat current
    is J = Σ_k e_k v_k + Σ_k W_k·v_k (lammps_plugin/areanet_centroid.h).
    """

    implemented_properties = ["energy", "free_energy", "energies", "forces", "stress", "stresses",
                              "centroid_virials"]

    def __init__(self, model: str | os.PathLike | torch.nn.Module, dynamics=None, **kwargs):
        super().__init__(**kwargs)
        self.model = load_model(model) if isinstance(model, (str, os.PathLike)) else model
        self.cutoff = float(self.model.cutoff)
        self.species = list(self.model.species)
        self.dynamics = dynamics
        self.calculations = 0  # successful ones
        self._good_step = None  # dynamics.nsteps at the last successful calculation
        self._warned_charges = False

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        atoms = self.atoms
        step = self._dynamics_step()
        try:
            if "stress" in properties and atoms.cell.rank < 3:
                raise PropertyNotImplementedError(
                    f"areanet: no stress for a cell with {atoms.cell.rank} cell vectors: ASE's stress "
                    "is per volume (eV/Å³) and this cell has none; give it a third vector (e.g. "
                    "atoms.cell[2] = [0, 0, 20]: the energy and forces do not change) and multiply "
                    "the stress by that height for the sheet's 2D stress in eV/Å²")
            per_atom = "stresses" in properties or "centroid_virials" in properties
            if per_atom and (atoms.cell.rank < 3 or model_charges(self.model)[0].any()):
                raise PropertyNotImplementedError(
                    "areanet: no per-atom stresses (centroid virials) for " +
                    ("a cell without a volume (give it a third vector)" if atoms.cell.rank < 3 else
                     "a charged model: " + CHARGED_CENTROID_REASON))
            check_structure(atoms)
            self._check_charges(atoms)
            edges = build_edges(atoms, self.cutoff, self.species)
            refuse_overlaps(atoms, edges)
            layers, source = atom_layers(atoms)  # potential/layers.py: an element is one sheet's
            edges = same_layer_edges(edges, layers)
            check_sheets(atoms, edges, layers, source, self.cutoff)
            try:
                atom_energy, dE_dedge = self.model(edges.vec, edges.src, edges.edge_spec, edges.spec)
            except MODEL_ERRORS as err:  # the model names the atom; keep its one-line reason
                raise RuntimeError(model_error_message(err, atoms)) from None
            try:
                coulomb = layered_coulomb(self.model, atoms, layers)  # None for an uncharged model
            except ValueError as err:
                raise RuntimeError(f"areanet: charged model: {err}") from None
        except (ValueError, RuntimeError, PropertyNotImplementedError) as err:
            raise type(err)(f"{err} [{self._where(step)}]") from None
        forces = edge_forces(edges, dE_dedge, len(atoms)).numpy().copy()
        energies = atom_energy.detach().numpy().copy()
        if coulomb is not None:
            energies += coulomb[1]
            forces += coulomb[2]
        energy = float(energies.sum())
        self.results["energy"] = energy
        self.results["free_energy"] = energy
        self.results["energies"] = energies
        self.results["forces"] = forces
        if atoms.cell.rank == 3:
            virial = edge_virial(edges, dE_dedge).numpy()  # ∂E/∂ε (ASE's sign)
            if coulomb is not None:
                virial = virial - coulomb[3]  # sheet_coulomb's W = −∂E/∂ε
            self.results["stress"] = (virial / atoms.get_volume()).flat[[0, 4, 8, 5, 2, 1]].copy()
            if per_atom:
                virials = edge_centroid_virials(edges, dE_dedge, len(atoms)).numpy().copy()
                self.results["centroid_virials"] = virials
                sym = 0.5 * (virials + virials.transpose(0, 2, 1))
                self.results["stresses"] = -sym.reshape(-1, 9)[:, [0, 4, 8, 5, 2, 1]] / atoms.get_volume()
        self.calculations += 1
        self._good_step = step

    def get_centroid_virials(self, atoms=None) -> np.ndarray:
        """Per-atom centroid virials W_k (n × 3 × 3, eV; W_ab = −r_a g_b, LAMMPS' cvatom)."""
        return self.get_property("centroid_virials", atoms)

    def _check_charges(self, atoms) -> None:
        """Per-atom charges are not a model input: refuse those a charged model would ignore."""
        if not atoms.has("initial_charges"):
            return
        given = atoms.get_initial_charges()
        if not np.any(given != 0.0):
            return
        charges, _ = model_charges(self.model)
        if not np.any(charges != 0.0):
            if not self._warned_charges:
                warnings.warn("AreaNetCalculator: the structure's initial charges are ignored: the model "
                              "is a local one, without charges", stacklevel=4)
                self._warned_charges = True
            return
        lookup = {s: charges[k] for k, s in enumerate(self.species)}
        model_q = np.array([lookup.get(s, 0.0) for s in atoms.get_chemical_symbols()])
        bad = np.nonzero((given != 0.0) & (np.abs(given - model_q) > CHARGE_TOLERANCE))[0]
        if len(bad):
            i = int(bad[0])
            own = ", ".join(f"{s} {q:+g}" for s, q in zip(self.species, charges))
            raise ValueError(
                f"areanet: atom {i} ({atoms[i].symbol}) has initial charge {given[i]:+g} e, but the charged "
                f"model uses its own charges ({own} e) and ignores per-atom ones; set the initial "
                "charges to 0 (or to the model's)")

    def _dynamics_step(self) -> int | None:
        """The step of the attached dynamics whose structure is being computed: an ASE MD
        computes step n + 1 while its ``nsteps`` is n (step 0 first), an optimizer step n."""
        dyn = self.dynamics
        if dyn is None or not hasattr(dyn, "nsteps"):
            return None
        from ase.md.md import MolecularDynamics

        if isinstance(dyn, MolecularDynamics) and not (dyn.nsteps == 0 and self._good_step is None):
            return dyn.nsteps + 1
        return dyn.nsteps

    def _where(self, step: int | None) -> str:
        """How far the calculations got: the count, and the step of an attached dynamics."""
        done = f"calculation {self.calculations + 1} of this calculator, {self.calculations} succeeded before"
        dyn = self.dynamics
        if step is None:
            return done + "; pass dynamics=dyn to AreaNetCalculator to have the MD step named"
        text = f"step {step} of {type(dyn).__name__}"
        if self._good_step is not None:
            text += f" (step {self._good_step} was the last computed)"
        for observer in getattr(dyn, "observers", []):
            function, interval = observer[0], observer[1]
            if type(function).__name__ == "MDLogger" and isinstance(interval, int) and interval > 0:
                logged = self._good_step is not None  # the logger runs after a computed step
                text += (f"; the last MDLogger line is of step {dyn.nsteps - dyn.nsteps % interval}" if logged
                         else "; no MDLogger line yet")
                break
        return f"{text}; {done}"
