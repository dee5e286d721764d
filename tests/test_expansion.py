"""The thermal expansion of `areanet validate` (section g), checked on LAMMPS' ExTeP: at 1 K the
NPT lattice constant is the static minimum of the energy (an independent route: no MD, no
barostat), the bonds of a flat cold sheet give the same lattice constant, and α is the secant."""
import math

import numpy as np
import pytest

from areanet.training.data.reference import LammpsReference
from areanet.training.evaluation.thermal.expansion import (format_expansion, npt_lattice,
                                                            production_rows, secant_alpha)
from areanet.training.evaluation.validate.physics import fit_eos


def test_cold_npt_lattice_is_the_static_minimum(tmp_path):
    reference = LammpsReference("extep")
    try:
        a = np.linspace(2.49, 2.52, 7)
        a0 = fit_eos(a, [reference.energy_of_lattice_constant(x) for x in a], 4)["a0"]
    finally:
        reference.close()
    run = npt_lattice("extep", None, 1.0, nx=10, ny=6, steps=3000, workdir=tmp_path, a_start=2.49)
    assert run["T_mean"] < 3.0 and run["atoms"] == 240
    assert run["a"] == pytest.approx(a0, abs=1e-4)  # the barostat found the minimum from 2.49
    assert run["a_x"] == pytest.approx(a0, abs=1e-4) and run["a_y"] == pytest.approx(a0, abs=1e-4)
    assert math.sqrt(3) * run["bond"] == pytest.approx(run["a"], abs=1e-4)  # flat and cold
    assert 0 < run["a_err"] < 1e-4


def test_secant_coefficient_and_its_error():
    lo = {"T_target": 300.0, "a": 2.5, "a_err": 3e-4, "bond": 1.45, "bond_err": 0.0}
    hi = {"T_target": 1000.0, "a": 2.49, "a_err": 4e-4, "bond": 1.46, "bond_err": 0.0}
    alpha, err = secant_alpha(lo, hi)
    assert alpha == pytest.approx(-0.01 / (700 * 2.5))
    assert err == pytest.approx(5e-4 / (700 * 2.5))
    assert secant_alpha(lo, hi, "bond")[0] == pytest.approx(0.01 / (700 * 1.45))


def test_production_rows_read_the_last_run():
    log = ("   Step Temp v_a\n  0 1 2.5\n 10 2 2.6\nLoop time of 1 on 1 procs\n"
           "   Step Temp v_a\n 10 3 2.7\n 20 4 2.8\nWARNING: x\nLoop time of 1 on 1 procs\n")
    rows = production_rows(log)
    np.testing.assert_array_equal(rows["v_a"], [2.7, 2.8])
    np.testing.assert_array_equal(rows["Step"], [10, 20])


def test_report_names_both_potentials_and_the_sign():
    run = lambda t, a: {"T_target": t, "a": a, "a_err": 1e-4, "bond": 1.45, "bond_err": 1e-4}
    res = {"plan": {"nx": 20, "ny": 12, "steps": 20000}}
    for key, a_hi in (("model", 2.51), ("extep", 2.49)):
        runs = [run(300.0, 2.5), run(1000.0, a_hi)]
        alpha, err = secant_alpha(*runs)
        res[key] = {"runs": runs, "alpha": alpha, "alpha_err": err, "alpha_bond": 0.0,
                    "alpha_bond_err": 0.0, "T_range": (300.0, 1000.0), "intervals": []}
    text = "\n".join(format_expansion(res, ""))
    assert "960 atoms" in text and "+5.71 ± 0.08 | -5.71 ± 0.08" in text


def test_command_writes_the_study_and_refuses_bad_input(tmp_path, capsys):
    import json

    from areanet.training.cli import main
    from lammps_helpers import ROOT

    model = ROOT / "models" / "hbn-extep.pt"
    assert main(["thermal", "expansion", str(model), "--out", str(tmp_path), "--nx", "5", "--ny", "3",
                 "--steps", "400", "--temperatures", "1000", "300", "--quiet"]) == 0
    result = json.loads((tmp_path / "expansion.json").read_text())
    assert [r["T_target"] for r in result["model"]["runs"]] == [300.0, 1000.0]  # sorted
    assert result["extep"]["pair"] == "extep" and result["model"]["runs"][0]["atoms"] == 60
    assert (tmp_path / "expansion.png").stat().st_size > 10_000
    assert "| B–N bond length |" in (tmp_path / "expansion.md").read_text()
    for bad, message in ((["--temperatures", "300"], "at least two temperatures"),
                         (["--steps", "10"], "--steps of at least 200")):
        assert main(["thermal", "expansion", str(model), "--out", str(tmp_path), *bad]) == 2
        assert message in capsys.readouterr().err
    assert main(["thermal", "expansion", str(tmp_path / "none.pt"), "--out", str(tmp_path)]) == 2
    assert "no such model file" in capsys.readouterr().err
