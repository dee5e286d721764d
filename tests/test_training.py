"""Training, resume, export and evaluation end to end on small ExTeP data."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from areanet.training.cli import main

from areanet.training.errors import UserError
from areanet.training.fit.config import TrainConfig
from areanet.training.data.generate import generate, write_frames
from areanet.training.fit.checkpoint import load_checkpoint
from areanet.training.fit.train import train

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def extep_data(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "extep.extxyz"
    write_frames(generate("paper", "extep", per_level=3, seed=11, show_progress=False), path)
    return path


def config(data, **overrides):
    values = dict(data=[str(data)], epochs=3, batch_size=4, dims=2, lr=5e-3, seed=3, threads=1)
    values.update(overrides)
    return TrainConfig.from_dict(values)


def test_short_training_learns_forces(extep_data, tmp_path):
    summary = train(config(extep_data, epochs=12, batch_size=2), tmp_path / "run", quiet=True)
    from ase.io import read

    spread = np.concatenate([a.get_forces().ravel() for a in read(extep_data, ":")]).std()
    test = summary["test"]["all"]
    rmse = np.sqrt(np.mean([test[f"force_rmse_{c}"] ** 2 for c in "xy"]))
    assert rmse < 0.15 * spread, (rmse, spread)
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert history[-1]["val_force_rmse"] < 0.5 * history[0]["val_force_rmse"]
    assert (tmp_path / "run" / "config.toml").read_text().startswith("data = [")
    assert (tmp_path / "run" / "test" / "metrics.json").is_file()


def test_resume_continues_exactly(extep_data, tmp_path, monkeypatch):
    import areanet.training.fit.train as train_module

    straight = tmp_path / "straight"
    train(config(extep_data), straight, quiet=True)
    interrupted = tmp_path / "interrupted"
    real_evaluate, calls = train_module.evaluate_split, []

    def interrupt_in_third_epoch(*args, **kwargs):  # Ctrl-C arrives during epoch 3
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_evaluate(*args, **kwargs)

    monkeypatch.setattr(train_module, "evaluate_split", interrupt_in_third_epoch)
    with pytest.raises(KeyboardInterrupt):
        train(config(extep_data), interrupted, quiet=True)
    monkeypatch.setattr(train_module, "evaluate_split", real_evaluate)
    assert load_checkpoint(interrupted / "last.pt")["epoch"] == 1  # two epochs were saved
    with pytest.raises(UserError, match="--resume"):
        train(config(extep_data), interrupted, quiet=True)
    train(config(extep_data), interrupted, resume=True, quiet=True)
    a, b = load_checkpoint(straight / "last.pt"), load_checkpoint(interrupted / "last.pt")
    assert a["epoch"] == b["epoch"] == 2 and len(b["history"]) == 3
    for key, value in a["state_dict"].items():
        assert torch.allclose(value, b["state_dict"][key], rtol=0, atol=1e-10), key


def test_direct_force_mode_trains_but_does_not_export(extep_data, tmp_path, capsys):
    train(config(extep_data, forces="direct", centers="N", epochs=2), tmp_path / "direct", quiet=True)
    assert main(["export", str(tmp_path / "direct" / "best.pt"), "-o", str(tmp_path / "d.pt")]) == 2
    assert "non-conservative" in capsys.readouterr().err
    assert not (tmp_path / "d.pt").exists()
    # evaluation counts only the centre atoms' forces: the direct head predicts nothing else
    assert main(["evaluate", str(tmp_path / "direct" / "best.pt"), str(extep_data),
                 "--out", str(tmp_path / "ev"), "--no-plots"]) == 0
    metrics = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert metrics["N"]["n_force_atoms"] == 30 * metrics["all"]["n_structures"]


def test_export_then_evaluate(extep_data, tmp_path):
    run = tmp_path / "run"
    assert main(["train", "--set", f"data=['{extep_data}']", "--set", "epochs=2", "--set", "dims=2",
                 "--set", "threads=1", "--out", str(run), "--quiet"]) == 0
    assert main(["export", str(run / "best.pt"), "-o", str(tmp_path / "m.pt")]) == 0
    from areanet.potential import read_metadata

    meta = read_metadata(tmp_path / "m.pt")
    assert meta["species"] == ["B", "N"] and meta["units"] == "metal" and meta["dims"] == 2
    assert len(meta["data_hash"]) == 64 and "force_magnitude_rmse" in meta["test_metrics"]["all"]
    for model in (run / "best.pt", tmp_path / "m.pt"):
        out = tmp_path / f"ev-{model.suffix}-{model.stem}"
        assert main(["evaluate", str(model), str(extep_data), "--out", str(out)]) == 0
        metrics = json.loads((out / "metrics.json").read_text())
        assert metrics["all"]["n_structures"] == 63 and (out / "parity.png").stat().st_size > 10_000
    n_test = len(load_checkpoint(run / "best.pt")["splits"]["test"])
    assert main(["evaluate", str(tmp_path / "m.pt"), "--split", "test", "--run", str(run / "best.pt"),
                 "--set", "inplane", "--out", str(tmp_path / "ev-split"), "--no-plots"]) == 0
    assert json.loads((tmp_path / "ev-split" / "metrics.json").read_text())["all"]["n_structures"] == n_test
    first = json.loads((tmp_path / "ev-.pt-best" / "metrics.json").read_text())["all"]
    second = json.loads((tmp_path / "ev-.pt-m" / "metrics.json").read_text())["all"]
    assert first["force_rmse_x"] == pytest.approx(second["force_rmse_x"], rel=1e-9)


def test_config_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('epochz = 3\n')
    with pytest.raises(UserError, match=r"unknown key\(s\) \['epochz'\]"):
        TrainConfig.load(bad)
    with pytest.raises(UserError, match="order"):
        TrainConfig.from_dict({"data": ["x"], "order": "medium"}).check()
    with pytest.raises(UserError, match="expected a number"):
        TrainConfig.load(None, ["epochs=many"])
    cfg = TrainConfig.load(None, ["epochs=7", "data=['a.xyz']", "order=low"])
    assert (cfg.epochs, cfg.data, cfg.order) == (7, ["a.xyz"], "low")


@pytest.mark.parametrize("dims,order", [(2, "high"), (3, "high"), (3, "low")])
def test_training_forces_and_their_parameter_gradients_equal_autograd(extep_data, dims, order):
    """The training path (the MLP's input gradient by hand) = plain double autograd."""
    from ase.io import read

    from areanet.potential.model import AreaNet
    from areanet.training.fit.dataset import attach_geometry, collate, fit_statistics, predict_batch, prepare

    torch.manual_seed(5)
    structures = read(REPO / "data" / "hbn_pbe_3d.extxyz.gz", ":4")  # out-of-plane motion too
    model = AreaNet(config(extep_data, dims=dims, order=order).model_config())
    items = prepare(model, structures)
    fit_statistics(model, items)
    batch = collate(items)
    params = list(model.parameters())

    energy, forces, _ = predict_batch(model, batch, create_graph=True)
    grads = torch.autograd.grad(energy.sum() + forces.pow(2).sum(), params)
    attach_geometry(model, items)  # precomputed features and Jacobians: the same numbers
    precomputed = collate(items)
    assert precomputed.geometry is not None and batch.geometry is None
    energy_pre, forces_pre, _ = predict_batch(model, precomputed, create_graph=True)
    grads_pre = torch.autograd.grad(energy_pre.sum() + forces_pre.pow(2).sum(), params)

    vertices = batch.vertices.detach().requires_grad_(True)
    sub_energy, _ = model.element_outputs(vertices, batch.centre_spec)  # nn.Sequential, autograd
    energy_ref = torch.zeros_like(energy).index_add(0, batch.centre_structure, sub_energy)
    (dvert,) = torch.autograd.grad(energy_ref.sum(), vertices, create_graph=True)
    forces_ref = torch.zeros_like(forces).index_add(0, batch.centre_atom, dvert.sum(1))
    forces_ref = forces_ref.index_add(0, batch.vertex_atom.reshape(-1), -dvert.reshape(-1, 3))
    grads_ref = torch.autograd.grad(energy_ref.sum() + forces_ref.pow(2).sum(), params)

    assert torch.allclose(energy, energy_ref, rtol=1e-13, atol=0)
    assert torch.allclose(forces, forces_ref, rtol=0, atol=1e-12)
    # centres in atom order (as the exported contract has them) give the same rows
    features = model.features(batch.vertices)
    order = torch.randperm(len(features), generator=torch.Generator().manual_seed(2))
    e_sorted, g_sorted = model.energy_and_feature_grad(features, batch.centre_spec, True)
    e_perm, g_perm = model.energy_and_feature_grad(features[order], batch.centre_spec[order], True)
    assert torch.equal(e_perm, e_sorted[order]) and torch.equal(g_perm, g_sorted[order])
    assert torch.allclose(energy_pre, energy_ref, rtol=1e-13, atol=0)
    assert torch.allclose(forces_pre, forces_ref, rtol=0, atol=1e-12)
    for g, g_pre, g_ref in zip(grads, grads_pre, grads_ref):
        assert torch.allclose(g, g_ref, rtol=1e-10, atol=1e-12 * float(g_ref.abs().max()))
        assert torch.allclose(g_pre, g_ref, rtol=1e-10, atol=1e-12 * float(g_ref.abs().max()))


def test_float32_training_saves_float64_models_and_resumes(extep_data, tmp_path):
    from areanet.training.fit.checkpoint import model_from_checkpoint

    run = tmp_path / "f32"
    summary64 = train(config(extep_data, epochs=3), tmp_path / "f64", quiet=True)
    summary = train(config(extep_data, epochs=2, precision="float32"), run, quiet=True)
    payload = load_checkpoint(run / "last.pt")
    assert payload["state_dict"]["mlps.0.0.weight"].dtype == torch.float32
    model = model_from_checkpoint(payload)
    assert all(p.dtype == torch.float64 for p in model.parameters())
    summary = train(config(extep_data, epochs=3, precision="float32"), run, resume=True, quiet=True)
    # optimiser trajectories part (Adam amplifies rounding), the fits are alike
    f32, f64 = summary["test"]["all"]["force_rmse_x"], summary64["test"]["all"]["force_rmse_x"]
    assert f32 == pytest.approx(f64, rel=0.25)
    # the same weights in float32 and float64 arithmetic agree to float32 precision
    from ase.io import read

    from areanet.training.fit.dataset import collate, predict_batch, prepare

    batch = collate(prepare(model, read(extep_data, ":4")))
    e64, f64_, _ = predict_batch(model, batch)
    model.mlps.float()
    e32, f32_, _ = predict_batch(model, batch)
    assert float((e32 - e64).abs().max()) < 1e-5 * 60  # eV: well below 1e-3 meV/atom
    assert float((f32_ - f64_).abs().max()) < 1e-5 * float(f64_.abs().max())
    with pytest.raises(UserError, match="precision"):
        TrainConfig.from_dict({"data": ["x"], "precision": "half"}).check()


def test_train_only_data_joins_training_and_keeps_the_other_splits(extep_data, tmp_path):
    from areanet.training.evaluation.validate.accuracy import test_structures

    extra = tmp_path / "extra.extxyz"
    write_frames(generate("3d", "extep", per_level=1, seed=5, show_progress=False)[:4], extra)
    plain = train(config(extep_data, epochs=1), tmp_path / "plain", quiet=True)
    grown = train(config(extep_data, epochs=1, train_only_data=[str(extra)]), tmp_path / "grown", quiet=True)
    a, b = load_checkpoint(tmp_path / "plain" / "best.pt"), load_checkpoint(tmp_path / "grown" / "best.pt")
    n = a["n_structures"]
    assert b["n_structures"] == n + 4
    assert b["splits"]["val"] == a["splits"]["val"] and b["splits"]["test"] == a["splits"]["test"]
    assert b["splits"]["train"] == a["splits"]["train"] + [n, n + 1, n + 2, n + 3]
    assert plain["data_hash"] != grown["data_hash"]
    # an exported model's test split is rebuilt from its config: the same frames again
    assert main(["export", str(tmp_path / "grown" / "best.pt"), "-o", str(tmp_path / "g.pt")]) == 0
    chosen, how = test_structures(tmp_path / "g.pt")
    assert "rebuilt" in how and len(chosen) == len(a["splits"]["test"])
