"""Smoke tests of `areanet bench md|layers|nve|python|train` on tiny sizes: each runs, prints and
writes its JSON and Markdown. No timing is asserted (benchmarks print figures; they are
never timed tests)."""
import json

import pytest

from areanet.training.cli import main
from lammps_helpers import write_model


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path, _ = write_model(tmp_path_factory.mktemp("bench") / "model.pt", "real")
    return path


def read(out, name):
    result = json.loads((out / f"{name}.json").read_text())
    text = (out / f"{name}.md").read_text()
    assert result["command"].startswith("areanet bench")
    assert "Command: `areanet bench" in text
    return result, text


def test_bench_md(model, plugin, tmp_path, capsys):
    # an untrained model: a few steps only
    assert main(["bench", "md", "--model", str(model), "--plugin", str(plugin), "--sizes", "60",
                 "--ranks", "1,2", "--steps", "4", "--warmup", "1",
                 "--styles", "extep,areanet,areanet-float32,areanet-torchscript",
                 "--out", str(tmp_path), "--name", "md"]) == 0
    result, text = read(tmp_path, "md")
    runs = {(r["style"], r["ranks"]): r for r in result["runs"]}
    assert set(runs) == {(s, n) for s in ("extep", "areanet", "areanet-float32", "areanet-torchscript")
                         for n in (1, 2)}
    for run in runs.values():
        assert run["steps"] == 4 and run["atoms"] == 60 and run["us_per_atom_step"] > 0
        assert len(run["peak_rss_kb_per_rank"]) == run["ranks"]
    assert "native C++, MLP in float64" in runs[("areanet", 1)]["evaluation"]
    assert "float32" in runs[("areanet-float32", 1)]["evaluation"]
    assert "TorchScript" in runs[("areanet-torchscript", 1)]["evaluation"]
    rows = {(r["style"], r["ranks"]): r for r in result["summary"]}
    assert rows[("areanet", 1)]["fraction_of_extep"] > 0
    assert rows[("areanet", 2)]["speedup_vs_1_rank"] > 0
    assert "| 60 | 1 | `areanet` |" in text and "fraction of ExTeP" in text
    assert "wrote" in capsys.readouterr().out


def test_bench_layers(plugin, tmp_path):
    """The bilayer beside ILP + coul/shield, areanet (the shipped local model) vs ExTeP."""
    assert main(["bench", "layers", "--model", "models/hbn-extep.pt", "--plugin", str(plugin),
                 "--atoms-per-layer", "48", "--ranks", "1", "--steps", "1", "--warmup", "0",
                 "--out", str(tmp_path), "--name", "layers"]) == 0
    result, text = read(tmp_path, "layers")
    runs = {(r["intra"], r["ranks"]): r for r in result["runs"]}
    assert set(runs) == {("areanet", 1), ("extep", 1)}
    assert all(r["atoms"] == 96 and r["steps"] == 1 and r["us_per_atom_step"] > 0 for r in runs.values())
    assert "| 96 | 1 | `areanet` + ILP + coul/shield |" in text and "fraction of ExTeP" in text


def test_bench_nve(model, plugin, tmp_path):
    assert main(["bench", "nve", "--model", str(model), "--plugin", str(plugin), "--atoms", "60",
                 "--steps", "10", "--sample", "2", "--styles", "areanet,extep", "--out", str(tmp_path)]) == 0
    result, text = read(tmp_path, "nve")
    assert [r["style"] for r in result["runs"]] == ["areanet", "extep"]
    for run in result["runs"]:
        assert isinstance(run["drift_mev_per_atom_per_ps"], float)
        assert run["final_temperature_K"] > 0
    assert "drift meV/atom/ps" in text


def test_bench_python(model, tmp_path):
    assert main(["bench", "python", "--model", str(model), "--sizes", "60,120", "--repeats", "1",
                 "--out", str(tmp_path)]) == 0
    result, text = read(tmp_path, "python")
    assert [r["atoms"] for r in result["runs"]] == [60, 120]
    assert all(r["us_per_atom"] > 0 and r["model_us_per_atom"] > 0 for r in result["runs"])
    assert "| 60 |" in text


def test_bench_train(tmp_path, capsys):
    # 21 generated structures (one per perturbation level), one epoch
    assert main(["bench", "train", "--per-level", "1", "--epochs", "1", "--batch-size", "4",
                 "--set", "dims=2", "--set", "precision=float32", "--bar", "1e6", "--out", str(tmp_path)]) == 0
    result, text = read(tmp_path, "train")
    assert result["n_structures"] == 21 and len(result["epoch_seconds"]) == 1
    assert (result["dims"], result["precision"]) == (2, "float32")
    assert result["train_structures_per_s"] > 0
    assert result["time_to_bar_this_run"]["epoch"] == 1  # any validation error is below 1e6
    assert result["test"]["force_magnitude_rmse"] > 0
    assert "paper-size set" in text and "first at epoch 1" in text


def test_bench_precision(model, plugin, tmp_path):
    assert main(["bench", "precision", "--model", str(model), "--plugin", str(plugin), "--atoms", "60",
                 "--out", str(tmp_path)]) == 0
    result, text = read(tmp_path, "precision")
    runs = {r["style"]: r for r in result["runs"]}
    assert runs["areanet"]["force_max_diff_rel"] < 1e-10  # native float64 = the TorchScript model
    assert runs["areanet-float32"]["force_max_diff_rel"] < 1e-3
    assert "max ΔF" in text


@pytest.mark.parametrize("command", ["md", "nve", "python", "train", "precision"])
def test_default_output_is_not_the_shipped_results(command):
    # `areanet bench ...` as the README writes it must not overwrite benchmarks/
    from areanet.training.cli import build_parser

    args = build_parser().parse_args(["bench", command])
    assert args.out == "bench-results"
