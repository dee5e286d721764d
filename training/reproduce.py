"""`areanet reproduce`: the report's study end to end, beside the report's own numbers.

    areanet reproduce --reference extep|tersoff --out DIR [--quick] [--seeds 3] [--epochs N]
                      [--resume]

What it does (the report, sections II-III and Appendix A):

1. **Data**: freshly generated reference data of the report's size and protocol -- 4450
   perturbed 60-atom cells, 1-5 % in 0.2 % steps (``areanet data generate``), labelled with
   ExTeP or Tersoff (not DFT: the absolute numbers are not the report's, the comparison is
   of trends and ratios) -- plus the extrapolation set (0 %, 0.5 %, 5.5 ... 7.5 %).
2. **Models**: the report's four -- low vs high order x N- vs B-centred, with its direct
   force head (net force on the centre atom as an output), LeakyReLU, in-plane inputs
   (dims = 2: 12 / 24 inputs), 50 epochs -- and our conservative high-order model
   (both species centred, F = -dE/dR, SiLU). Each is trained on a random 80/10/10 split
   once per seed (3 by default; the seed sets the split, the initial weights and the batch
   order) and the report's tables are the mean +- standard deviation over seeds.
3. **Extrapolation** (report Fig. 5-7): every model is evaluated on its test split
   (1-5 %) plus the extrapolation set; errors per strength are averaged over seeds.
4. ``DIR/report.md`` with Table I/II/III-style tables (ours beside the report's), the
   extrapolation tables and figures, parity plots, and the wall time of every run;
   ``DIR/results.json`` with the same numbers.

Layout of DIR: ``data/`` (the two data sets), ``runs/<model>-s<seed>/`` (one ``areanet
train`` run each, plus ``extrap/``), ``figures/``, ``reproduce.json`` (the settings),
``report.md``, ``results.json``. A run whose ``summary.json`` exists is finished and
skipped, so running the command again after an interruption carries on with the next
run; ``--resume`` also continues a half-trained run from its ``last.pt``.

At the start the command times a few training steps of every model on a small sample and
prints the estimated duration of this invocation and of the full study.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .cli import UserError

# --- what is reproduced -----------------------------------------------------------------------


@dataclass(frozen=True)
class ModelSpec:
    name: str  # run directory prefix
    label: str  # in tables and figures
    order: str
    centers: str
    forces: str

    def train_values(self) -> dict[str, Any]:
        return {"order": self.order, "centers": self.centers, "forces": self.forces, "dims": 2}


MODELS = (
    ModelSpec("lo-N", "LO N-centred (direct)", "low", "N", "direct"),
    ModelSpec("ho-N", "HO N-centred (direct)", "high", "N", "direct"),
    ModelSpec("lo-B", "LO B-centred (direct)", "low", "B", "direct"),
    ModelSpec("ho-B", "HO B-centred (direct)", "high", "B", "direct"),
    ModelSpec("ho-cons", "HO conservative (ours)", "high", "both", "conservative"),
)
SPEC = {m.name: m for m in MODELS}

# The report's Appendix A (Table I repeats Table II's rows): test set, mean of 3 trials.
# MAPE rows are the report's "(100%)" columns as printed.
PAPER = {
    "N": {
        "LO": dict(energy_rmse_ev=0.029873, energy_per_atom_rmse_mev=0.497883, energy_mape=0.000040,
                   force_rmse_x=0.160153, force_x_mape=0.119936, force_rmse_y=0.160673,
                   force_y_mape=0.120606, force_magnitude_rmse=0.159276,
                   force_magnitude_mape=0.119415, force_angle_mae_deg=7.788658),
        "HO": dict(energy_rmse_ev=0.029015, energy_per_atom_rmse_mev=0.483578, energy_mape=0.000039,
                   force_rmse_x=0.071714, force_x_mape=0.053304, force_rmse_y=0.072221,
                   force_y_mape=0.053917, force_magnitude_rmse=0.071915,
                   force_magnitude_mape=0.053303, force_angle_mae_deg=3.491130),
    },
    "B": {
        "LO": dict(energy_rmse_ev=0.031926, energy_per_atom_rmse_mev=0.532105, energy_mape=0.000043,
                   force_rmse_x=0.175519, force_x_mape=0.154635, force_rmse_y=0.175200,
                   force_y_mape=0.156375, force_magnitude_rmse=0.172564,
                   force_magnitude_mape=0.097022, force_angle_mae_deg=9.223182),
        "HO": dict(energy_rmse_ev=0.027477, energy_per_atom_rmse_mev=0.457945, energy_mape=0.000037,
                   force_rmse_x=0.070212, force_x_mape=0.067202, force_rmse_y=0.071835,
                   force_y_mape=0.064003, force_magnitude_rmse=0.071591,
                   force_magnitude_mape=0.039900, force_angle_mae_deg=3.655632),
    },
}

# (metric key, row label in the report's words)
TABLE_I_ROWS = [
    ("energy_rmse_ev", "RMSE of Total Energy (eV)"),
    ("energy_per_atom_rmse_mev", "RMSE of Energy per Atom (meV)"),
    ("force_rmse_x", "RMSE of x-component Force on Center Atom (eV/Å)"),
    ("force_rmse_y", "RMSE of y-component Force on Center Atom (eV/Å)"),
    ("force_magnitude_rmse", "RMSE of Force Magnitude on Center Atom (eV/Å)"),
    ("force_angle_mae_deg", "Mean Angular Error of Atomic Force (Degree)"),
]
TABLE_II_ROWS = [
    ("energy_rmse_ev", "RMSE of Total Energy (eV)"),
    ("energy_per_atom_rmse_mev", "RMSE of Energy per Atom (meV)"),
    ("energy_mape", "MAPE of Total Energy (100%)"),
    ("force_rmse_x", "RMSE of x-component Force on Center Atom (eV/Å)"),
    ("force_x_mape", "MAPE of x-component Force on Center Atom (100%) ‡"),
    ("force_rmse_y", "RMSE of y-component Force on Center Atom (eV/Å)"),
    ("force_y_mape", "MAPE of y-component Force on Center Atom (100%) ‡"),
    ("force_magnitude_rmse", "RMSE of Force Magnitude on Center Atom (eV/Å)"),
    ("force_magnitude_mape", "MAPE of Force Magnitude on Center Atom (100%) ‡"),
    ("force_angle_mae_deg", "Mean Absolute Angular Error (Degree)"),
]

# The report's extrapolation section (N-centred, Fig. 5), in its words.
PAPER_EXTRAP = {
    "0 %": "E within ±0.05 eV; forces within ±0.018 eV/Å (LO and HO)",
    "in range": "E RMSE 0.01–0.05 eV (LO, HO); |F| RMSE 0.06–0.25 (LO), 0.03–0.12 (HO) eV/Å; "
                "angle ≈ 7.8° (LO), 3.5° (HO)",
    "5.5–6.5 %": "E RMSE 0.1–0.2 eV; |F| RMSE ≈ 0.25 (LO, 5.5–6 %), ≈ 0.12 (HO) eV/Å",
    "7–7.5 %": "E RMSE > 0.4 eV; |F| RMSE ≈ 0.4 (LO, above 6 %), ≈ 0.25 (HO, above 6.5 %) eV/Å",
}
BANDS = [("0 %", 0.0, 0.0), ("0.5 %", 0.5, 0.5), ("in range", 1.0, 5.0), ("5.5–6.5 %", 5.5, 6.5),
         ("7–7.5 %", 7.0, 7.5)]

TRAIN_RANGE = (1.0, 5.0)


# --- settings ---------------------------------------------------------------------------------


@dataclass
class Settings:
    reference: str = "extep"
    quick: bool = False
    seeds: int = 3
    epochs: int = 50
    per_level: int | None = None  # None: the report's 4450 structures
    extrap_per_level: int = 10  # frames per extrapolation level (0 % has one)
    batch_size: int = 8
    lr: float = 3e-3
    data_seed: int = 0
    threads: int = 1
    device: str = "cpu"
    models: list[str] = field(default_factory=lambda: [m.name for m in MODELS])

    # keys that must match a DIR's earlier invocation (they change data or runs)
    FIXED = ("reference", "quick", "epochs", "per_level", "extrap_per_level", "batch_size", "lr",
             "data_seed")

    @classmethod
    def make(cls, reference: str = "extep", quick: bool = False, **given) -> "Settings":
        base = dict(seeds=1, epochs=40, per_level=8, extrap_per_level=2) if quick else {}
        base.update({k: v for k, v in given.items() if v is not None})
        s = cls(reference=reference, quick=quick, **base)
        if s.reference not in ("extep", "tersoff"):
            raise UserError(f"--reference {s.reference!r}: choose extep or tersoff")
        for name in ("seeds", "epochs", "batch_size", "extrap_per_level"):
            if getattr(s, name) < 1:
                raise UserError(f"{name} = {getattr(s, name)} must be at least 1")
        if s.per_level is not None and s.per_level < 2:
            raise UserError("per_level must be at least 2 (a split needs train, val and test)")
        unknown = sorted(set(s.models) - set(SPEC))
        if unknown or not s.models:
            raise UserError(f"models {unknown or s.models}: choose from {sorted(SPEC)}")
        return s

    def n_structures(self) -> int:
        from .generate import PAPER_LEVELS, PAPER_TOTAL

        return PAPER_TOTAL if self.per_level is None else self.per_level * len(PAPER_LEVELS)

    def n_extrap(self) -> int:
        from .generate import EXTRAP_LEVELS

        return 1 + self.extrap_per_level * (len(EXTRAP_LEVELS) - 1)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def full_settings(reference: str) -> Settings:
    return Settings.make(reference)


# --- the study --------------------------------------------------------------------------------


def run_name(spec: ModelSpec, seed: int) -> str:
    return f"{spec.name}-s{seed}"


def reproduce(out, reference: str = "extep", *, quick: bool = False, seeds: int | None = None,
              epochs: int | None = None, per_level: int | None = None,
              extrap_per_level: int | None = None, batch_size: int | None = None,
              resume: bool = False, threads: int = 1, device: str = "cpu", data_seed: int = 0,
              models: list[str] | None = None, verbose: bool = False, estimate: bool = True,
              log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run (or carry on) the study in ``out``; returns the aggregated results.

    ``quick`` picks small defaults (168 structures, 1 seed, 40 epochs); any keyword given
    overrides them (the tests run an even smaller study this way).
    """
    wall0 = time.perf_counter()
    settings = Settings.make(reference, quick, seeds=seeds, epochs=epochs, per_level=per_level,
                             extrap_per_level=extrap_per_level, batch_size=batch_size,
                             threads=threads, device=device, data_seed=data_seed, models=models)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _check_settings(out, settings)
    import torch

    torch.set_num_threads(max(settings.threads, 1))

    plan = [(spec, seed) for seed in range(settings.seeds) for spec in MODELS if spec.name in settings.models]
    done = [(s, k) for s, k in plan if (out / "runs" / run_name(s, k) / "summary.json").is_file()]
    log(f"areanet reproduce: {settings.reference}, {settings.n_structures()} structures "
        f"(+{settings.n_extrap()} extrapolation), {len(plan)} runs "
        f"({len(settings.models)} models x {settings.seeds} seed{'s' * (settings.seeds > 1)}), "
        f"{settings.epochs} epochs, batch {settings.batch_size}, {settings.threads} thread(s), "
        f"{settings.device}; output in {out}")
    if done:
        log(f"{len(done)} of {len(plan)} runs already finished in {out}: they are skipped")

    speeds = None
    if estimate and len(done) < len(plan):
        speeds = measure_speed(settings)
        todo = [(s, k) for s, k in plan if (s, k) not in done]
        mine = estimate_seconds(settings, speeds, todo, with_data=not _data_ready(out, settings))
        full = full_settings(settings.reference)
        full_plan = [(s, k) for k in range(full.seeds) for s in MODELS]
        full_est = estimate_seconds(full, speeds, full_plan, with_data=True)
        log(f"estimated duration (timed on a sample, {os.cpu_count()} CPU(s), load "
            f"{_load():.1f}): this invocation {_hms(mine['total'])}; the full study "
            f"({full.n_structures()} structures, {full.seeds} seeds x {len(MODELS)} models, "
            f"{full.epochs} epochs) {_hms(full_est['total'])}")
        _write_json(out / "estimate.json", {"this_invocation": mine, "full_study": full_est,
                                            "speeds": speeds, "cpus": os.cpu_count(),
                                            "load_average": _load()})

    data_path, extrap_path = prepare_data(out, settings, log)
    from .data import read_structures

    structures = read_structures(str(data_path))
    extrap = read_structures(str(extrap_path))

    for i, (spec, seed) in enumerate(plan):
        tag = f"[{i + 1:>2}/{len(plan)}] {run_name(spec, seed):<11}"
        run_dir = out / "runs" / run_name(spec, seed)
        status = train_one(spec, seed, settings, data_path, run_dir, resume, verbose, tag, log,
                           speeds)
        evaluate_extrapolation(spec, run_dir, structures, extrap)
        if status == "skipped":
            log(f"{tag} already finished: skipped")

    results = collect(out, settings)
    wall = time.perf_counter() - wall0
    results["wall_seconds_this_invocation"] = wall
    fixed = (speeds or {}).get("data", {}).get("figures", 0.0)
    results["measured_full_estimate"] = estimate_from_runs(results, settings, fixed)
    write_report(out, settings, results)
    _write_json(out / "results.json", results)
    log(f"wrote {out / 'report.md'} and results.json; total wall time {_hms(wall)}")
    return results


