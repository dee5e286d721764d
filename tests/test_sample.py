"""`areanet data sample`: MD with one model, keep the snapshots an ensemble disagrees on most."""
from pathlib import Path

import ase.io
import numpy as np
import pytest
import torch

from areanet.potential import AreaNet, AreaNetCalculator, ModelConfig, export_model
from areanet.training.cli import main
from areanet.training.data.sheets import perfect_sheet
from areanet.training.sampling.sample import SampleSettings, min_distance, sample_snapshots
from areanet.training.fit.checkpoint import CHECKPOINT_KIND

from conftest import random_model

ROOT = Path(__file__).resolve().parents[1]
PBE, EXTEP = ROOT / "models" / "hbn-pbe.pt", ROOT / "models" / "hbn-extep.pt"
pytestmark = pytest.mark.skipif(not (PBE.is_file() and EXTEP.is_file()),
                                reason="models/hbn-pbe.pt and models/hbn-extep.pt are needed")

FAST = ["--steps", "40", "--interval", "5"]  # 36 equilibrated steps: snapshots 5, 10, ..., 40
SETTINGS = SampleSettings(steps=40, interval=5, select=6)  # the defaults' 300 and 1000 K
INFO_KEYS = {"set", "temperature_K", "step", "disagreement_ev_per_a", "model"}


def _sample(tmp_path, name, *extra):
    out = tmp_path / name
    assert main(["data", "sample", str(PBE), str(EXTEP), "--out", str(out), "--quiet", *extra]) == 0
    return out


@pytest.fixture(scope="module")
def snapshots():
    return sample_snapshots([PBE, EXTEP], SETTINGS, show_progress=False)


@pytest.fixture(scope="module")
def selected_file(tmp_path_factory):
    return _sample(tmp_path_factory.mktemp("sample"), "cand.extxyz", *FAST, "--select", "6")


def _independent_disagreement(atoms) -> float:
    """Force spread of the two models, each through its own ASE calculator."""
    forces = []
    for model in (PBE, EXTEP):
        probe = atoms.copy()
        probe.calc = AreaNetCalculator(str(model))
        forces.append(probe.get_forces())
    variance = np.var(np.stack(forces), axis=0).sum(axis=1)  # [n]: mean over models of |ΔF|²
    return float(np.sqrt(variance).max())


def test_output_frames_and_info(selected_file):
    frames = ase.io.read(selected_file, ":")
    assert len(frames) == 6
    assert [f.info["set"] for f in frames] == ["md300"] * 3 + ["md1000"] * 3
    sheet = perfect_sheet(2.5198)
    for atoms in frames:
        assert INFO_KEYS <= set(atoms.info)
        assert atoms.info["model"] == "hbn-pbe.pt"
        assert atoms.info["temperature_K"] == {"md300": 300.0, "md1000": 1000.0}[atoms.info["set"]]
        assert atoms.info["step"] in range(5, 41, 5)
        assert atoms.info["disagreement_ev_per_a"] > 0
        assert atoms.calc is None and "forces" not in atoms.arrays  # unlabelled candidates
        assert "momenta" not in atoms.arrays
        assert atoms.get_chemical_symbols() == sheet.get_chemical_symbols()
        np.testing.assert_allclose(atoms.cell.array, sheet.cell.array)
        assert atoms.pbc.all()
        assert not np.allclose(atoms.positions, sheet.positions, atol=1e-3)  # it moved


def test_disagreement_and_selection_are_the_top_of_all_snapshots(snapshots, selected_file):
    assert [(s.temperature_K, s.step) for s in snapshots] == \
        [(t, step) for t in (300.0, 1000.0) for step in range(5, 41, 5)]
    recomputed = {(s.temperature_K, s.step): _independent_disagreement(s.atoms) for s in snapshots}
    for snap in snapshots:
        assert snap.disagreement == pytest.approx(recomputed[snap.temperature_K, snap.step],
                                                  rel=1e-9, abs=1e-12)
    by_position = {(s.temperature_K, s.step): s.atoms.positions for s in snapshots}

    frames = ase.io.read(selected_file, ":")
    for t in (300.0, 1000.0):
        mine = {k: v for k, v in recomputed.items() if k[0] == t}
        expected = sorted(mine, key=mine.get, reverse=True)[:3]
        # the top three are neither the first nor the last steps: a selection by step fails
        assert sorted(s for _, s in expected) not in ([5, 10, 15], [30, 35, 40])
        got = [(f.info["temperature_K"], f.info["step"]) for f in frames
               if f.info["temperature_K"] == t]
        assert got == expected  # most disagreeing first
        for f in frames:
            key = (f.info["temperature_K"], f.info["step"])
            if key[0] == t:
                assert f.info["disagreement_ev_per_a"] == pytest.approx(recomputed[key], rel=1e-9)
                np.testing.assert_allclose(f.positions, by_position[key], atol=1e-8)


