"""The sheet Coulomb on a 2D mesh (potential/sheet_mesh.py, lammps_plugin/areanet_mesh.cpp)
against the direct k-sum (potential/sheet_coulomb.py), in Python and in LAMMPS.

Stated tolerance (the `accuracy` of both hosts, LAMMPS' kspace_modify convention): the RMS
over atoms of |F_mesh − F_direct| ≤ accuracy × k_e (k_e = 14.4 eV/Å, two unit charges 1 Å
apart); the default 1e-7 is 1.4e-6 eV/Å. Energy and virial per atom: within accuracy × k_e
in eV. Checked on perturbed (orthogonal), strained (general in-plane cell), xy-tilted and
hexagonal (60°) sheets, for the default and for a coarse and a fine accuracy; the mesh's
forces are the exact gradient of its energy and its virial the exact strain derivative
(finite differences); LAMMPS chooses the same grid as Python and gives the same numbers;
2 MPI ranks equal 1; NVE with the shipped charged model drifts no more with the mesh.
"""
import re

import numpy as np
import pytest
import torch

from lammps_helpers import (
    MPIEXEC,
    LammpsSession,
    lammps_module,
    make_sheet,
    perturb,
    run_ranks,
    setup_commands,
    strain,
    triclinic_sheet,
)
from conftest import hbn_sheet

from areanet.potential import sheet_mesh
from areanet.potential.sheet_coulomb import COULOMB, sheet_coulomb, sheet_vectors

WIDTH = 2.0
CHARGE = 1.5


def charges_of(atoms, q=CHARGE):
    return np.where(np.array(atoms.get_chemical_symbols()) == "B", q, -q)


def python_structure(name):
    """Sheets with a general in-plane cell (ASE's frame; a need not lie along x)."""
    if name == "perturbed":
        return hbn_sheet(12, 7, perturb=0.1, z_perturb=0.05, seed=3)
    if name == "strained":  # ±1 % normal strain and shear: a rotated, oblique cell
        return hbn_sheet(9, 5, perturb=0.05, strain=[[0.01, 0.004, 0], [0.004, -0.008, 0], [0, 0, 0]], seed=4)
    if name == "tilted":  # a 10 % xy tilt of the rectangular cell
        return hbn_sheet(11, 6, perturb=0.05, strain=[[0.02, 0.1, 0], [0, 0, 0], [0, 0, 0]], seed=6)
    if name == "hexagonal":  # the primitive cell's 60° lattice
        return perturb(triclinic_sheet(8, 8), np.random.default_rng(5), inplane=0.1)
    raise KeyError(name)


PY_STRUCTURES = ["perturbed", "strained", "tilted", "hexagonal"]


def rms(a):
    return float(np.sqrt((np.asarray(a) ** 2).sum(-1).mean()))


def compare(atoms, accuracy, order=None):
    q = charges_of(atoms)
    direct = sheet_coulomb(atoms.positions, atoms.cell.array, q, WIDTH, method="direct")
    mesh = sheet_coulomb(atoms.positions, atoms.cell.array, q, WIDTH, method="mesh", accuracy=accuracy, order=order)
    return direct, mesh


# --- Python: the mesh against the direct sum ----------------------------------------------


@pytest.mark.parametrize("name", PY_STRUCTURES)
@pytest.mark.parametrize("accuracy", [1e-5, sheet_mesh.DEFAULT_ACCURACY, 1e-9])
def test_mesh_equals_direct_sum_within_accuracy(name, accuracy):
    atoms = python_structure(name)
    n = len(atoms)
    (e0, ea0, f0, w0), (e1, ea1, f1, w1) = compare(atoms, accuracy)
    bound = accuracy * COULOMB
    assert rms(f1 - f0) <= bound, f"RMS force error {rms(f1 - f0):.3e} eV/A > {bound:.3e}"
    assert abs(e1 - e0) / n <= bound
    assert np.abs(ea1 - ea0).max() <= bound
    assert np.abs(w1 - w0).max() / n <= bound
    assert np.all(f1[:, 2] == 0.0) and np.all(w1[2] == 0.0) and np.all(w1[:, 2] == 0.0)
    # the forces compared are real: the Coulomb forces of these sheets are far above the bound
    assert rms(f0) > 1e3 * bound


