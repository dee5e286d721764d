"""pair_style areanet with a charged model: the long-range sheet Coulomb term in LAMMPS.

A charged model (``ModelConfig(charge=...)``, format version 2) carries per-species charges
and a Gaussian width; the plugin adds potential/sheet_coulomb.py's term to the local model
(lammps_plugin/areanet_coulomb.h). LAMMPS' energy, per-atom energy, forces and pressure
must equal the Python reference -- the local model through ASE neighbour lists plus
``sheet_coulomb`` and, as a whole, ``AreaNetCalculator`` -- to 1e-10 relative, on
orthogonal and xy-tilted boxes, with the native evaluator and through libtorch; the pressure
must be the strain derivative of the energy; the k list must follow the box; two MPI ranks
must equal one; a file whose charges are all zero is an uncharged model. Errors: a box not
periodic along y, a per-atom virial requested with a charged model, a format-version-2 file
without charges.
"""
import numpy as np
import pytest
import torch

from lammps_helpers import (
    MPIEXEC,
    NATIVE_FILE,
    NKTV2P,
    LammpsSession,
    evaluate_reference,
    lammps_module,
    make_sheet,
    perturb,
    pressure_and_strain_derivative,
    resave_model,
    run_ranks,
    setup_commands,
    strain,
    triclinic_sheet,
)

TOL = 1e-10
CHARGE = 1.5  # e: +1.5 on B, -1.5 on N
WIDTH = 2.0  # Å
COULOMB_LOG = "areanet: long-range sheet Coulomb active"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("coulomb")


@pytest.fixture(scope="module")
def charged_model(workdir):
    """An untrained charged AreaNet, written by ``export_model`` (format version 2)."""
    from areanet.potential import AreaNet, ModelConfig, export_model

    torch.manual_seed(7)
    module = AreaNet(ModelConfig(charge=CHARGE, charge_width=WIDTH)).eval()
    path = workdir / "charged.pt"
    export_model(module, path, {"note": "untrained charged AreaNet for the LAMMPS plugin tests"})
    scripted = torch.jit.load(str(path))
    assert int(scripted.format_version) == 2
    assert list(scripted.species_charges) == [CHARGE, -CHARGE] and scripted.charge_width == WIDTH
    return path


@pytest.fixture(scope="module")
def zero_charge_model(workdir, charged_model):
    """The same weights with every charge 0 (format version 1): an uncharged model."""
    return resave_model(charged_model, workdir / "zero-charges.pt",
                        attributes={"format_version": 1, "species_charges": [0.0, 0.0]},
                        native={"format_version": np.array(1, dtype=np.int64),
                                "species_charges": np.zeros(2)})


def structure(name: str):
    rng = np.random.default_rng(sum(map(ord, name)))
    if name == "perturbed-60":  # orthogonal box
        return perturb(make_sheet.hbn_sheet(5, 3), rng)
    if name == "sheared-60":  # ±1.5 % normal strain and 1 % shear: a triclinic box (xy ≠ 0)
        eps = np.array([[0.015, 0.01, 0.0], [0.0, -0.01, 0.0], [0.0, 0.0, 0.0]])
        return strain(perturb(make_sheet.hbn_sheet(5, 3), rng), eps)
    if name == "triclinic-50":  # the hexagonal cell, 60° between a1 and a2 (xy = lx / 2)
        return perturb(triclinic_sheet(5, 5), rng)
    raise KeyError(name)


STRUCTURES = ["perturbed-60", "sheared-60", "triclinic-50"]


def assert_close(actual, expected, what, rtol=TOL):
    actual = np.asarray(actual, dtype=float)
    expected = np.asarray(expected, dtype=float)
    scale = max(np.abs(expected).max(), 1e-12)
    err = np.abs(actual - expected).max()
    assert err <= rtol * scale, f"{what}: max deviation {err:.3e} > {rtol:g} × {scale:.3e}"


def lammps_order(matrix):
    """3×3 → xx yy zz xy xz yz."""
    m = np.asarray(matrix)
    return np.array([m[0, 0], m[1, 1], m[2, 2], m[0, 1], m[0, 2], m[1, 2]])