def _check_settings(out: Path, settings: Settings) -> None:
    path = out / "reproduce.json"
    if path.is_file():
        old = json.loads(path.read_text())
        diff = [f"{k}: {old.get(k)!r} there, {getattr(settings, k)!r} now"
                for k in Settings.FIXED if old.get(k) != getattr(settings, k)]
        if diff:
            raise UserError(f"{out} holds a reproduction with other settings ({'; '.join(diff)}): "
                            "use another --out, or the same settings to carry it on")
    _write_json(path, settings.to_dict())


def _data_ready(out: Path, settings: Settings) -> bool:
    return (out / "data" / "paper.extxyz").is_file() and (out / "data" / "extrap.extxyz").is_file()


def prepare_data(out: Path, settings: Settings, log) -> tuple[Path, Path]:
    """The training set and the extrapolation set, generated once (reused when present)."""
    from .generate import generate, write_frames

    data_dir = out / "data"
    paths = (data_dir / "paper.extxyz", data_dir / "extrap.extxyz")
    if _data_ready(out, settings):
        return paths
    t0 = time.perf_counter()
    frames = generate("paper", settings.reference, per_level=settings.per_level,
                      seed=settings.data_seed, show_progress=not settings.quick)
    write_frames(frames, paths[0])
    extrap = generate("paper", settings.reference, per_level=settings.extrap_per_level,
                      seed=settings.data_seed, extrap=True, show_progress=False)
    write_frames(extrap, paths[1])
    seconds = time.perf_counter() - t0
    _write_json(data_dir / "data.json", {"n_structures": len(frames), "n_extrap": len(extrap),
                                         "reference": settings.reference, "seconds": seconds})
    log(f"data: {len(frames)} structures + {len(extrap)} extrapolation structures "
        f"({settings.reference}) in {seconds:.1f} s -> {data_dir}")
    return paths


