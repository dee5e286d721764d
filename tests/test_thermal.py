"""κ pipelines (issue 15): the phono3py BTE through the ASE calculator, and areanet thermal green-kubo.

* BTE: phono3py's harmonic frequencies from the potential's fc2 equal `areanet validate`'s
  phonons (ase.phonons on the same 6 × 6 supercell) at Γ, M and K, the q-points that
  supercell holds exactly; a small κ comes out isotropic in the plane (κ_xx = κ_yy, as the
  hexagonal symmetry demands), positive, and higher for pure ¹¹B than for natural boron;
  the isotope mass variance of natural boron is the textbook 1.35e-3.
* Green–Kubo: two short independent runs of examples/thermal/in.green_kubo through the
  command; κ from the correlation file's running integral equals the input's own trap()
  (the KAPPA line), the figure and the tables are written; a charged model is refused with
  the reason.
"""
import json

import numpy as np
import pytest

from lammps_helpers import ROOT, plugin_library

from areanet.potential import AreaNetCalculator
from areanet.training.cli import main as cli_main
from areanet.training.errors import UserError
from areanet.training.evaluation.thermal import bte
from areanet.training.evaluation.thermal.green_kubo import GreenKuboSettings, green_kubo
from areanet.training.evaluation.validate.phonons import model_phonons

EXTEP = ROOT / "models" / "hbn-extep.pt"
PBE = ROOT / "models" / "hbn-pbe.pt"

pytest.importorskip("phono3py", reason="phono3py (areanet[thermal]) is not installed: pip install -e '.[thermal]'")


def test_natural_boron_mass_variance():
    assert bte.mass_variance(bte.B_NATURAL) == pytest.approx(1.35e-3, rel=0.01)
    assert bte.mass_variance(bte.N_NATURAL) == pytest.approx(1.9e-5, rel=0.05)


def test_phono3py_harmonic_frequencies_equal_validate_phonons(tmp_path):
    settings = bte.BTESettings(model=str(EXTEP), fc2_supercell=6, fc3_supercell=4, cutoffs=[2.0], meshes=[8],
                               displacement=0.01, lbte=False, height=12.0)
    forces, energy, _ = bte.force_function(settings.model)
    a = bte.minimum_lattice_constant(energy, tol=1e-5)
    assert 2.49 < a < 2.52  # the ExTeP-fitted model's minimum (ExTeP: 2.505 Å)
    ph3 = bte.phono3py_object(settings, a)
    bte.compute_fc2(ph3, settings, forces)

    reference = model_phonons(AreaNetCalculator(str(EXTEP)), a, 6, tmp_path, npoints=61)
    x, ticks = np.array(reference["x"]), reference["ticks"]
    prim = bte.primitive(a, 12.0)
    special = prim.cell.bandpath("GMKG").special_points
    qpoints = [special["G"], special["M"], special["K"]]
    ours = bte.harmonic_frequencies_cm1(ph3, qpoints)
    for k, name in enumerate("GMK"):
        index = int(np.argmin(np.abs(x - ticks[k])))
        theirs = np.sort(np.array(reference["frequencies_cm1"][index]))
        mine = np.sort(ours[k])
        assert np.abs(mine - theirs).max() < 1.0, f"{name}: phono3py {mine} vs validate {theirs} cm⁻¹"
    assert ours[0][-1] > 1000  # Γ optical modes are there (not a trivial zero)

    # a small κ: isotropic, positive, isotopes lower it
    bte.compute_fc3(ph3, settings, 2.0, forces)
    natural = bte.kappa(ph3, settings, 8, pure_b11=False)["rta"]
    pure = bte.kappa(ph3, settings, 8, pure_b11=True)["rta"]
    assert natural[0] > 0 and natural[0] == pytest.approx(natural[1], rel=1e-6)
    assert pure[0] > natural[0]


def test_green_kubo_command(tmp_path, capsys):
    plugin_library()
    out = tmp_path / "gk"
    code = cli_main(["thermal", "green-kubo", str(EXTEP), "--out", str(out), "--runs", "2", "--nx", "4", "--ny", "3",
                     "--equil-ps", "0.2", "--run-ps", "0.6", "--corr-ps", "0.2", "--quiet"])
    assert code == 0
    result = json.loads((out / "green_kubo.json").read_text())
    assert len(result["runs"]) == 2 and result["atoms"] == 48
    for run in result["runs"]:
        # κ(t_max) from the correlation file = the input's trap() (printed to 6 digits)
        assert run["kxx"][-1] == pytest.approx(run["kappa_lammps"][0], rel=1e-4, abs=1e-3)
        assert run["kyy"][-1] == pytest.approx(run["kappa_lammps"][1], rel=1e-4, abs=1e-3)
        assert run["kxx"][0] == 0.0 and run["jxjx"][0] > 0 and run["jyjy"][0] > 0  # <J_a(0)²> > 0
    mean, err = result["kappa_xx"]
    assert mean == pytest.approx(np.mean([r["kxx"][-1] for r in result["runs"]]))
    assert err > 0
    assert (out / "green_kubo.png").stat().st_size > 10000
    assert "κ_xx (zigzag)" in (out / "green_kubo.md").read_text()
    assert "κ_xx (zigzag)" in capsys.readouterr().out
    # the same command again reads the finished runs back (an interrupted study resumes)
    assert cli_main(["thermal", "green-kubo", str(EXTEP), "--out", str(out), "--runs", "2", "--nx", "4", "--ny", "3",
                     "--equil-ps", "0.2", "--run-ps", "0.6", "--corr-ps", "0.2", "--quiet"]) == 0
    again = json.loads((out / "green_kubo.json").read_text())
    assert again["kappa_xx"] == result["kappa_xx"] and all(r["wall_s"] is None for r in again["runs"])


def test_green_kubo_refuses_a_charged_model(tmp_path):
    plugin_library()
    settings = GreenKuboSettings(model=str(PBE), nx=4, ny=3, lattice_constant=2.5198, equil=10, steps=40, every=2,
                                 corr=10, runs=2)
    with pytest.raises(UserError, match="centroid/stress/atom.*charged model.*heat current"):
        green_kubo(settings, tmp_path / "gk", quiet=True)