# --- LAMMPS and the Python reference ------------------------------------------------------


def extract(session) -> dict:
    """Energy, pe/atom, forces (by atom ID), virial pressure (bar) and volume of a run 0."""
    lammps = lammps_module()
    lmp = session.lmp
    n = lmp.extract_global("nlocal")
    order = np.argsort(lmp.numpy.extract_atom("id")[:n])
    return {
        "energy": lmp.get_thermo("pe"),
        "energy_sum": lmp.numpy.extract_compute("esum", lammps.LMP_STYLE_GLOBAL, lammps.LMP_TYPE_SCALAR),
        "energies": lmp.numpy.extract_compute("pea", lammps.LMP_STYLE_ATOM, lammps.LMP_TYPE_VECTOR)[:n][order].copy(),
        "forces": lmp.numpy.extract_atom("f")[:n][order].copy(),
        "positions": lmp.numpy.extract_atom("x")[:n][order].copy(),
        "pressure": lmp.numpy.extract_compute("pvir", lammps.LMP_STYLE_GLOBAL, lammps.LMP_TYPE_VECTOR).copy(),
        "volume": lmp.get_thermo("vol"),
    }


MEASURE = """
compute pea all pe/atom
compute esum all reduce sum c_pea
compute pvir all pressure NULL virial
thermo_style custom step pe press c_esum c_pvir[1]
run 0
"""


def evaluate_charged(plugin, model, atoms, workdir, pair_style="areanet", log=None):
    """LAMMPS on ``atoms`` (no per-atom virial: a charged model has none); also the
    structure LAMMPS computed on (``atoms`` in its frame)."""
    data = workdir / "structure.data"
    framed = make_sheet.write_lammps_data(data, atoms)
    cmdargs = ("-screen", str(log)) if log else ()
    with LammpsSession(plugin, cmdargs) as session:
        session.commands(setup_commands(data, model, pair_style=pair_style) + MEASURE)
        result = extract(session)
    result["atoms"] = framed
    return result


def reference(model, atoms) -> dict:
    """The local model through ASE neighbour lists plus sheet_coulomb; and the Coulomb part
    alone (key "coulomb"), and AreaNetCalculator's results (key "calculator")."""
    from areanet.potential.sheet_coulomb import structure_coulomb

    local = evaluate_reference(model, atoms)
    coulomb = structure_coulomb(torch.jit.load(str(model)), atoms)
    assert coulomb is not None, "the model is not charged"
    energy, energies, forces, virial = coulomb
    return {
        "energy": local["energy"] + energy,
        "energies": local["energies"] + energies,
        "forces": local["forces"] + forces,
        "virial": local["virial"] + lammps_order(virial),  # xx yy zz xy xz yz, eV
        "coulomb": {"energy": energy, "energies": energies, "forces": forces, "virial": lammps_order(virial)},
        "calculator": local["calculator"],
    }


# --- against the Python reference ---------------------------------------------------------


@pytest.mark.parametrize("name", STRUCTURES)
def test_charged_model_matches_reference(plugin, charged_model, workdir, tmp_path, name):
    atoms = structure(name)
    log = tmp_path / "screen.txt"
    lmp = evaluate_charged(plugin, charged_model, atoms, tmp_path, log=log)
    ref = reference(charged_model, lmp["atoms"])

    assert COULOMB_LOG in log.read_text()
    if name != "perturbed-60":
        assert abs(lmp["atoms"].cell.array[1, 0]) > 0.05, "the box should be tilted (xy)"
    assert_close(lmp["energy"], ref["energy"], "total energy")
    assert_close(lmp["energy_sum"], lmp["energy"], "sum of pe/atom vs pe")
    assert_close(lmp["energies"], ref["energies"], "per-atom energy")
    assert_close(lmp["forces"], ref["forces"], "forces")
    assert_close(lmp["pressure"], ref["virial"] / lmp["volume"] * NKTV2P, "pressure tensor")

    # the term is there and large enough that leaving it out (or getting it wrong by a
    # small fraction) fails the comparison above by orders of magnitude
    c = ref["coulomb"]
    assert np.abs(c["forces"][:, :2]).max() > 1e-2 and np.all(c["forces"][:, 2] == 0.0)
    assert np.abs(c["forces"]).max() > 1e6 * TOL * np.abs(ref["forces"]).max()
    assert np.abs(c["virial"][[0, 1]]).max() > 1e6 * TOL * np.abs(ref["virial"]).max()
    assert abs(c["virial"][3]) > 1e-6  # xy: non-zero on these perturbed cells


