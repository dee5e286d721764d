"""`areanet validate`: the physics helpers on synthetic data, and a --quick run end to end."""
import json
import math
from pathlib import Path

import numpy as np
import pytest

from areanet.training.cli import main
from areanet.training.data.reference import MASSES
from areanet.training.evaluation.validate.dft import dft_summary
from areanet.training.evaluation.validate.physics import (first_peak, fit_eos, gamma_force_constants,
                                                          optical_frequency_cm1, phonon_displacement, rdf_2d,
                                                          rect_cell)
from areanet.training.paths import DEFAULT_DFT_REFERENCE

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data"


@pytest.mark.parametrize("a0, curvature, cubic", [(2.5123, 19.0, 0.0), (2.5198, 19.4, -60.0),
                                                   (2.4987, 15.0, -120.0)])
def test_eos_fit_recovers_a_known_minimum(a0, curvature, cubic):
    a = np.array([2.475, 2.49, 2.505, 2.52, 2.535, 2.55, 2.565])
    x = a - a0
    e = -8.6 + 0.5 * curvature * x**2 + cubic / 6.0 * x**3  # eV/atom, exactly cubic
    fit = fit_eos(a, e)
    assert fit["a0"] == pytest.approx(a0, abs=1e-9)
    assert fit["e0"] == pytest.approx(-8.6, abs=1e-12)
    assert fit["curvature_ev_per_a2"] == pytest.approx(curvature, rel=1e-9)
    # B = A d²E/dA² with A = √3 a²/4 per atom, by finite differences in A
    area = math.sqrt(3) * a0**2 / 4
    energy_of_area = lambda s: np.polyval([cubic / 6, curvature / 2, 0, -8.6],
                                          math.sqrt(4 * s / math.sqrt(3)) - a0)
    h = 1e-4
    b = area * (energy_of_area(area + h) - 2 * energy_of_area(area) + energy_of_area(area - h)) / h**2
    assert fit["b2d_ev_per_a2"] == pytest.approx(b, rel=1e-5)
    assert fit["b2d_n_per_m"] == pytest.approx(b * 16.021766, rel=1e-5)


def test_eos_fit_refuses_a_curve_without_minimum():
    a = np.linspace(2.45, 2.6, 7)
    with pytest.raises(ValueError, match="no minimum"):
        fit_eos(a, -a)


def test_gamma_frequencies_from_synthetic_forces():
    """Forces of a harmonic two-species crystal with known Γ constants give them back."""
    k_in, k_out = 42.0, 13.0
    symbols = rect_cell(2.52).get_chemical_symbols()  # B N B N
    u = phonon_displacement(2.52)
    assert u[0] == pytest.approx(2.52 / 17 / 2) and u[2] == pytest.approx(12 / 80 / 2)

    def forces(sign):
        f = np.zeros((4, 3))
        ku = np.array([k_in, k_in, k_out]) * sign * u
        f[0] -= 0.7 * ku  # the displaced B and its image share the restoring force
        f[2] -= 0.3 * ku
        f[1] += 0.5 * ku  # the N atoms take the reaction (acoustic sum rule)
        f[3] += 0.5 * ku
        f[:, 1] += 0.2  # an even (anharmonic) term: cancels in the central difference
        return f

    k = gamma_force_constants(symbols, forces(+1), forces(-1), u)
    assert k["inplane"] == pytest.approx(k_in) and k["out_of_plane"] == pytest.approx(k_out)
    assert k["inplane_asr_mismatch"] < 1e-12
    # ω = √(k/μ): 42 eV/Å² with B and N masses is about 1370 cm⁻¹
    mu = MASSES["B"] * MASSES["N"] / (MASSES["B"] + MASSES["N"])
    omega = math.sqrt(k_in * 1.602176634e-19 / 1e-20 / (mu * 1.66053906660e-27))
    assert optical_frequency_cm1(k_in) == pytest.approx(omega / (2 * math.pi * 2.99792458e10),
                                                        rel=1e-6)
    assert math.isnan(optical_frequency_cm1(-1.0))