def test_error_falls_with_the_accuracy():
    atoms = python_structure("strained")
    errors = []
    for accuracy in (1e-4, 1e-6, 1e-8, 1e-10):
        (_, _, f0, _), (_, _, f1, _) = compare(atoms, accuracy)
        errors.append(rms(f1 - f0) / COULOMB)
    assert all(b < a for a, b in zip(errors, errors[1:])), errors
    assert errors[-1] < 1e-4 * errors[0], errors


@pytest.mark.parametrize("order", [4, 6, 9])
def test_every_order_meets_the_accuracy(order):
    atoms = python_structure("tilted")
    (_, _, f0, _), (_, _, f1, _) = compare(atoms, 1e-7, order=order)
    assert rms(f1 - f0) <= 1e-7 * COULOMB


def test_forces_are_the_gradient_of_the_mesh_energy():
    """Exact gradient (not an interpolated field): what makes NVE conserve the mesh energy."""
    atoms = python_structure("strained")
    q = charges_of(atoms)
    ab = sheet_vectors(atoms.cell.array)
    mesh = sheet_mesh.choose_mesh(ab, WIDTH, 1e-5, len(atoms), float(np.mean(q * q)))  # coarse: a large error
    _, _, forces, _ = sheet_mesh.mesh_coulomb(atoms.positions, ab, q, WIDTH, mesh)
    h = 1e-5
    for i, axis in [(0, 0), (7, 1), (100, 0), (151, 1)]:
        pos = atoms.positions.copy()
        pos[i, axis] += h
        plus = sheet_mesh.mesh_coulomb(pos, ab, q, WIDTH, mesh)[0]
        pos[i, axis] -= 2 * h
        minus = sheet_mesh.mesh_coulomb(pos, ab, q, WIDTH, mesh)[0]
        assert forces[i, axis] == pytest.approx(-(plus - minus) / (2 * h), rel=1e-6, abs=1e-8)


def test_virial_is_the_strain_derivative_of_the_mesh_energy():
    atoms = python_structure("tilted")
    q = charges_of(atoms)
    ab = sheet_vectors(atoms.cell.array)
    mesh = sheet_mesh.choose_mesh(ab, WIDTH, 1e-5, len(atoms), float(np.mean(q * q)))
    _, _, _, virial = sheet_mesh.mesh_coulomb(atoms.positions, ab, q, WIDTH, mesh)
    h = 1e-4
    for a, b in [(0, 0), (1, 1), (0, 1), (1, 0)]:
        values = []
        for sign in (1, -1):
            deform = np.eye(3)
            deform[a, b] += sign * h  # r_a += ε r_b (the same grid: fractional coordinates kept)
            values.append(sheet_mesh.mesh_coulomb(atoms.positions @ deform.T, (atoms.cell.array @ deform.T)[:2, :2],
                                                  q, WIDTH, mesh)[0])
        # W_ab = −∂E/∂ε_ab, symmetric in the plane
        assert virial[a, b] == pytest.approx(-(values[0] - values[1]) / (2 * h), rel=1e-6, abs=1e-6)


def test_auto_uses_the_mesh_for_large_sheets_only():
    small = hbn_sheet(5, 3, perturb=0.05)
    q = charges_of(small)
    assert sheet_coulomb(small.positions, small.cell.array, q, WIDTH)[0] == \
        sheet_coulomb(small.positions, small.cell.array, q, WIDTH, method="direct")[0]
    big = hbn_sheet(25, 20, perturb=0.05)  # 2000 atoms = MESH_ATOMS
    assert len(big) >= sheet_mesh.MESH_ATOMS
    q = charges_of(big)
    auto = sheet_coulomb(big.positions, big.cell.array, q, WIDTH)[0]
    assert auto == sheet_coulomb(big.positions, big.cell.array, q, WIDTH, method="mesh")[0]
    assert auto != sheet_coulomb(big.positions, big.cell.array, q, WIDTH, method="direct")[0]