@pytest.mark.parametrize("name", STRUCTURES)
def test_charged_model_matches_calculator(plugin, charged_model, tmp_path, name):
    """AreaNetCalculator adds the same term for a charged model (its stress in ASE's sign:
    +∂E/∂ε / V = -LAMMPS' pressure)."""
    lmp = evaluate_charged(plugin, charged_model, structure(name), tmp_path)
    calc = reference(charged_model, lmp["atoms"])["calculator"]
    assert calc is not None, "areanet.potential.AreaNetCalculator is not importable"
    assert_close(lmp["energy"], calc["energy"], "energy vs AreaNetCalculator")
    assert_close(lmp["energies"], calc["energies"], "energies vs AreaNetCalculator")
    assert_close(lmp["forces"], calc["forces"], "forces vs AreaNetCalculator")
    stress_lammps = -lmp["pressure"][[0, 1, 2, 5, 4, 3]] / NKTV2P
    assert_close(stress_lammps, calc["stress"], "stress vs AreaNetCalculator")


def test_coulomb_part_alone(plugin, charged_model, zero_charge_model, tmp_path):
    """charged − the same weights uncharged = sheet_coulomb exactly (the local parts cancel)."""
    atoms = structure("sheared-60")
    log = tmp_path / "screen.txt"
    with_q = evaluate_charged(plugin, charged_model, atoms, tmp_path)
    without = evaluate_charged(plugin, zero_charge_model, atoms, tmp_path, log=log)
    c = reference(charged_model, with_q["atoms"])["coulomb"]
    assert_close(with_q["energy"] - without["energy"], c["energy"], "Coulomb energy")
    assert_close(with_q["energies"] - without["energies"], c["energies"], "Coulomb per-atom energy")
    assert_close(with_q["forces"] - without["forces"], c["forces"], "Coulomb forces")
    assert_close((with_q["pressure"] - without["pressure"]) * with_q["volume"] / NKTV2P, c["virial"],
                 "Coulomb virial")
    # all charges zero: uncharged, exactly the local model, and no Coulomb line in the log
    assert COULOMB_LOG not in log.read_text()
    local = evaluate_reference(zero_charge_model, without["atoms"])
    assert_close(without["energies"], local["energies"], "zero-charge model vs local model", rtol=1e-8)
    assert_close(without["forces"], local["forces"], "zero-charge model vs local model", rtol=1e-8)


@pytest.mark.parametrize("variant", ["torchscript", "without-native-extra"])
def test_libtorch_path_reads_the_charges(plugin, charged_model, workdir, tmp_path, variant):
    """The charges come from the TorchScript attributes when the model is read by libtorch."""
    atoms = structure("triclinic-50")
    native = evaluate_charged(plugin, charged_model, atoms, tmp_path)
    if variant == "torchscript":
        model, pair_style = charged_model, "areanet torchscript"
    else:
        model, pair_style = resave_model(charged_model, tmp_path / "no-extra.pt", drop_native=True), "areanet"
    log = tmp_path / "screen.txt"
    torch_result = evaluate_charged(plugin, model, atoms, tmp_path, pair_style=pair_style, log=log)
    text = log.read_text()
    assert COULOMB_LOG in text and "B +1.5 N -1.5" in text and "width 2 A" in text
    assert "libtorch loaded" in text
    for key in ("energy", "energies", "forces", "pressure"):
        assert_close(torch_result[key], native[key], f"{key}: libtorch path vs native")


# --- the virial and the box ---------------------------------------------------------------


