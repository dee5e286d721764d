"""How long the study will take: the speed of one training step measured first, the estimate updated
from finished runs."""
from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from areanet.potential.model import AreaNet

from ...data.generate import generate, write_frames
from ...data.structures import read_structures
from ...fit.dataset import collate, fit_statistics, prepare
from ...fit.predict import predict
from ...fit.train import batch_loss, evaluate_split, pick_device
from ...scoring.evaluate import evaluate_predictions
from ...scoring.metrics import nan_to_none
from .paper import full_settings, MODELS, Settings, train_config, TRAIN_RANGE


# --- timing -----------------------------------------------------------------------------------


def measure_speed(settings: Settings, n_sample: int = 16) -> dict[str, dict[str, float]]:
    """Seconds per structure of each model kind, timed on a small sample of fresh data:
    ``prepare`` (elements), ``train`` (one training pass), ``eval`` (validation pass), plus
    ``generate`` and ``read`` (data) under the key ``data``."""

    import torch

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
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(nan_to_none(obj), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