def test_bad_mesh_settings_are_named():
    atoms = hbn_sheet(3, 2)
    q = charges_of(atoms)
    with pytest.raises(ValueError, match="method 'pppm' is not one of auto, direct, mesh"):
        sheet_coulomb(atoms.positions, atoms.cell.array, q, WIDTH, method="pppm")
    with pytest.raises(ValueError, match="mesh accuracy 2 must lie between 0 and 1"):
        sheet_coulomb(atoms.positions, atoms.cell.array, q, WIDTH, method="mesh", accuracy=2.0)
    with pytest.raises(ValueError, match="mesh order 3 must be 4 … 10"):
        sheet_coulomb(atoms.positions, atoms.cell.array, q, WIDTH, method="mesh", order=3)


# --- LAMMPS -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def charged_model(tmp_path_factory):
    from areanet.potential import AreaNet, ModelConfig, export_model

    torch.manual_seed(7)
    module = AreaNet(ModelConfig(charge=CHARGE, charge_width=WIDTH)).eval()
    path = tmp_path_factory.mktemp("mesh") / "charged.pt"
    export_model(module, path, {"note": "untrained charged AreaNet for the mesh tests"})
    return path


def lammps_structure(name):
    rng = np.random.default_rng(sum(map(ord, name)))
    if name == "perturbed":
        return perturb(make_sheet.hbn_sheet(10, 6), rng, inplane=0.1)
    if name == "sheared":  # ±1.5 % normal strain, 1 % shear: xy ≠ 0
        eps = np.array([[0.015, 0.01, 0.0], [0.0, -0.01, 0.0], [0.0, 0.0, 0.0]])
        return strain(perturb(make_sheet.hbn_sheet(10, 6), rng, inplane=0.1), eps)
    if name == "hexagonal":
        return perturb(triclinic_sheet(9, 9), rng, inplane=0.1)
    raise KeyError(name)


MESH_LOG = re.compile(r"areanet: sheet Coulomb on a mesh (\d+) x (\d+) \(spacing [\d.]+ x [\d.]+ A\), "
                      r"B-spline order (\d+), requested accuracy ([\deE.+-]+)")


def run_lammps(plugin, model, atoms, tmp_path, pair_style):
    data = tmp_path / "sheet.data"
    framed = make_sheet.write_lammps_data(data, atoms)
    screen = tmp_path / f"screen-{len(list(tmp_path.iterdir()))}.txt"
    lammps = lammps_module()
    with LammpsSession(plugin, ("-screen", str(screen))) as session:
        session.commands(setup_commands(data, model, pair_style=pair_style) + """
compute pea all pe/atom
compute pvir all pressure NULL virial
thermo_style custom step pe c_pvir[1]
run 0
""")
        lmp = session.lmp
        n = lmp.extract_global("nlocal")
        order = np.argsort(lmp.numpy.extract_atom("id")[:n])
        result = {
            "energy": lmp.get_thermo("pe"),
            "energies": lmp.numpy.extract_compute("pea", lammps.LMP_STYLE_ATOM, lammps.LMP_TYPE_VECTOR)[:n][order].copy(),
            "forces": lmp.numpy.extract_atom("f")[:n][order].copy(),
            "virial": lmp.numpy.extract_compute("pvir", lammps.LMP_STYLE_GLOBAL, lammps.LMP_TYPE_VECTOR).copy()
            * lmp.get_thermo("vol") / 1.6021765e6,  # bar Å³ → eV (LAMMPS' nktv2p, metal)
        }
    return framed, result, screen.read_text()


