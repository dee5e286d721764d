"""The elastic constants and stress-strain curves of `areanet validate` (section f), checked on
ExTeP, where LAMMPS gives the answer by an independent route: its own pressure tensor under
small box deformations with the ions minimised, against our relaxed-ion energy curvatures."""
import numpy as np
import pytest

from areanet.training.data.reference import LammpsReference
from areanet.training.evaluation.validate.elastic import (Relaxer, compute_curves, compute_elastic,
                                                          stress_strain, strained_sheet)
from areanet.training.evaluation.validate.physics import fit_eos
from lammps_helpers import ROOT, lammps_module, make_sheet

EXTEP_MODEL = ROOT / "models" / "hbn-extep.pt"
BAR_A_TO_N_PER_M = 1e-5  # 1 bar × 1 Å = 1e5 Pa × 1e-10 m


@pytest.fixture(scope="module")
def extep():
    reference = LammpsReference("extep")
    a = np.linspace(2.48, 2.53, 6)
    a0 = fit_eos(a, [reference.energy_of_lattice_constant(x) for x in a], 4)["a0"]
    yield reference, a0
    reference.close()


def lammps_stress(atoms, tmp_path, name: str) -> np.ndarray:
    """2D stress (σxx, σyy, σxy) in N/m of ExTeP in LAMMPS for ``atoms`` (cell fixed, ions
    minimised): −P × Lz, from LAMMPS' own pressure tensor."""
    from areanet.training.lammps_env import potentials_dir

    data = tmp_path / f"{name}.data"
    make_sheet.write_lammps_data(data, atoms)
    lmp = lammps_module().lammps(cmdargs=["-log", "none", "-screen", "none", "-nocite"])
    try:
        for line in ("units metal", "atom_style atomic", "boundary p p p", f"read_data {data}",
                     "pair_style extep", f"pair_coeff * * {potentials_dir() / 'BN.extep'} B N",
                     "thermo_style custom step pe pxx pyy pxy lz", "min_style cg",
                     "minimize 0 1e-9 2000 20000", "run 0"):
            lmp.command(line)
        pxx, pyy, pxy, lz = (lmp.get_thermo(k) for k in ("pxx", "pyy", "pxy", "lz"))
    finally:
        lmp.close()
    return -np.array([pxx, pyy, pxy]) * lz * BAR_A_TO_N_PER_M


def test_extep_constants_equal_lammps_stress_route(extep, tmp_path):
    """C11, C12, C66 from our energy route = LAMMPS' stress derivatives (central ±0.25 %)."""
    reference, a0 = extep
    ours = compute_elastic(Relaxer(reference.calculator), a0)["constants"]
    d = 0.0025

    def derivative(strain):
        plus = lammps_stress(strained_sheet(a0, tuple(d * s for s in strain)), tmp_path, "plus")
        minus = lammps_stress(strained_sheet(a0, tuple(-d * s for s in strain)), tmp_path, "minus")
        return (plus - minus) / (2 * d)

    ux = derivative((1.0, 0.0, 0.0))  # dσ/dε_xx: (C11, C12, 0)
    shear = derivative((0.0, 0.0, 1.0))  # dσ/dε_xy: (0, 0, 2 C66)
    lammps = {"C11": ux[0], "C12": ux[1], "C66": shear[2] / 2}
    for key, value in lammps.items():
        assert ours[key] == pytest.approx(value, rel=5e-3), (key, ours[key], value)
    assert abs(ux[2]) < 1e-3 * ux[0] and abs(shear[0]) < 1e-3 * ux[0]
    # hexagonal sheet: C22 = C11 and C66 = (C11 − C12)/2, by our energies alone
    assert ours["C22"] == pytest.approx(ours["C11"], rel=1e-4)
    assert ours["C66"] == pytest.approx(ours["C66_from_C11_C12"], rel=1e-3)
    assert ours["layer_modulus"] == pytest.approx((ours["C11"] + ours["C12"]) / 2, rel=1e-3)


def test_extep_stress_strain_curve_equals_lammps_stress(extep, tmp_path):
    """σ = (1/A0) dE/dε of the uniaxial curve = LAMMPS' nominal stress at 6 % (zigzag and
    armchair), and its slope at 0 is C11."""
    reference, a0 = extep
    relaxer = Relaxer(reference.calculator)
    strains = tuple(0.01 * k for k in range(9))
    curves = compute_curves(relaxer, a0, strains)
    c11 = compute_elastic(relaxer, a0)["constants"]["C11"]
    for name, axis in (("zigzag", 0), ("armchair", 1)):
        curve = stress_strain(strains, curves[name]["energies"], a0, dense=[0.0, 0.001, 0.06])
        slope = (curve["stress_dense"][1] - curve["stress_dense"][0]) / 0.001
        assert slope == pytest.approx(c11, rel=1e-2), (name, slope, c11)
        strain = [0.0, 0.0, 0.0]
        strain[axis] = 0.06
        cauchy = lammps_stress(strained_sheet(a0, tuple(strain)), tmp_path, name)[axis]
        # dE = A σ dL/L with A = A0 (1 + ε) and dL/L = dε/(1 + ε) (transverse held): dE/dε =
        # A0 σ, so the nominal stress of this deformation is LAMMPS' Cauchy stress
        assert curve["stress_dense"][2] == pytest.approx(cauchy, rel=2e-3), (name, curve["stress_dense"][2], cauchy)


def test_model_fitted_to_extep_has_extep_constants(extep):
    """`models/hbn-extep.pt` (fitted to ExTeP frames within ±1 % strain) against ExTeP itself,
    within the tolerance the README states: C11, C66 and the layer modulus within 2 %, C12 (the
    small difference of large terms) within 2 % of C11. Measured: 0.06 %, 1.2 %, 0.8 %; C12 52.5
    against 49.8 N/m."""
    from areanet.potential import AreaNetCalculator

    reference, a0 = extep
    want = compute_elastic(Relaxer(reference.calculator), a0)["constants"]
    calc = AreaNetCalculator(str(EXTEP_MODEL))
    got = compute_elastic(Relaxer(lambda: calc), a0)["constants"]
    for key in ("C11", "C66", "layer_modulus"):
        assert got[key] == pytest.approx(want[key], rel=0.02), (key, got[key], want[key])
    assert abs(got["C12"] - want["C12"]) < 0.02 * want["C11"], (got["C12"], want["C12"])