def test_same_seed_same_output_other_seed_other_output(tmp_path):
    args = ["--temperature", "500", "--steps", "10", "--interval", "5", "--select", "2"]
    torch.set_num_threads(2)  # left alone without --threads
    try:
        a = _sample(tmp_path, "a.extxyz.gz", *args)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(1)
    b = _sample(tmp_path, "b.extxyz.gz", *args)
    c = _sample(tmp_path, "c.extxyz.gz", *args, "--seed", "1")
    assert a.read_bytes() == b.read_bytes()
    fa, fc = ase.io.read(a, ":"), ase.io.read(c, ":")
    assert len(fa) == len(fc) == 2 and {f.info["set"] for f in fa} == {"md500"}
    assert not np.allclose(fa[0].positions, fc[0].positions)


def test_a_checkpoint_joins_the_ensemble(tmp_path):
    model = random_model()
    ckpt = tmp_path / "best.pt"
    torch.save({"kind": CHECKPOINT_KIND, "model_config": model.config.to_dict(),
                "state_dict": model.state_dict()}, ckpt)
    out = tmp_path / "x.extxyz"
    assert main(["data", "sample", str(PBE), str(ckpt), "--out", str(out), "--quiet",
                 "--temperature", "300", "--steps", "10", "--interval", "5", "--select", "1"]) == 0
    (frame,) = ase.io.read(out, ":")
    expected = _disagreement_with(frame, AreaNetCalculator(str(PBE)),
                                  AreaNetCalculator(export_model(model, tmp_path / "m.pt")))
    # the file keeps positions to 1e-8 Å, so the recomputed value agrees to ~1e-8 only
    assert frame.info["disagreement_ev_per_a"] == pytest.approx(expected, rel=1e-6)


def _disagreement_with(atoms, *calcs) -> float:
    forces = []
    for calc in calcs:
        probe = atoms.copy()
        probe.calc = calc
        forces.append(probe.get_forces())
    return float(np.sqrt(np.var(np.stack(forces), axis=0).sum(axis=1)).max())


def test_min_distance_uses_the_nearest_image():
    atoms = perfect_sheet(2.5198)
    assert min_distance(atoms)[0] == pytest.approx(2.5198 / np.sqrt(3))
    atoms.positions[7] = atoms.positions[0] + [atoms.cell[0, 0] - 0.5, 0.0, 0.0]  # 0.5 Å via x
    dist, i, j = min_distance(atoms)
    assert dist == pytest.approx(0.5) and {i, j} == {0, 7}


@pytest.fixture(scope="module")
def other_species_model(tmp_path_factory):
    return export_model(AreaNet(ModelConfig(species=["B", "C"])),
                        tmp_path_factory.mktemp("bc") / "bc.pt")


@pytest.fixture(scope="module")
def direct_checkpoint(tmp_path_factory):
    model = random_model(forces="direct")
    path = tmp_path_factory.mktemp("direct") / "best.pt"
    torch.save({"kind": CHECKPOINT_KIND, "model_config": model.config.to_dict(),
                "state_dict": model.state_dict()}, path)
    return path