@pytest.mark.parametrize("name", ["perturbed", "sheared", "hexagonal"])
def test_lammps_mesh_equals_direct_and_python(plugin, charged_model, tmp_path, name):
    atoms = lammps_structure(name)
    framed, direct, _ = run_lammps(plugin, charged_model, atoms, tmp_path, "areanet coulomb direct")
    _, mesh, log = run_lammps(plugin, charged_model, atoms, tmp_path, "areanet coulomb mesh")
    match = MESH_LOG.search(log)
    assert match, log[-2000:]
    k1, k2, order = (int(v) for v in match.groups()[:3])
    assert float(match.group(4)) == sheet_mesh.DEFAULT_ACCURACY
    n = len(atoms)
    bound = sheet_mesh.DEFAULT_ACCURACY * COULOMB
    assert rms(mesh["forces"] - direct["forces"]) <= bound
    assert abs(mesh["energy"] - direct["energy"]) / n <= bound
    assert np.abs(mesh["energies"] - direct["energies"]).max() <= bound
    assert np.abs(mesh["virial"] - direct["virial"]).max() / n <= bound

    # the same grid as Python's choice, and the same numbers as Python's mesh on it
    q = charges_of(framed)
    ab = sheet_vectors(framed.cell.array)
    chosen = sheet_mesh.choose_mesh(ab, WIDTH, sheet_mesh.DEFAULT_ACCURACY, n, float(np.mean(q * q)))
    assert (chosen.k1, chosen.k2, chosen.order) == (k1, k2, order)
    q_direct = sheet_coulomb(framed.positions, framed.cell.array, q, WIDTH, method="direct")
    q_mesh = sheet_coulomb(framed.positions, framed.cell.array, q, WIDTH, method="mesh")
    # LAMMPS(mesh) − LAMMPS(direct) = Python(mesh) − Python(direct): the local part cancels
    scale = np.abs(q_direct[2]).max()
    assert np.abs((mesh["forces"] - direct["forces"]) - (q_mesh[2] - q_direct[2])).max() <= 1e-10 * scale
    assert abs((mesh["energy"] - direct["energy"]) - (q_mesh[0] - q_direct[0])) <= 1e-10 * abs(q_direct[0])


def test_lammps_auto_and_accuracy_keyword(plugin, charged_model, tmp_path):
    atoms = lammps_structure("sheared")
    _, _, log = run_lammps(plugin, charged_model, atoms, tmp_path, "areanet")
    assert "sheet Coulomb summed directly over" in log and "fewer than the 2000" in log
    _, _, log = run_lammps(plugin, charged_model, atoms, tmp_path,
                           "areanet coulomb mesh coulomb/accuracy 1e-9 coulomb/order 6")
    match = MESH_LOG.search(log)
    assert match and int(match.group(3)) == 6 and float(match.group(4)) == 1e-9


@pytest.mark.parametrize("setting, message", [
    ("coulomb pppm", "coulomb needs auto, direct or mesh"),
    ("coulomb/accuracy 2", "coulomb/accuracy 2 must lie between 0 and 1"),
    ("coulomb/order 3", "coulomb/order 3 must be 4 to 10"),
])
def test_lammps_bad_mesh_settings(plugin, charged_model, tmp_path, setting, message):
    data = tmp_path / "sheet.data"
    make_sheet.write_lammps_data(data, make_sheet.hbn_sheet(3, 2))
    session = LammpsSession(plugin)
    try:
        with pytest.raises(Exception) as info:
            session.commands(setup_commands(data, charged_model, pair_style=f"areanet {setting}"))
    finally:
        session.close()
    assert "ERROR" in str(info.value) and message in str(info.value), str(info.value)


