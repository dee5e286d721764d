"""report.md: the runs' metrics averaged over seeds, beside the report's tables, and the figures."""
from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from ...scoring.evaluate import markdown_table
from ...scoring.plots import strength_figure
from .paper import (_extrap_files, BANDS, MODELS, PAPER, PAPER_EXTRAP, run_name, Settings, SPEC,
                    TABLE_I_ROWS, TABLE_II_ROWS, TRAIN_RANGE)
from .timing import _hms


# --- aggregation ------------------------------------------------------------------------------


def mean_std(values: list[float]) -> tuple[float, float, int]:
    v = np.array([x for x in values if x is not None and np.isfinite(x)], dtype=float)
    if v.size == 0:
        return float("nan"), float("nan"), 0
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else 0.0, int(v.size)


def fmt_mean_std(mean: float, std: float, n: int) -> str:
    """``0.02901 ± 0.0012`` (``0.02901`` for one seed, ``—`` for none)."""
    if n == 0 or not np.isfinite(mean):
        return "—"
    text = _num(mean)
    return text if n == 1 else f"{text} ± {_num(std, 2)}"


def _num(x, digits: int = 4) -> str:
    if x is None or not np.isfinite(x):
        return "—"
    if x == 0:
        return "0"
    if 1e-3 <= abs(x) < 1e5:
        decimals = max(digits - 1 - int(math.floor(math.log10(abs(x)))), 0)
        return f"{x:.{decimals}f}"
    return f"{x:.{digits - 1}e}"


def collect(out: Path, settings: Settings) -> dict[str, Any]:
    """Per-run records and the seed averages: test metrics per species block, curves."""
    runs, blocks, curves = [], {}, {}
    for seed in range(settings.seeds):
        for spec in MODELS:
            if spec.name not in settings.models:
                continue
            run_dir = out / "runs" / run_name(spec, seed)
            if not (run_dir / "summary.json").is_file():
                continue
            summary = json.loads((run_dir / "summary.json").read_text())
            wall = json.loads((run_dir / "wall.json").read_text()) if (run_dir / "wall.json").is_file() else {}
            runs.append({"model": spec.name, "seed": seed, "dir": str(run_dir.relative_to(out)), **wall})
            test = summary.get("test", {})
            for species in ("N", "B"):
                if spec.centers not in ("both", species):
                    continue
                block = test.get("all" if spec.centers == species else species)
                if block:
                    blocks.setdefault(spec.name, {}).setdefault(species, []).append(block)
            for species, name in _extrap_files(spec).items():
                path = run_dir / "extrap" / name
                if path.is_file():
                    levels = json.loads(path.read_text())["by_strength"]
                    curves.setdefault(spec.name, {}).setdefault(species, []).append(levels)
    tables: dict[str, dict[str, dict[str, list]]] = {}
    for model, per_species in blocks.items():
        for species, seed_blocks in per_species.items():
            keys = [k for k in seed_blocks[0] if isinstance(seed_blocks[0][k], (int, float))]
            tables.setdefault(model, {})[species] = {
                k: list(mean_std([b.get(k) for b in seed_blocks])) for k in keys}
    averaged = {model: {species: average_levels(seed_levels) for species, seed_levels in per.items()}
                for model, per in curves.items()}
    return {"settings": settings.to_dict(), "runs": runs, "tables": tables, "curves": averaged,
            "paper": PAPER}


def average_levels(seed_levels: list[list[dict]]) -> list[dict]:
    """Mean over seeds of each strength level's errors (levels missing in a seed's test split
    are averaged over the seeds that have them); ``n_seeds`` says how many."""
    by_level: dict[float, list[dict]] = {}
    for levels in seed_levels:
        for lv in levels:
            by_level.setdefault(round(lv["strength_pct"], 3), []).append(lv)
    out = []
    for strength in sorted(by_level):
        rows = by_level[strength]
        row = {"strength_pct": strength, "n_seeds": len(rows),
               "n_structures": int(sum(r["n_structures"] for r in rows))}
        for key in ("energy_rmse_ev", "energy_per_atom_rmse_mev", "force_magnitude_rmse",
                    "force_angle_mae_deg"):
            m, s, n = mean_std([r.get(key) for r in rows])
            row[key] = m if n else None
            row[key + "_std"] = s if n > 1 else None
        out.append(row)
    return out