def train_config(spec: ModelSpec, seed: int, settings: Settings, data_path: Path):
    from .config import TrainConfig

    return TrainConfig.from_dict({
        "data": [str(data_path)], "split": "random", "split_fractions": [0.8, 0.1, 0.1],
        "train_range": list(TRAIN_RANGE), "seed": seed, "epochs": settings.epochs,
        "batch_size": settings.batch_size, "lr": settings.lr, "threads": settings.threads,
        "device": settings.device, **spec.train_values(),
    })


def train_one(spec: ModelSpec, seed: int, settings: Settings, data_path: Path, run_dir: Path,
              resume: bool, verbose: bool, tag: str, log, speeds) -> str:
    """Train one run unless it is finished; returns "skipped", "trained" or "resumed"."""
    from .train import train

    if (run_dir / "summary.json").is_file():
        return "skipped"
    cfg = train_config(spec, seed, settings, data_path)
    half_done = (run_dir / "last.pt").is_file()
    if half_done and not resume:
        raise UserError(f"{run_dir} holds an interrupted run: rerun with --resume to continue it "
                        f"(or delete that directory to train it again)")
    expected = ""
    if speeds is not None:
        est = estimate_seconds(settings, speeds, [(spec, seed)], with_data=False)["total"]
        expected = f", about {_hms(est)}" if not half_done else ""
    log(f"{tag} {spec.label}, seed {seed}: {'resuming' if half_done else 'training'} "
        f"({settings.epochs} epochs{expected})")
    partial_path = run_dir / "wall_partial.json"
    before = json.loads(partial_path.read_text())["seconds"] if partial_path.is_file() else 0.0
    t0 = time.perf_counter()
    try:
        summary = train(cfg, run_dir, resume=half_done, quiet=not verbose)
    except BaseException as err:
        if run_dir.is_dir():
            _write_json(partial_path, {"seconds": before + time.perf_counter() - t0})
        if isinstance(err, KeyboardInterrupt):
            log(f"{tag} interrupted: run the same command with --resume to continue")
        raise
    wall = before + time.perf_counter() - t0
    history = json.loads((run_dir / "history.json").read_text())
    per_epoch = float(np.mean([row["seconds"] for row in history])) if history else float("nan")
    record = {"wall_seconds": wall, "train_seconds_last_invocation": summary["train_seconds"],
              "epoch_seconds_total": float(sum(row["seconds"] for row in history)),
              "seconds_per_epoch": per_epoch, "epochs": len(history), "resumed": half_done,
              "cpus": os.cpu_count(), "load_average_at_end": _load()}
    _write_json(run_dir / "wall.json", record)
    if partial_path.is_file():
        partial_path.unlink()
    test = summary.get("test", {})
    block = test.get("N" if spec.centers == "both" else "all", {})
    log(f"{tag} done in {_hms(wall)} ({per_epoch:.2f} s/epoch): test E "
        f"{_num(block.get('energy_per_atom_rmse_mev'))} meV/atom, |F| "
        f"{_num(block.get('force_magnitude_rmse'))} eV/Å, angle "
        f"{_num(block.get('force_angle_mae_deg'))}°" + (" (N atoms)" if spec.centers == "both" else ""))
    return "resumed" if half_done else "trained"