def test_rdf_of_the_perfect_sheet():
    from areanet.training.data.sheets import perfect_sheet

    a = 2.52
    atoms = perfect_sheet(a, nx=6, ny=4)
    r, g = rdf_2d([atoms.positions], atoms.cell.array, atoms.get_chemical_symbols(),
                  r_max=4.0, bins=400)
    b = a / math.sqrt(3)
    assert first_peak(r, g["B-N"], 1.2, 1.8) == pytest.approx(b, abs=0.01)
    assert first_peak(r, g["B-B"], 2.2, 2.8) == pytest.approx(a, abs=0.01)
    assert g["B-B"][r < 2.3].max() == 0 and g["B-N"][r < 1.4].max() == 0
    # 3 B-N neighbours per atom: ∫ g 2πr ρ dr over the first shell, ρ the density of the
    # other species
    area = np.linalg.norm(np.cross(atoms.cell[0], atoms.cell[1]))
    dr = r[1] - r[0]
    shell = (r > 1.3) & (r < 1.6)
    n_bn = (g["B-N"][shell] * 2 * np.pi * r[shell] * dr).sum() * (len(atoms) / 2) / area
    assert n_bn == pytest.approx(3.0, rel=1e-6)


def test_shipped_dft_reference_matches_the_data_readme():
    """The committed GPAW curve gives the a0 that data/README.md states for these settings."""
    ref = json.loads(DEFAULT_DFT_REFERENCE.read_text())
    summary = dft_summary(ref)
    assert summary["eos"]["a0"] == pytest.approx(2.5198, abs=0.001)
    assert 150 < summary["eos"]["b2d_n_per_m"] < 210
    assert 1300 < summary["gamma"]["E'"] < 1450 and 700 < summary["gamma"]["A2''"] < 850
    assert summary["gamma"]["k"]["inplane_asr_mismatch"] < 0.01


@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    """A few epochs on the 3D PBE data: rough, but a sheet with an energy minimum."""
    from areanet.training.fit.config import TrainConfig
    from areanet.training.fit.train import train

    run = tmp_path_factory.mktemp("validate") / "run"
    cfg = TrainConfig.from_dict(dict(data=[str(DATA / "hbn_pbe_3d.extxyz.gz")], epochs=6,
                                     batch_size=4, lr=5e-3, seed=1, threads=1))
    train(cfg, run, quiet=True)
    model = run.parent / "model.pt"
    assert main(["export", str(run / "best.pt"), "-o", str(model)]) == 0
    return run / "best.pt", model


def test_test_split_from_checkpoint_and_from_exported_model_agree(small_model):
    from areanet.training.evaluation.validate.accuracy import test_structures

    checkpoint, model = small_model
    a, how_a = test_structures(checkpoint)
    b, how_b = test_structures(model)
    assert "stored in the checkpoint" in how_a and "data hash checked" in how_b
    assert len(a) == len(b) > 0
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.positions, y.positions)


@pytest.mark.slow
def test_validate_quick_writes_the_report(small_model, tmp_path):
    from areanet.training.data.structures import read_structures
    from areanet.training.data.generate import write_frames

    _, model = small_model
    test_file = tmp_path / "test.extxyz"
    write_frames(read_structures(DATA / "hbn_pbe_3d.extxyz.gz")[:3], test_file)
    out = tmp_path / "val"
    assert main(["validate", str(model), "--out", str(out), "--quick", "--threads", "1",
                 "--test-data", str(test_file)]) == 0
    text = (out / "validation.md").read_text()
    for heading in ("## Benchmark", "## (a) Accuracy", "## (b) Lattice constant",
                    "## (c) Phonons", "## (d) Energy conservation", "## (e) Radial distribution",
                    "## (g) In-plane thermal expansion"):
        assert heading in text, heading
    result = json.loads((out / "validation.json").read_text())
    assert not result["errors"], result["errors"]
    for figure in ("eos.png", "phonons.png", "nve.png", "rdf.png", "expansion.png", "accuracy-test/parity.png",
                   "accuracy-strength/strength.png"):
        assert (out / figure).stat().st_size > 10_000, figure
        assert figure in text
    eos = result["sections"]["eos"]
    assert 2.4 < eos["model"]["a0"] < 2.65
    assert eos["dft"]["a0"] == pytest.approx(2.5198, abs=0.001)  # from the cached GPAW curve
    assert result["sections"]["phonons"]["dft_fd"]["E'"] > 1000
    assert result["sections"]["nve"]["steps"] == 100
    expansion = result["sections"]["expansion"]
    assert [r["T_target"] for r in expansion["extep"]["runs"]] == [300.0, 1000.0]
    assert all(2.4 < r["a"] < 2.65 for r in expansion["model"]["runs"])