def test_pressure_is_strain_derivative_of_energy(plugin, charged_model, tmp_path):
    """p_ab = -(1/V) ∂E/∂ε_ab (4-point stencil of change_box ... remap): the sign and the
    (σ² + 1/k²) k_a k_b part of the virial, independently of the Python reference; every
    change_box also makes the plugin rebuild its k list.

    xz and yz: the in-plane term has F_z = 0 but is not invariant under rotations out of
    the plane, so its virial r_a F_b is not symmetric: W_xz = Σ x F_z = 0 (the convention of
    sheet_coulomb.py, and the slot LAMMPS' own f·r virial fills with x·f_z), while the tilt
    x += ε z that change_box xz applies measures Σ z F_x, non-zero on a corrugated sheet.
    The two differ by exactly the Coulomb forces' Σ z F_x, Σ z F_y."""
    from areanet.potential.sheet_coulomb import structure_coulomb

    data = tmp_path / "sheet.data"
    framed = make_sheet.write_lammps_data(data, structure("perturbed-60"))
    _, _, coulomb_forces, _ = structure_coulomb(torch.jit.load(str(charged_model)), framed)
    torque = framed.positions[:, 2] @ coulomb_forces[:, :2]  # Σ z F_x, Σ z F_y (eV)
    p0, fd_pressure, volume = pressure_and_strain_derivative(plugin, data, charged_model)
    assert np.abs(p0[:2]).max() > 10.0  # bar: the Coulomb term dominates this untrained model
    assert np.abs(torque).max() / volume * NKTV2P > 1.0  # bar: the xz/yz difference is visible
    fd_pressure[4:6] -= torque / volume * NKTV2P
    assert_close(p0, fd_pressure, "pressure vs finite-difference strain derivative", rtol=1e-7)


def test_k_list_follows_the_box(plugin, charged_model, tmp_path):
    """After change_box (as under NPT) the term is that of the new cell."""
    data = tmp_path / "sheet.data"
    make_sheet.write_lammps_data(data, structure("triclinic-50"))
    with LammpsSession(plugin) as session:
        session.commands(setup_commands(data, charged_model) + MEASURE + """
change_box all x scale 1.07 y scale 0.96 xy delta -0.8 remap units box
run 0
""")
        result = extract(session)
        box = session.lmp.extract_box()  # lo, hi, xy, yz, xz, periodicity, box_change
    (xlo, ylo, zlo), (xhi, yhi, zhi), xy, yz, xz = box[:5]
    from ase import Atoms

    symbols = make_sheet.lammps_frame(structure("triclinic-50")).get_chemical_symbols()
    cell = np.array([[xhi - xlo, 0.0, 0.0], [xy, yhi - ylo, 0.0], [xz, yz, zhi - zlo]])
    atoms = Atoms(symbols, positions=result["positions"] - [xlo, ylo, zlo], cell=cell, pbc=True)
    ref = reference(charged_model, atoms)
    assert_close(result["energy"], ref["energy"], "energy after change_box")
    assert_close(result["energies"], ref["energies"], "per-atom energy after change_box")
    assert_close(result["forces"], ref["forces"], "forces after change_box")
    assert_close(result["pressure"], ref["virial"] / result["volume"] * NKTV2P, "pressure after change_box")


# --- MPI ----------------------------------------------------------------------------------