def _extrap_files(spec: ModelSpec) -> dict[str, str]:
    """Species-block name -> metrics file: direct models count their centre atoms; the
    conservative model is evaluated for N atoms and for B atoms separately."""
    if spec.centers == "both":
        return {"N": "metrics-N.json", "B": "metrics-B.json"}
    return {spec.centers: "metrics.json"}


def evaluate_extrapolation(spec: ModelSpec, run_dir: Path, structures, extrap) -> None:
    """Errors per strength of the best model on its test split (1-5 %) + the extrapolation set."""
    from .evaluate import evaluate_predictions
    from .predict import predict
    from .train import load_checkpoint, model_from_checkpoint

    target = run_dir / "extrap"
    files = _extrap_files(spec)
    if all((target / f).is_file() for f in files.values()):
        return
    payload = load_checkpoint(run_dir / "best.pt")
    test = [structures[k] for k in payload["splits"]["test"]] + list(extrap)
    predictions = predict(model_from_checkpoint(payload), test)
    tmp = target / "tmp"
    for species, name in files.items():
        mask = species if spec.centers == "both" else None
        evaluate_predictions(test, predictions, tmp, train_range=TRAIN_RANGE, species_mask=mask,
                             plots=False, extra={"model": str(run_dir / "best.pt")})
        os.replace(tmp / "metrics.json", target / name)
    shutil.rmtree(tmp, ignore_errors=True)


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