@pytest.mark.parametrize("case, extra, needle", [
    ("single", ["--steps", "10"], "at least two models"),
    ("missing", [], "missing.pt"),
    ("junk", [], "junk.pt"),
    ("species", [], "same species"),
    ("direct", [], "direct-force"),
    ("pair", ["--select", "0"], "--select must be at least 1"),
    ("pair", ["--steps", "0"], "--steps must be at least 1"),
    ("pair", ["--interval", "0"], "--interval must be at least 1"),
    ("pair", ["--temperature", "0"], "above 0 K"),
    ("pair", ["--temperature", "300", "-5"], "above 0 K"),
    ("pair", ["--threads", "0"], "--threads must be at least 1"),
    ("pair", ["--steps", "10", "--interval", "20"], "store 0 snapshot(s)"),
    ("pair", ["--repeat", "0", "3"], "--repeat"),
    ("badout", [], "extended XYZ"),
    # 10 fs at 3000 K: the sheet is torn apart within the first step
    ("pair", ["--temperature", "3000", "--timestep", "10", "--steps", "100", "--select", "1"],
     "3000 K, step 1:"),
])
def test_errors_are_one_line(case, extra, needle, tmp_path, capsys, other_species_model,
                             direct_checkpoint):
    junk = tmp_path / "junk.pt"
    junk.write_text("not a model\n")
    models = {"single": [PBE], "missing": [PBE, tmp_path / "missing.pt"], "junk": [PBE, junk],
              "species": [PBE, other_species_model], "direct": [PBE, direct_checkpoint]}
    out = tmp_path / ("cand.txt" if case == "badout" else "cand.extxyz")
    argv = ["data", "sample", *map(str, models.get(case, [PBE, EXTEP])), "--out", str(out),
            "--quiet", *extra]
    assert main(argv) != 0
    err = capsys.readouterr().err.strip().splitlines()
    # one line of error, after at most the banner of a run that had started
    assert all(line.startswith("sampling: ") for line in err[:-1]) and len(err) <= 2, err
    assert err[-1].startswith("areanet data: error:") and needle in err[-1], err
    assert not out.exists()


def test_atoms_too_close_stop_the_run(tmp_path, capsys, monkeypatch):
    import areanet.training.sampling.sample as sample

    monkeypatch.setattr(sample, "MIN_DISTANCE", 1.5)  # above the 1.45 Å bond: trips at once
    out = tmp_path / "cand.extxyz"
    assert main(["data", "sample", str(PBE), str(EXTEP), "--out", str(out), "--quiet",
                 "--temperature", "300", "--steps", "10", "--interval", "5", "--select", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "MD at 300 K, step 1: atoms" in err and "Å apart (< 1.5 Å)" in err, err
    assert not out.exists()


def test_a_breakdown_keeps_the_snapshots_stored_before_it(tmp_path, capsys, monkeypatch):
    import areanet.training.sampling.sample as sample

    nearest = sample.min_distance
    calls = {"n": 0}

    def breaks_at_step_23(atoms):  # called once per MD step: the MD "blows up" at step 23
        calls["n"] += 1
        return (0.5, 3, 4) if calls["n"] == 23 else nearest(atoms)

    monkeypatch.setattr(sample, "min_distance", breaks_at_step_23)
    out = tmp_path / "cand.extxyz"
    assert main(["data", "sample", str(PBE), str(EXTEP), "--out", str(out), "--quiet",
                 "--temperature", "300", *FAST, "--select", "8"]) == 0
    err = capsys.readouterr().err
    assert "warning: MD at 300 K, step 23: atoms 3 and 4 are 0.50 Å apart" in err, err
    assert "Kept the 4 snapshot(s) stored before it" in err, err
    frames = ase.io.read(out, ":")
    assert sorted(a.info["step"] for a in frames) == [5, 10, 15, 20]


def test_strained_cell(tmp_path):
    out = _sample(tmp_path, "strained.extxyz", *FAST, "--select", "2", "--strain", "6", "-3", "2")
    frames = ase.io.read(out, ":")
    deform = np.array([[1.06, 0.02], [0.02, 0.97]])
    expected = perfect_sheet(2.5198).cell.array.copy()
    expected[:, :2] = expected[:, :2] @ deform
    for atoms in frames:
        np.testing.assert_allclose(atoms.cell.array, expected, atol=1e-12)
        assert (atoms.info["strain_xx"], atoms.info["strain_yy"], atoms.info["strain_xy"]) == \
            pytest.approx((0.06, -0.03, 0.02))
    unstrained = ase.io.read(_sample(tmp_path, "plain.extxyz", *FAST, "--select", "2"), ":")
    assert "strain_xx" not in unstrained[0].info


def test_strain_out_of_range_is_refused(tmp_path, capsys):
    rc = main(["data", "sample", str(PBE), str(EXTEP), "--out", str(tmp_path / "x.extxyz"),
               "--quiet", *FAST, "--strain", "20", "0", "0"])
    assert rc == 2
    assert "--strain 20 0 0: each component must be within ±15 %" in capsys.readouterr().err