def test_two_ranks_equal_one(plugin, charged_model, workdir):
    if not MPIEXEC.exists():
        pytest.skip(f"{MPIEXEC} not found (install lammps[mpi] in the venv)")
    atoms = strain(perturb(make_sheet.hbn_sheet(10, 6), np.random.default_rng(23)),  # 240 atoms
                   np.array([[0.0, 0.02, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]))
    runs = {}
    for nprocs in (1, 2):
        # no compute stress/atom: a charged model refuses it
        lines, step0, step10, stdout = run_ranks(plugin, charged_model, workdir / f"mpi-np{nprocs}", atoms,
                                                 nprocs, per_atom_virial=False, temperature=300)
        assert stdout.count(COULOMB_LOG) == 1  # rank 0 only
        runs[nprocs] = lines, step0, step10
    (lines1, d0_1, d10_1), (lines2, d0_2, d10_2) = runs[1], runs[2]
    force, xyz = ["fx", "fy", "fz"], ["x", "y", "z"]

    def table(dump, names):
        return np.stack([dump[k] for k in names], axis=1)

    assert_close(lines2["STEP0"], lines1["STEP0"], "energy and pressure tensor, 2 ranks vs 1")
    assert_close(table(d0_2, force), table(d0_1, force), "forces, 2 ranks vs 1")
    assert_close(d0_2["c_pea"], d0_1["c_pea"], "per-atom energy, 2 ranks vs 1")
    assert_close(lines2["STEP10"], lines1["STEP10"], "energies and pressure after 10 steps, 2 ranks vs 1")
    assert_close(table(d10_2, xyz), table(d10_1, xyz), "positions after 10 steps, 2 ranks vs 1")
    assert_close(table(d10_2, force), table(d10_1, force), "forces after 10 steps, 2 ranks vs 1")


# --- errors -------------------------------------------------------------------------------


def lammps_error(plugin, commands: str) -> str:
    session = LammpsSession(plugin)
    try:
        with pytest.raises(Exception) as info:
            session.commands(commands)
    finally:
        session.close()
    message = str(info.value)
    assert "ERROR" in message, message
    return message


@pytest.fixture(scope="module")
def sheet_data(workdir):
    path = workdir / "sheet.data"
    make_sheet.write_lammps_data(path, make_sheet.hbn_sheet(3, 2))
    return path


@pytest.mark.parametrize("boundary", ["p f p", "p s p", "f p p"])
def test_box_not_periodic_in_the_plane(plugin, charged_model, sheet_data, boundary):
    commands = setup_commands(sheet_data, charged_model).replace("boundary p p p", f"boundary {boundary}")
    msg = lammps_error(plugin, commands + "run 0\n")
    assert "Pair areanet: model" in msg and "is charged" in msg
    assert "needs a box periodic along x and y" in msg
    assert "non-periodic along " + ("x" if boundary.startswith("f") else "y") in msg


def test_per_atom_virial_refused(plugin, charged_model, sheet_data):
    msg = lammps_error(plugin, setup_commands(sheet_data, charged_model) + """
compute vir all stress/atom NULL pair
compute vsum all reduce sum c_vir[1]
thermo_style custom step pe c_vsum
run 0
""")
    assert "Pair areanet: per-atom virial" in msg and "not supported with a charged model" in msg


def test_per_atom_virial_of_uncharged_model_still_works(plugin, zero_charge_model, sheet_data):
    with LammpsSession(plugin) as session:
        session.commands(setup_commands(sheet_data, zero_charge_model) + """
compute vir all stress/atom NULL pair
compute vsum all reduce sum c_vir[1]
thermo_style custom step pe c_vsum
run 0
""")


@pytest.mark.parametrize("pair_style", ["areanet", "areanet torchscript"])
def test_format_version_2_without_charges(plugin, charged_model, sheet_data, workdir, pair_style):
    path = resave_model(charged_model, workdir / "v2-no-charges.pt", attributes={"species_charges": [0.0, 0.0]},
                        native={"species_charges": np.zeros(2)})
    msg = lammps_error(plugin, setup_commands(sheet_data, path, pair_style=pair_style))
    assert "format version 2" in msg and "declares no species charges" in msg


def test_charged_native_extra_is_checked(plugin, charged_model, sheet_data, workdir):
    path = resave_model(charged_model, workdir / "bad-charges.pt", native={"species_charges": np.ones(3)})
    msg = lammps_error(plugin, setup_commands(sheet_data, path))
    assert f"cannot read its {NATIVE_FILE}" in msg and "`species_charges` has 3 entries for 2 species" in msg
    path = resave_model(charged_model, workdir / "bad-width.pt", native={"charge_width": np.array(0.0)})
    msg = lammps_error(plugin, setup_commands(sheet_data, path))
    assert "invalid charge width 0" in msg


@pytest.mark.parametrize("pair_style", ["areanet", "areanet torchscript"])
def test_unknown_format_version(plugin, charged_model, sheet_data, workdir, pair_style):
    path = resave_model(charged_model, workdir / "v3.pt", attributes={"format_version": 3},
                        native={"format_version": np.array(3, dtype=np.int64)})
    msg = lammps_error(plugin, setup_commands(sheet_data, path, pair_style=pair_style))
    assert "has format version 3" in msg and "reads format version 1 (and 2: a charged model)" in msg
