"""`areanet reproduce`: a tiny study end to end, its report, skipping finished runs, --resume."""
import json
import time

import pytest

import areanet.training.evaluation.reproduce as rep
from areanet.training.evaluation.reproduce.report import _num
import areanet.training.fit.train as train_module
from areanet.training.cli import build_parser
from areanet.training.errors import UserError

# quick mode made smaller still: 63 structures, 2 epochs, 1 cell per extrapolation level
TINY = dict(quick=True, per_level=3, epochs=2, extrap_per_level=1)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("reproduce") / "rq"
    lines = []
    t0 = time.perf_counter()
    results = rep.reproduce(out, "extep", log=lines.append, **TINY)
    return out, results, lines, time.perf_counter() - t0


def table(report: str, title: str) -> list[str]:
    """The lines of the Markdown table under the heading that starts with ``title``."""
    part = report.split(f"## {title}", 1)[1].split("\n## ", 1)[0]
    return [line for line in part.splitlines() if line.startswith("|")]


def row(lines: list[str], label: str) -> list[str]:
    found = [line for line in lines if line.startswith(f"| {label} |")]
    assert len(found) == 1, (label, lines)
    return [cell.strip() for cell in found[0].strip("|").split(" | ")]


def test_report_has_the_papers_tables_beside_ours(study):
    out, results, lines, _ = study
    report = (out / "report.md").read_text()
    summaries = {m.name: json.loads((out / "runs" / f"{m.name}-s0" / "summary.json").read_text())["test"]
                 for m in rep.MODELS}
    for title, species, rows in (("Table I ", "N", rep.TABLE_I_ROWS), ("Table II ", "N", rep.TABLE_II_ROWS),
                                 ("Table III ", "B", rep.TABLE_II_ROWS)):
        lines_ = table(report, title)
        assert row(lines_, "Num of Inputs")[1:] == ["12", "12", "24", "24", "24"]
        for key, label in rows:
            cells = row(lines_, label.replace("|", "\\|"))
            # the report's numbers, as printed there
            assert cells[1] == f"{rep.PAPER[species]['LO'][key]:.6f}"
            assert cells[3] == f"{rep.PAPER[species]['HO'][key]:.6f}"
            # ours: the test metrics of each run (one seed: the value itself); direct models
            # count their centre atoms, the conservative model that species' atoms
            assert cells[2] == _num(summaries[f"lo-{species}"]["all"][key])
            assert cells[4] == _num(summaries[f"ho-{species}"]["all"][key])
            assert cells[5] == _num(summaries["ho-cons"][species][key])
    assert "0.029873" in report and "0.457945" in report and "9.223182" in report
    assert "centre atoms" in report and "mean absolute error" in report  # the metric notes
    # direct models predict forces on their centre atoms only
    n_test = summaries["ho-N"]["all"]["n_structures"]
    assert summaries["ho-N"]["all"]["n_force_atoms"] == 30 * n_test
    assert summaries["ho-cons"]["all"]["n_force_atoms"] == 60 * n_test


def test_figures_curves_and_wall_times(study):
    out, results, lines, _ = study
    report = (out / "report.md").read_text()
    for name in ("strength_N.png", "strength_B.png", "parity_ho_N.png", "parity_ho_cons.png"):
        path = out / "figures" / name
        assert path.is_file() and path.stat().st_size > 10_000, name
        assert f"(figures/{name})" in report
    curves = results["curves"]
    for model, species in (("lo-N", "N"), ("ho-N", "N"), ("lo-B", "B"), ("ho-B", "B"),
                           ("ho-cons", "N"), ("ho-cons", "B")):
        levels = {lv["strength_pct"] for lv in curves[model][species]}
        assert {0.0, 0.5, 5.5, 6.0, 6.5, 7.0, 7.5} <= levels  # the extrapolation set
        assert any(1.0 <= s <= 5.0 for s in levels)  # the test split, inside the training range
    assert "| 7.5 * |" in report
    runs = table(report, "Runs and wall time")
    assert len(runs) == 2 + len(rep.MODELS)
    assert all(r["wall_seconds"] > 0 and r["epochs"] == 2 for r in results["runs"])
    assert any("estimated duration" in line and "full study" in line for line in lines)
    assert sum("done in" in line for line in lines) == len(rep.MODELS)
    saved = json.loads((out / "results.json").read_text())
    assert saved["tables"]["ho-N"]["N"]["energy_rmse_ev"][2] == 1  # mean, std, seeds
    assert "reproduce" in build_parser().format_help()


def test_second_call_skips_finished_runs(study, monkeypatch):
    out, _, _, first_seconds = study
    stamps = {p: p.stat().st_mtime_ns for p in out.glob("runs/*/best.pt")}

    def no_training(*args, **kwargs):
        raise AssertionError("a finished run was trained again")

    monkeypatch.setattr(train_module, "train", no_training)
    lines = []
    t0 = time.perf_counter()
    rep.reproduce(out, "extep", log=lines.append, **TINY)
    seconds = time.perf_counter() - t0
    assert sum("already finished: skipped" in line for line in lines) == len(rep.MODELS)
    assert not any("estimated duration" in line for line in lines)
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    assert seconds < 0.5 * first_seconds, (seconds, first_seconds)
    assert (out / "report.md").is_file()
    # other settings in the same directory are refused rather than mixed
    with pytest.raises(UserError, match="other settings"):
        rep.reproduce(out, "extep", log=lines.append, **(TINY | {"epochs": 3}))


def test_interrupted_run_resumes(tmp_path, monkeypatch):
    out = tmp_path / "one"
    real_evaluate, calls = train_module.evaluate_split, []

    def interrupt_in_second_epoch(*args, **kwargs):  # Ctrl-C during epoch 2
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_evaluate(*args, **kwargs)

    settings = TINY | {"models": ["lo-N"], "estimate": False}
    monkeypatch.setattr(train_module, "evaluate_split", interrupt_in_second_epoch)
    lines = []
    with pytest.raises(KeyboardInterrupt):
        rep.reproduce(out, "extep", log=lines.append, **settings)
    assert any("--resume" in line for line in lines)
    monkeypatch.setattr(train_module, "evaluate_split", real_evaluate)
    run = out / "runs" / "lo-N-s0"
    assert not (run / "summary.json").exists() and (run / "wall_partial.json").is_file()
    with pytest.raises(UserError, match="--resume"):
        rep.reproduce(out, "extep", log=lines.append, **settings)
    lines.clear()
    results = rep.reproduce(out, "extep", resume=True, log=lines.append, **settings)
    assert any("resuming" in line for line in lines)
    wall = json.loads((run / "wall.json").read_text())
    assert wall["resumed"] and wall["epochs"] == 2
    assert len(json.loads((run / "history.json").read_text())) == 2
    assert [r["model"] for r in results["runs"]] == ["lo-N"]
    assert "| runs/lo-N-s0 |" in (out / "report.md").read_text()