# --- timing -----------------------------------------------------------------------------------


def measure_speed(settings: Settings, n_sample: int = 16) -> dict[str, dict[str, float]]:
    """Seconds per structure of each model kind, timed on a small sample of fresh data:
    ``prepare`` (elements), ``train`` (one training pass), ``eval`` (validation pass), plus
    ``generate`` and ``read`` (data) under the key ``data``."""
    import tempfile

    import torch

    from areanet.potential.model import AreaNet

    from .data import read_structures
    from .dataset import collate, fit_statistics, prepare
    from .generate import generate, write_frames
    from .train import batch_loss, evaluate_split, pick_device

    t0 = time.perf_counter()
    frames = generate("paper", settings.reference, per_level=1, seed=10_000 + settings.data_seed,
                      show_progress=False)
    gen = (time.perf_counter() - t0) / len(frames)
    with tempfile.TemporaryDirectory() as tmp:
        path = write_frames(frames, Path(tmp) / "sample.extxyz")
        t0 = time.perf_counter()
        sample = read_structures(str(path))[:n_sample]
        read = (time.perf_counter() - t0) / len(frames)
    speeds: dict[str, dict[str, float]] = {"data": {"generate": gen, "read": read}}
    device = pick_device(settings.device)
    for spec in MODELS:
        cfg = train_config(spec, 0, settings, Path("sample"))
        torch.manual_seed(0)
        model = AreaNet(cfg.model_config())
        t0 = time.perf_counter()
        items = prepare(model, sample)
        prep = (time.perf_counter() - t0) / len(sample)
        fit_statistics(model, items)
        model.to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
        bs = min(settings.batch_size, len(items))

        def one_pass() -> None:
            for k in range(0, len(items), bs):
                batch = collate(items[k : k + bs]).to(device)
                loss, _ = batch_loss(model, batch, cfg, create_graph=model.conservative)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()

        one_pass()  # warm-up
        t0 = time.perf_counter()
        one_pass()
        step = (time.perf_counter() - t0) / len(items)
        t0 = time.perf_counter()
        evaluate_split(model, items, cfg, device)
        ev = (time.perf_counter() - t0) / len(items)
        speeds[spec.name] = {"prepare": prep, "train": step, "eval": ev}
    # fixed cost of the figures that every run's test evaluation draws
    from . import plots  # noqa: F401  (import time is paid once, not per run)
    from .evaluate import evaluate_predictions
    from .predict import predict

    predictions = predict(model, sample)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        evaluate_predictions(sample, predictions, tmp, train_range=TRAIN_RANGE)
        speeds["data"]["figures"] = time.perf_counter() - t0
    return speeds


