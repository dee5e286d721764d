"""`areanet evaluate`: files, keys, tables and figures, on predictions injected by hand."""
import json
import math
import sys
import types
import zipfile

import numpy as np
import pytest
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator

from areanet.training import cli
from areanet.training.errors import UserError
from areanet.training.scoring.evaluate import (
    evaluate_predictions,
    format_table,
    model_centers,
)

REQUIRED = [
    "n_structures", "energy_rmse_ev", "energy_per_atom_rmse_mev", "energy_mape",
    "force_rmse_x", "force_rmse_y", "force_rmse_z", "force_x_mape", "force_y_mape",
    "force_z_mape", "force_magnitude_rmse", "force_magnitude_mape", "force_angle_mae_deg",
    "n_force_excluded",
]


def make_structures(strengths=(1.0, 1.0, 3.0, 6.0), n_cells=2, seed=0):
    """Small B/N cells with a flat sheet's forces (z = 0) and known energies."""
    rng = np.random.default_rng(seed)
    out = []
    for s in strengths:
        n = 4 * n_cells
        atoms = Atoms(["B", "N"] * (n // 2), positions=rng.uniform(0, 5, size=(n, 3)),
                      cell=[10, 10, 10], pbc=True)
        forces = np.zeros((n, 3))
        forces[:, :2] = rng.normal(scale=1.0, size=(n, 2))
        atoms.calc = SinglePointCalculator(atoms, energy=-8.0 * n + rng.normal(), forces=forces)
        atoms.info["perturb_strength_pct"] = s
        out.append(atoms)
    return out


def exact_plus(structures, de=0.0, df=(0.0, 0.0, 0.0)):
    return [(a.get_potential_energy() + de, a.get_forces() + np.asarray(df)) for a in structures]


def test_evaluate_predictions_writes_files_with_the_right_keys(tmp_path):
    structures = make_structures()
    n = len(structures[0])
    # every structure 0.08 eV too high (8 atoms: 10 meV/atom), forces 0.1 eV/Å off in x
    preds = exact_plus(structures, de=0.08, df=(0.1, 0.0, 0.0))
    result = evaluate_predictions(structures, preds, tmp_path / "out", title="test model",
                                  extra={"model": "m.pt", "data": ["d.extxyz"]})

    saved = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert saved == result
    assert saved["model"] == "m.pt"
    for block in ("all", "B", "N"):
        for key in REQUIRED:
            assert key in saved[block], (block, key)
    assert saved["all"]["n_structures"] == 4
    assert saved["all"]["energy_rmse_ev"] == pytest.approx(0.08)
    assert saved["all"]["energy_per_atom_rmse_mev"] == pytest.approx(1000 * 0.08 / n)
    assert saved["all"]["force_rmse_x"] == pytest.approx(0.1)
    assert saved["all"]["force_rmse_y"] == pytest.approx(0.0)
    assert saved["B"]["n_force_atoms"] == saved["N"]["n_force_atoms"] == 2 * n
    assert saved["all"]["force_z_mape"] is None  # every z reference is zero: null, not NaN
    assert saved["settings"]["train_range_pct"] == [1.0, 5.0]

    levels = saved["by_strength"]
    assert [lv["strength_pct"] for lv in levels] == [1.0, 3.0, 6.0]
    assert [lv["n_structures"] for lv in levels] == [2, 1, 1]
    assert [lv["in_training_range"] for lv in levels] == [True, True, False]
    assert levels[0]["energy_per_atom_rmse_mev"] == pytest.approx(1000 * 0.08 / n)

    md = (tmp_path / "out" / "metrics.md").read_text()
    assert "| RMSE of energy per atom (meV) |" in md
    assert "\\|F\\| RMSE" in md  # pipes inside cells are escaped
    for name in ("parity.png", "strength.png"):
        png = tmp_path / "out" / name
        assert png.stat().st_size > 10_000
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert saved["figures"] == ["parity.png", "strength.png"]

    table = format_table(result)
    lines = table.splitlines()
    assert lines[0].split() == ["Metric", "all", "atoms", "B", "atoms", "N", "atoms"]
    row = next(line for line in lines if line.startswith("RMSE of energy per atom"))
    assert row.split()[-3:] == [f"{1000 * 0.08 / n:.6f}"] * 3
    assert "Errors by perturbation strength" in table


def test_direct_force_mask_and_species_mask(tmp_path):
    structures = make_structures(strengths=(2.0, 2.0))
    preds = []
    for a in structures:
        forces = a.get_forces().copy()
        is_n = np.array(a.get_chemical_symbols()) == "N"
        forces[is_n, 0] += 0.2      # N forces off by 0.2 in x
        forces[~is_n] = np.nan      # a direct N-centred model predicts no B forces
        preds.append((a.get_potential_energy(), forces, is_n))
    result = evaluate_predictions(structures, preds, tmp_path, plots=False)
    assert result["all"]["n_force_atoms"] == result["N"]["n_force_atoms"] == 8
    assert result["B"]["n_force_atoms"] == 0
    assert result["B"]["force_rmse_x"] is None
    assert result["all"]["force_rmse_x"] == pytest.approx(0.2)
    assert result["figures"] == []
    assert "—" in format_table(result)

    # the paper's "force on centre atom": --species-mask N on a conservative model
    exact = exact_plus(structures, df=(0.0, 0.3, 0.0))
    masked = evaluate_predictions(structures, exact, tmp_path, plots=False, species_mask="N")
    assert masked["all"]["n_force_atoms"] == 8
    assert masked["settings"]["species_mask"] == "N"
    assert masked["by_strength"][0]["n_force_atoms"] == 8


def test_zero_force_atoms_reported(tmp_path):
    structures = make_structures(strengths=(0.0,))
    structures[0].calc.results["forces"][:] = 0.0  # the relaxed cell
    preds = exact_plus(structures, df=(0.01, 0.0, 0.0))
    result = evaluate_predictions(structures, preds, tmp_path, plots=False)
    assert result["all"]["n_force_excluded"] == 8
    assert result["all"]["force_angle_mae_deg"] is None
    assert result["by_strength"][0]["in_training_range"] is False


def test_bad_predictions_are_clear_errors(tmp_path):
    structures = make_structures(strengths=(1.0, 2.0))
    preds = exact_plus(structures)
    with pytest.raises(UserError, match="1 predictions for 2 structures"):
        evaluate_predictions(structures, preds[:1], tmp_path, plots=False)
    bad = [preds[0], (preds[1][0], preds[1][1][:3])]
    with pytest.raises(UserError, match=r"structure 1: predicted forces have shape \(3, 3\)"):
        evaluate_predictions(structures, bad, tmp_path, plots=False)
    nan = [preds[0], (preds[1][0], np.full((8, 3), np.nan))]
    with pytest.raises(UserError, match="structure 1: non-finite predicted force on atom 0"):
        evaluate_predictions(structures, nan, tmp_path, plots=False)
    with pytest.raises(UserError, match="LO < HI"):
        evaluate_predictions(structures, preds, tmp_path, plots=False, train_range=(5, 1))
    with pytest.raises(UserError, match="no C atoms"):
        evaluate_predictions(structures, preds, tmp_path, plots=False, species_mask="C")


def test_structures_without_strength_have_no_curve(tmp_path):
    structures = make_structures(strengths=(1.0, 2.0))
    for a in structures:
        del a.info["perturb_strength_pct"]
    result = evaluate_predictions(structures, exact_plus(structures, de=0.01), tmp_path,
                                  plots=False)
    assert result["by_strength"] == []
    assert "Errors by perturbation strength" not in format_table(result)


def test_cli_evaluate(tmp_path, monkeypatch, capsys):
    structures = make_structures()
    model = tmp_path / "model.pt"
    model.write_bytes(b"not read: predict is replaced below")
    data = tmp_path / "test.extxyz"
    data.write_text("")

    fake_data = types.ModuleType("areanet.training.data.structures")
    fake_data.read_structures = lambda paths: structures
    fake_predict = types.ModuleType("areanet.training.fit.predict")
    fake_predict.predict = lambda path, structs: exact_plus(structs, de=0.016)
    monkeypatch.setitem(sys.modules, "areanet.training.data.structures", fake_data)
    monkeypatch.setitem(sys.modules, "areanet.training.fit.predict", fake_predict)

    out = tmp_path / "eval"
    rc = cli.main(["evaluate", str(model), str(data), "--out", str(out),
                   "--train-range", "1", "4", "--species-mask", "B", "--no-plots"])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "RMSE of energy per atom (meV)" in printed and "2.000000" in printed
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["model"] == str(model) and saved["data"] == [str(data)]
    assert saved["settings"]["train_range_pct"] == [1.0, 4.0]
    assert saved["all"]["n_force_atoms"] == 16  # B atoms only
    assert [lv["in_training_range"] for lv in saved["by_strength"]] == [True, True, False]

    # bad input: one line on stderr, exit code 2
    assert cli.main(["evaluate", str(tmp_path / "missing.pt"), str(data), "--out", str(out)]) == 2
    assert "model file" in capsys.readouterr().err
    assert cli.main(["evaluate", str(model), str(tmp_path / "nope.xyz"), "--out", str(out)]) == 2
    assert cli.main(["evaluate", str(model), str(data), "--out", str(out),
                     "--train-range", "5", "1"]) == 2
    # the bare flag needs the model's centre species: not in this fake file
    assert cli.main(["evaluate", str(model), str(data), "--out", str(out),
                     "--species-mask"]) == 2
    assert "cannot tell the centre species" in capsys.readouterr().err


def test_model_centers_from_extra_files_and_checkpoints(tmp_path):
    scripted = tmp_path / "model.pt"
    with zipfile.ZipFile(scripted, "w") as zf:
        zf.writestr("model/data.pkl", b"")
        zf.writestr("model/extra/metadata.json",
                    json.dumps({"species": ["B", "N"], "config": {"centers": "N"}}))
    assert model_centers(scripted) == "N"

    torch = pytest.importorskip("torch")
    ckpt = tmp_path / "best.ckpt"
    torch.save({"model_config": {"order": "high", "centers": "both"}, "state": {}}, ckpt)
    assert model_centers(ckpt) == "both"
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"neither")
    assert model_centers(junk) is None
