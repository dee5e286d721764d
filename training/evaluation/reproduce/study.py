"""The study: settings, data, the trainings (resumable; finished runs are skipped) and the extrapolation."""
from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ...data.generate import generate, write_frames
from ...data.structures import read_structures
from ...errors import UserError
from ...fit import train as loop
from ...fit.checkpoint import load_checkpoint, model_from_checkpoint
from ...fit.predict import predict
from ...scoring.evaluate import evaluate_predictions
from .paper import (_extrap_files, full_settings, MODELS, ModelSpec, run_name, Settings, train_config,
                    TRAIN_RANGE)
from .report import _num, collect, write_report
from .timing import _hms, _load, _write_json, estimate_from_runs, estimate_seconds, measure_speed


# --- settings ---------------------------------------------------------------------------------


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


def train_one(spec: ModelSpec, seed: int, settings: Settings, data_path: Path, run_dir: Path,
              resume: bool, verbose: bool, tag: str, log, speeds) -> str:
    """Train one run unless it is finished; returns "skipped", "trained" or "resumed"."""

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
        summary = loop.train(cfg, run_dir, resume=half_done, quiet=not verbose)
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


def evaluate_extrapolation(spec: ModelSpec, run_dir: Path, structures, extrap) -> None:
    """Errors per strength of the best model on its test split (1-5 %) + the extrapolation set."""

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