def estimate_seconds(settings: Settings, speeds: dict, plan, with_data: bool) -> dict[str, float]:
    """Seconds for ``plan`` ((spec, seed) pairs) at the measured per-structure speeds.

    Per run: read + prepare all structures, ``epochs`` x (train pass over 80 % + validation
    pass over 10 %), the test evaluation and the extrapolation evaluation (prepare + eval of
    the test split and the extrapolation set, twice).
    """
    n, n_x = settings.n_structures(), settings.n_extrap()
    n_train, n_val, n_test = round(0.8 * n), round(0.1 * n), n - round(0.8 * n) - round(0.1 * n)
    data = speeds["data"]
    total = data["generate"] * (n + n_x) if with_data else 0.0
    total += 2 * data.get("figures", 0.0)  # the report's strength figures
    per_model: dict[str, float] = {}
    for spec, _seed in plan:
        s = speeds[spec.name]
        run = (data["read"] * n + s["prepare"] * n
               + settings.epochs * (s["train"] * n_train + s["eval"] * n_val)
               + 2 * (s["prepare"] + s["eval"]) * (n_test + n_x)
               + data.get("figures", 0.0))
        per_model[spec.name] = per_model.get(spec.name, 0.0) + run
        total += run
    return {"total": total, "per_model": per_model, "n_runs": len(plan)}