def test_mesh_two_ranks_equal_one(plugin, charged_model, tmp_path):
    if not MPIEXEC.exists():
        pytest.skip(f"{MPIEXEC} not found (install lammps[mpi] in the venv)")
    atoms = lammps_structure("sheared")
    runs = {}
    for nprocs in (1, 2):
        lines, step0, step10, stdout = run_ranks(plugin, charged_model, tmp_path / f"np{nprocs}", atoms, nprocs,
                                                 pair_style="areanet coulomb mesh", per_atom_virial=False,
                                                 temperature=300)
        assert stdout.count("sheet Coulomb on a mesh") == 2  # rank 0, at the init of each of the 2 runs
        runs[nprocs] = lines, step0, step10
    (l1, a0, a10), (l2, b0, b10) = runs[1], runs[2]
    for key in ("STEP0", "STEP10"):
        assert np.allclose(l2[key], l1[key], rtol=1e-10, atol=1e-10), (key, l1[key], l2[key])
    for dump_a, dump_b in ((a0, b0), (a10, b10)):
        for col in ("fx", "fy", "fz", "x", "y"):
            scale = max(np.abs(dump_a[col]).max(), 1e-12)
            assert np.abs(dump_b[col] - dump_a[col]).max() <= 1e-10 * scale, col


def test_nve_drift_with_the_mesh_as_with_the_direct_sum(plugin, tmp_path):
    """The shipped charged model, 960 atoms, 1 ps of NVE: the mesh's total-energy drift and
    fluctuation equal the direct sum's to within 20 % (or 0.01 meV/atom)."""
    from pathlib import Path

    model = Path(__file__).resolve().parents[1] / "models" / "hbn-pbe.pt"
    data = tmp_path / "sheet.data"
    make_sheet.write_lammps_data(data, make_sheet.hbn_sheet(20, 12))  # 960 atoms
    stats = {}
    for method in ("direct", "mesh"):
        with LammpsSession(plugin) as session:
            session.commands(f"""
units metal
atom_style atomic
boundary p p p
atom_modify map array
read_data {data}
pair_style areanet coulomb {method}
pair_coeff * * {model} B N
velocity all create 300 4928 mom yes rot yes dist gaussian
timestep 0.001
fix nve all nve
thermo_style custom step pe ke etotal
run 0
""")
            energy = [session.lmp.get_thermo("etotal")]
            for _ in range(100):
                session.commands("run 10 pre no post no")
                energy.append(session.lmp.get_thermo("etotal"))
            energy = np.array(energy)
        n = 960
        t = np.arange(len(energy)) * 0.01  # ps
        slope = np.polyfit(t, energy, 1)[0] / n * 1e3  # meV/atom/ps
        spread = (energy.max() - energy.min()) / n * 1e3  # meV/atom
        stats[method] = slope, spread
    (s0, f0), (s1, f1) = stats["direct"], stats["mesh"]
    assert abs(s1 - s0) <= max(0.2 * abs(s0), 0.01), stats
    assert abs(f1 - f0) <= max(0.2 * f0, 0.01), stats


def test_ase_calculator_equals_lammps_on_the_mesh(plugin, tmp_path):
    """2400 atoms, the shipped charged model, every host on its default (`auto`: the mesh):
    AreaNetCalculator = pair_style areanet to rounding (the same grid, the same sums)."""
    from pathlib import Path

    from areanet.potential import AreaNetCalculator

    model = Path(__file__).resolve().parents[1] / "models" / "hbn-pbe.pt"
    atoms = perturb(make_sheet.hbn_sheet(25, 24), np.random.default_rng(1), inplane=0.05)
    assert len(atoms) >= sheet_mesh.MESH_ATOMS
    framed, lmp, log = run_lammps(plugin, model, atoms, tmp_path, "areanet")
    assert MESH_LOG.search(log), log[-2000:]
    framed.calc = AreaNetCalculator(str(model))
    energy, forces = framed.get_potential_energy(), framed.get_forces()
    assert abs(lmp["energy"] - energy) <= 1e-10 * abs(energy)
    assert np.abs(lmp["forces"] - forces).max() <= 1e-10 * np.abs(forces).max()