# --- the report -------------------------------------------------------------------------------


def _ours(results: dict, model: str, species: str, key: str) -> str:
    entry = results["tables"].get(model, {}).get(species, {}).get(key)
    return fmt_mean_std(*entry) if entry else "—"


def paper_table(results: dict, species: str, rows) -> str:
    """The report's table for one centre species: its LO and HO beside ours, and our
    conservative model's errors on the same species' atoms."""
    lo, ho = f"lo-{species}", f"ho-{species}"
    paper = PAPER[species]
    header = ["Methods", "LO (paper)", "LO (ours)", "HO (paper)", "HO (ours)", f"HO conservative, {species} atoms (ours)"]
    body = [["Num of Vertices", "6", "6", "12", "12", "12"],
            ["Num of Inputs", "12", "12", "24", "24", "24"]]
    for key, label in rows:
        body.append([label, f"{paper['LO'][key]:.6f}", _ours(results, lo, species, key),
                     f"{paper['HO'][key]:.6f}", _ours(results, ho, species, key),
                     _ours(results, "ho-cons", species, key)])
    return markdown_table(header, body)


def strength_table(results: dict, species: str) -> str:
    models = [m for m in (f"lo-{species}", f"ho-{species}", "ho-cons") if species in results["curves"].get(m, {})]
    if not models:
        return "(no finished runs)"
    short = {f"lo-{species}": "LO", f"ho-{species}": "HO", "ho-cons": "cons."}
    header = ["Strength (%)"]
    for key, unit in (("energy_rmse_ev", "E RMSE (eV)"), ("force_magnitude_rmse", "|F| RMSE (eV/Å)"),
                      ("force_angle_mae_deg", "angle (°)")):
        header += [f"{short[m]} {unit}" for m in models]
    levels = sorted({lv["strength_pct"] for m in models for lv in results["curves"][m][species]})
    rows = []
    for strength in levels:
        row = [f"{strength:g}" + ("" if TRAIN_RANGE[0] <= strength <= TRAIN_RANGE[1] else " *")]
        for key in ("energy_rmse_ev", "force_magnitude_rmse", "force_angle_mae_deg"):
            for m in models:
                lv = next((x for x in results["curves"][m][species] if x["strength_pct"] == strength), None)
                row.append(_num(lv[key]) if lv and lv[key] is not None else "—")
        rows.append(row)
    return markdown_table(header, rows)


def band_table(results: dict, species: str) -> str:
    models = [m for m in (f"lo-{species}", f"ho-{species}", "ho-cons") if species in results["curves"].get(m, {})]
    header = ["Range", "Model", "E RMSE (eV)", "|F| RMSE (eV/Å)", "angle (°)"]
    if species == "N":
        header.append("Report (N-centred, Fig. 5 text)")
    rows = []
    for band, lo, hi in BANDS:
        for i, m in enumerate(models):
            sel = [lv for lv in results["curves"][m][species] if lo - 1e-9 <= lv["strength_pct"] <= hi + 1e-9]
            if not sel:
                continue

            def span(key):
                vals = [lv[key] for lv in sel if lv[key] is not None]
                if not vals:
                    return "—"
                a, b = min(vals), max(vals)
                return _num(a) if len(vals) == 1 or a == b else f"{_num(a)}–{_num(b)}"

            row = [band if i == 0 else "", SPEC[m].label, span("energy_rmse_ev"),
                   span("force_magnitude_rmse"), span("force_angle_mae_deg")]
            if species == "N":
                row.append(PAPER_EXTRAP.get(band, "") if i == 0 else "")
            rows.append(row)
    return markdown_table(header, rows)