# -- the comparison study ------------------------------------------------------------------


def test_symmetry_function_network_is_invariant_conservative_and_scriptable(sheet):
    import torch
    from scipy.spatial.transform import Rotation

    from areanet.potential.config import ModelConfig
    from areanet.potential.model import AreaNet
    from areanet.potential.neighbors import build_edges, edge_forces
    from areanet.potential.symmetry_functions import SymmetryFunctionNet

    torch.manual_seed(0)
    net = SymmetryFunctionNet(ModelConfig()).eval()
    size = sum(p.numel() for p in net.parameters())
    assert abs(size - sum(p.numel() for p in AreaNet(ModelConfig()).parameters())) < 0.05 * size

    def energy_forces(model, atoms):
        e = build_edges(atoms, 3.6, ["B", "N"])
        atom_energy, g = model(e.vec, e.src, e.edge_spec, e.spec)
        return float(atom_energy.sum()), edge_forces(e, g, len(atoms)).detach().numpy()

    atoms = sheet(perturb=0.03, z_perturb=0.03, seed=4)
    energy, forces = energy_forces(net, atoms)
    rot = Rotation.random(random_state=2).as_matrix()
    turned = atoms.copy()
    turned.set_cell(atoms.cell @ rot.T, scale_atoms=False)
    turned.positions = atoms.positions @ rot.T
    e2, f2 = energy_forces(net, turned)
    assert e2 == pytest.approx(energy, abs=1e-10)
    np.testing.assert_allclose(f2, forces @ rot.T, atol=1e-10)
    swapped = atoms[np.random.default_rng(0).permutation(len(atoms))]
    assert energy_forces(net, swapped)[0] == pytest.approx(energy, abs=1e-10)
    h = 1e-5
    for k, c in [(3, 0), (17, 1), (40, 2)]:
        plus, minus = atoms.copy(), atoms.copy()
        plus.positions[k, c] += h
        minus.positions[k, c] -= h
        fd = -(energy_forces(net, plus)[0] - energy_forces(net, minus)[0]) / (2 * h)
        assert fd == pytest.approx(forces[k, c], abs=1e-7)
    scripted = torch.jit.script(net)
    assert energy_forces(scripted, atoms)[0] == pytest.approx(energy, abs=1e-12)


@pytest.mark.slow
def test_comparison_study_runs_every_variant(small_model, tmp_path):
    from areanet.training.evaluation.validate.comparison import COMPARISON, format_comparison, run_comparison

    _, model = small_model
    rows = run_comparison(model, tmp_path / "runs", epochs=1, log=lambda *a: None)
    assert [r["key"] for r in rows] == [c[0] for c in COMPARISON]
    for row in rows:
        assert row["test"]["n_structures"] > 0 and row["extrap"]["n_structures"] == 13
    sizes = [r["parameters"] for r in rows]
    assert max(sizes) < 1.2 * min(sizes)  # networks of similar size (LO has 18 inputs, not 36)
    table = format_comparison(rows)
    assert "Behler" in table and table.count("\n") == len(rows) + 1
    # finished runs are reused, not trained again
    again = run_comparison(model, tmp_path / "runs", epochs=1, log=lambda *a: None)
    assert [r["train_seconds"] for r in again] == [r["train_seconds"] for r in rows]


def test_compute_dft_never_finishes_a_reference_of_other_settings(tmp_path):
    """A cached reference computed with other GPAW settings (the FD Poisson solver of the first
    data) is not completed with this labeller's points: a clear error, the file untouched."""
    pytest.importorskip("gpaw")
    from areanet.training.errors import UserError
    from areanet.training.evaluation.validate.dft import compute_dft_reference

    shipped = json.loads(Path(DEFAULT_DFT_REFERENCE).read_text())
    old = tmp_path / "ref.json"
    old.write_text(json.dumps({"description": shipped["description"], "eos": {"a": [], "energy_per_atom": [], "seconds": []}}))
    before = old.read_text()
    with pytest.raises(UserError, match="was computed with .*symmetry=auto .*poisson=fft"):
        compute_dft_reference(old, eos_a=[2.52], elastic=False)
    assert old.read_text() == before