def estimate_from_runs(results: dict, settings: Settings, fixed: float = 0.0) -> dict[str, Any] | None:
    """The full study's duration, scaled from the measured epoch times and run overheads of
    the runs in this directory: epoch time and overhead (reading, elements, test evaluation)
    scale with the number of structures, except ``fixed`` seconds per run (figures)."""
    full = full_settings(settings.reference)
    n, n_full = settings.n_structures(), full.n_structures()
    per_model: dict[str, float] = {}
    for spec in MODELS:
        rows = [r for r in results["runs"] if r["model"] == spec.name and "seconds_per_epoch" in r]
        if not rows:
            return None
        epoch = float(np.mean([r["seconds_per_epoch"] for r in rows]))
        overhead = float(np.mean([max(r["wall_seconds"] - r["epoch_seconds_total"], 0.0) for r in rows]))
        fixed_part = min(fixed, overhead)
        one = (epoch * full.epochs + overhead - fixed_part) * n_full / n + fixed_part
        per_model[spec.name] = one * full.seeds
    return {"total": float(sum(per_model.values())), "per_model": per_model,
            "basis": f"{len(results['runs'])} runs on {n} structures, scaled to {n_full} "
                     f"structures, {full.epochs} epochs, {full.seeds} seeds (data generation not included)"}


def _load() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def _hms(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else (f"{m}m{s:02d}s" if m else f"{s}s")


def _write_json(path: Path, obj) -> None:
    from .metrics import nan_to_none

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(nan_to_none(obj), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


# --- the report -------------------------------------------------------------------------------


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    def line(cells):  # a "|" inside a cell (|F|) would end the cell
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    rule = "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"
    return "\n".join([line(header), rule] + [line(r) for r in rows])


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
    return _md_table(header, body)


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
    return _md_table(header, rows)


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
    return _md_table(header, rows)


def write_report(out: Path, settings: Settings, results: dict) -> Path:
    from .plots import strength_figure

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
        "(see `areanet/training/metrics.py`): those rows are not comparable.",
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
    lines += [_md_table(["Run", "Model", "Seed", "Epochs", "s/epoch", "Wall", "Resumed", "Load avg"], rows), ""]
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


# --- command line -----------------------------------------------------------------------------


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "reproduce", help="the report's study end to end: data, LO/HO x N/B models, tables, figures",
        description="Reproduce the report's study on freshly generated data: low vs high order x N- vs "
        "B-centred area elements with the report's direct force head (3 seeds each), our conservative "
        "high-order model, the extrapolation study; writes DIR/report.md with the report's tables "
        "beside ours. Interrupted? Run it again: finished runs are skipped (--resume also continues "
        "a half-trained run).")
    p.add_argument("--reference", choices=("extep", "tersoff"), default="extep",
                   help="labelling potential (default: extep)")
    p.add_argument("--out", required=True, metavar="DIR", help="directory for data, runs and the report")
    p.add_argument("--quick", action="store_true",
                   help="a small version (168 structures, 1 seed, 40 epochs): a few minutes on 2 cores")
    p.add_argument("--seeds", type=int, default=None, help="trainings per model (default 3; --quick: 1)")
    p.add_argument("--epochs", type=int, default=None, help="epochs per training (default 50, the report's; --quick: 40)")
    p.add_argument("--resume", action="store_true", help="continue a half-trained run from its last.pt")
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads per training (default 1: these small networks gain little from more)")
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    p.add_argument("--verbose", action="store_true", help="print every epoch of every training")
    p.set_defaults(func=run)


def run(args) -> int:
    reproduce(args.out, args.reference, quick=args.quick, seeds=args.seeds, epochs=args.epochs,
              resume=args.resume, threads=args.threads, device=args.device, verbose=args.verbose)
    return 0