def write_report(out: Path, settings: Settings, results: dict) -> Path:

    fig_dir = out / "figures"
    fig_dir.mkdir(exist_ok=True)
    figures: dict[str, str] = {}
    for species in ("N", "B"):
        curves = {SPEC[m].label + (f", {species} atoms" if m == "ho-cons" else ""): results["curves"][m][species]
                  for m in (f"lo-{species}", f"ho-{species}", "ho-cons")
                  if species in results["curves"].get(m, {})}
        if curves:
            name = f"strength_{species}.png"
            n_seeds = max(len([r for r in results["runs"] if r["model"] == f"ho-{species}"]), 1)
            strength_figure(curves, fig_dir / name, train_range=TRAIN_RANGE,
                            title=f"{species}-centred: errors vs perturbation strength "
                                  f"({settings.reference}, mean of {n_seeds} seed(s); 1–5 % = test split)")
            figures[f"strength_{species}"] = name
    for model, name in (("ho-N", "parity_ho_N.png"), ("ho-cons", "parity_ho_cons.png"), ("lo-N", "parity_lo_N.png")):
        src = out / "runs" / run_name(SPEC[model], 0) / "test" / "parity.png"
        if src.is_file():
            shutil.copyfile(src, fig_dir / name)
            figures[f"parity_{model}"] = name

    s = settings
    n = s.n_structures()
    runs = results["runs"]
    n_finished = len(runs)
    n_planned = s.seeds * len(s.models)
    estimate = json.loads((out / "estimate.json").read_text()) if (out / "estimate.json").is_file() else None
    lines = [
        f"# Reproduction of the area-element h-BN study ({s.reference}{', quick' if s.quick else ''})",
        "",
        "Generated by `areanet reproduce --reference {ref} --out {out}{quick}{seeds}{epochs}`.".format(
            ref=s.reference, out=out.name, quick=" --quick" if s.quick else "",
            seeds=f" --seeds {s.seeds}" if s.seeds != (1 if s.quick else 3) else "",
            epochs=f" --epochs {s.epochs}" if s.epochs != (40 if s.quick else 50) else ""),
        "",
        "## Set-up",
        "",
        f"* Data: {n} perturbed 60-atom h-BN cells, the report's protocol (in-plane displacement "
        f"uniform in a disk of radius p·b, p = 1.0 … 5.0 % in 0.2 % steps"
        + (", the report's 4450 structures" if s.per_level is None else f", {s.per_level} per level")
        + f"), labelled with **{s.reference}** through LAMMPS (not DFT: absolute errors are not "
        "the report's; compare trends and ratios). Random 80/10/10 split per seed; "
        f"extrapolation set 0 % (1 cell), 0.5 %, 5.5–7.5 % ({s.extrap_per_level} cells per level; "
        "the report used 2).",
        f"* The report's models: low order (A, E, I + ring centroids, 6 vertices) and high order (12 ring "
        "atoms) area elements, N- or B-centred tiling, net force on the centre atom from a direct force "
        "head, LeakyReLU, layers 32-64-32, in-plane inputs (12 / 24 per local frame).",
        "* Ours: the same high-order network with both species centred, conservative forces "
        "(F = −∂E/∂R through the elements) and SiLU.",
        f"* Training: {s.epochs} epochs (the report: 50), Adam with cosine decay from {s.lr:g}, "
        f"batches of {s.batch_size} cells, loss = (ΔE/atom in meV)² + 30·(ΔF in eV/Å)²; "
        f"{s.seeds} seed(s) per model (a seed sets split, initial weights and batch order); "
        f"numbers are mean ± sample standard deviation over seeds. Test split = "
        f"{n - round(0.8 * n) - round(0.1 * n)} cells.",
        f"* Runs finished: {n_finished} of {n_planned}.",
        "",
        "Notes on the metrics:",
        "",
        "* For the direct models the force metrics count only the centre atoms (the report's "
        "\"force on center atom\"): N atoms for N-centred, B atoms for B-centred models. The "
        "conservative model predicts forces on every atom; its column counts the atoms of the "
        "table's species.",
        "* ‡ MAPE: ours is the true mean absolute percentage error (a fraction; references "
        "below 0.01 eV/Å left out). The report's force \"MAPE\" values sit at 0.75–0.95 of its "
        "RMSEs, which is what a mean absolute error in eV/Å gives, not a percentage "
        "(see `training/scoring/metrics.py`): those rows are not comparable.",
        "",
        "## Table I — N-centred, low vs high order (test set)",
        "",
        paper_table(results, "N", TABLE_I_ROWS),
        "",
        "## Table II — N-centred, all metrics (test set)",
        "",
        paper_table(results, "N", TABLE_II_ROWS),
        "",
        "## Table III — B-centred, all metrics (test set)",
        "",
        paper_table(results, "B", TABLE_II_ROWS),
        "",
        "## Extrapolation (report Fig. 5–7)",
        "",
        "Errors per perturbation strength, mean over seeds: 1–5 % from each run's test split, "
        "the other levels (marked *) from the extrapolation set, outside the training range. "
        "Energy RMSE is of the total energy of a 60-atom cell (eV), as in the report's text.",
        "",
    ]
    for species in ("N", "B"):
        lines += [f"### {species}-centred", ""]
        if f"strength_{species}" in figures:
            lines += [f"![{species}-centred errors vs strength](figures/{figures[f'strength_{species}']})", ""]
        lines += ["Summary by range (min–max over the levels of the range):", "",
                  band_table(results, species), "", "Per level:", "", strength_table(results, species), ""]
    lines += ["## Parity plots (test split, seed 0; report Fig. 3/4)", ""]
    for model, title in (("ho-N", "HO N-centred, direct"), ("ho-cons", "HO conservative (all atoms)"),
                         ("lo-N", "LO N-centred, direct")):
        if f"parity_{model}" in figures:
            lines += [f"**{title}**", "", f"![{title}](figures/{figures[f'parity_{model}']})", ""]
    lines += ["## Runs and wall time", "",
              f"Machine: {os.cpu_count()} CPU(s), {s.threads} torch thread(s) per run, device {s.device}. "
              "Wall time covers reading the data, building the elements, training and the test "
              "evaluation (interrupted runs: summed over invocations).", ""]
    rows = []
    for r in runs:
        rows.append([r["dir"], SPEC[r["model"]].label, str(r["seed"]), str(r.get("epochs", "—")),
                     _num(r.get("seconds_per_epoch"), 3), _hms(r["wall_seconds"]) if "wall_seconds" in r else "—",
                     "yes" if r.get("resumed") else "no", _num(r.get("load_average_at_end"), 2)])
    lines += [markdown_table(["Run", "Model", "Seed", "Epochs", "s/epoch", "Wall", "Resumed", "Load avg"], rows), ""]
    total = sum(r.get("wall_seconds", 0.0) for r in runs)
    lines += [f"Sum of run wall times: {_hms(total)}; this invocation of `areanet reproduce`: "
              f"{_hms(results['wall_seconds_this_invocation'])}."]
    if estimate:
        lines += ["", f"Estimated at the start (timed on a sample, load average "
                      f"{_num(estimate.get('load_average'), 2)}): this invocation "
                      f"{_hms(estimate['this_invocation']['total'])}, the full study "
                      f"{_hms(estimate['full_study']['total'])}."]
    measured = results.get("measured_full_estimate")
    if measured:
        lines += ["", f"Full study estimated from these runs' measured epoch times: "
                      f"{_hms(measured['total'])} ({measured['basis']}; per model: "
                      + ", ".join(f"{m} {_hms(v)}" for m, v in measured["per_model"].items()) + ")."]
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
