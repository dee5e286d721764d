"""The training loop behind `areanet train`.

Adam with a cosine learning-rate schedule; loss = energy_weight·(ΔE/atom in meV)² +
force_weight·(ΔF in eV/Å)², averaged over structures and force components. Every epoch
writes ``last.pt`` (model, optimiser, schedule, history: ``--resume`` continues from it with
nothing lost) and, when the validation loss improves, ``best.pt``. At the end the best model
is evaluated on the test split (``RUN_DIR/test/metrics.json``) and its metrics are stored in
``best.pt`` so that ``areanet export`` carries them into the model file.
"""
from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from areanet.potential.model import AreaNet

from ..data.splits import domain_split
from ..data.structures import data_hash, read_structures, split_by_strength, split_random
from ..scoring.evaluate import evaluate_predictions, format_table
from ..errors import UserError
from ..progress import progress
from .checkpoint import CHECKPOINT_KIND, load_checkpoint, model_from_checkpoint, save_checkpoint
from .config import TrainConfig
from .dataset import (attach_geometry, collate, Elements, fit_statistics, has_frame_features, predict_batch,
                      prepare)
from .predict import predict

# --- the loop -------------------------------------------------------------------------------


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UserError(f"device = {name!r} is not a torch device") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError("device = \"cuda\" but no CUDA device is available")
    return device


def batch_loss(model: AreaNet, batch, cfg: TrainConfig, create_graph: bool) -> tuple[torch.Tensor, dict[str, float]]:
    energy, forces, mask = predict_batch(model, batch, create_graph=create_graph)
    de_mev = (energy - batch.energy) / batch.n_atoms * 1000.0  # [B]
    df = (forces - batch.forces)[mask]  # [N', 3]
    loss = cfg.energy_weight * de_mev.pow(2).mean() + cfg.force_weight * df.pow(2).mean()
    parts = {"sse_e": float(de_mev.detach().pow(2).sum()), "sse_f": float(df.detach().pow(2).sum()),
             "n_e": len(de_mev), "n_f": df.numel()}
    return loss, parts


def evaluate_split(model: AreaNet, items: list[Elements], cfg: TrainConfig, device: torch.device) -> dict[str, float]:
    totals = {"sse_e": 0.0, "sse_f": 0.0, "n_e": 0, "n_f": 0}
    for start in range(0, len(items), 64):
        batch = collate(items[start : start + 64]).to(device)
        _, parts = batch_loss(model, batch, cfg, create_graph=False)
        for k in totals:
            totals[k] += parts[k]
    e = math.sqrt(totals["sse_e"] / max(totals["n_e"], 1))
    f = math.sqrt(totals["sse_f"] / max(totals["n_f"], 1))
    return {"energy_rmse_mev_per_atom": e, "force_rmse": f, "loss": cfg.energy_weight * e**2 + cfg.force_weight * f**2}


def split_indices(structures, cfg: TrainConfig) -> dict[str, np.ndarray]:

    if cfg.split == "random":
        train, val, test = split_random(len(structures), cfg.split_fractions, cfg.seed)
        return {"train": train, "val": val, "test": test}
    inside, outside = split_by_strength(structures, tuple(cfg.train_range))
    f_train, f_val, _ = cfg.split_fractions
    parts = split_random(len(inside), [f_train, f_val, 1 - f_train - f_val], cfg.seed)
    return {"train": inside[parts[0]], "val": inside[parts[1]], "test": inside[parts[2]], "extrapolation": outside}


def read_and_split(cfg: TrainConfig) -> tuple[list, dict[str, np.ndarray]]:
    """All structures (`data`, then `train_only_data`, then `domain_data`) and the split:
    `data` is split by split_indices, the `train_only_data` frames join the training split,
    and the `domain_data` frames join it too except the wider-domain test split of the
    config's ``domain_split`` rule (``splits["domain_test"]``, never trained on)."""

    structures = read_structures(cfg.data, species=["B", "N"])
    splits = split_indices(structures, cfg)
    if cfg.train_only_data:
        extra = read_structures(cfg.train_only_data, species=["B", "N"])
        splits["train"] = np.concatenate([splits["train"], np.arange(len(structures), len(structures) + len(extra))])
        structures = structures + extra
    if cfg.domain_data:
        domain = read_structures(cfg.domain_data, species=["B", "N"])
        train_part, test_part = domain_split(domain, rule=cfg.domain_split)
        first = len(structures)
        splits["train"] = np.concatenate([splits["train"], first + np.asarray(train_part, dtype=int)])
        splits["domain_test"] = first + np.asarray(test_part, dtype=int)
        structures = structures + domain
    return structures, splits


def train(cfg: TrainConfig, out: str | Path, resume: bool = False, quiet: bool = False) -> dict[str, Any]:
    """Train a model; returns the final summary (also written to RUN_DIR/summary.json)."""

    cfg.check()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    last_path, best_path = out / "last.pt", out / "best.pt"
    state = load_checkpoint(last_path) if resume else None
    if resume and state is None:
        raise UserError(f"--resume: {last_path} does not exist")
    if state is not None:
        saved = TrainConfig.from_dict(state["train_config"])
        if saved.to_dict() | {"epochs": cfg.epochs} != cfg.to_dict():
            cfg = TrainConfig.from_dict(saved.to_dict() | {"epochs": cfg.epochs})  # resume what was started
    elif last_path.exists():
        raise UserError(f"{out} already holds a run (last.pt): use --resume to continue it or another --out")
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    device = pick_device(cfg.device)
    (out / "config.toml").write_text(cfg.to_toml())

    log = (lambda *a: None) if quiet else (lambda *a: print(*a, flush=True))
    structures, splits = read_and_split(cfg)
    if len(splits["train"]) == 0 or len(splits["val"]) == 0:
        raise UserError(f"{len(structures)} structures leave an empty training or validation split")
    torch.manual_seed(cfg.seed)
    model = AreaNet(cfg.model_config())
    labels = [f"structure {k}" for k in range(len(structures))]
    items = prepare(model, structures, labels, progress_desc="" if quiet else "elements")
    train_items = [items[k] for k in splits["train"]]
    val_items = [items[k] for k in splits["val"]]
    stats = fit_statistics(model, train_items)
    if cfg.forces == "conservative" and has_frame_features(model):  # once, not every step
        attach_geometry(model, train_items + val_items)
    if stats["constant_features"] and cfg.dims == 3:
        log(f"warning: {stats['constant_features']} inputs never vary in the training data "
            "(z of an in-plane data set?): the model cannot learn them; use dims = 2 or add 3D data")
    model.to(device)
    if cfg.precision == "float32":  # only the MLP weights; checkpoints load back into float64 models
        model.mlps.float()
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    steps_per_epoch = math.ceil(len(train_items) / cfg.batch_size)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=cfg.epochs * steps_per_epoch, eta_min=cfg.lr_final
    )
    history: list[dict[str, float]] = []
    best_val = math.inf
    start_epoch = 0
    hash_ = data_hash(structures)
    if state is not None:
        model.load_state_dict(state["state_dict"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        scheduler.T_max = cfg.epochs * steps_per_epoch  # more epochs may have been asked for
        history, best_val, start_epoch = state["history"], state["best_val"], state["epoch"] + 1
        log(f"resuming {out} at epoch {start_epoch + 1} of {cfg.epochs}")

    def payload(epoch: int) -> dict[str, Any]:
        return {
            "kind": CHECKPOINT_KIND, "epoch": epoch, "model_config": model.config.to_dict(),
            "train_config": cfg.to_dict(), "state_dict": {k: v.cpu() for k, v in model.state_dict().items()},
            "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "history": history,
            "best_val": best_val, "data_hash": hash_, "splits": {k: v.tolist() for k, v in splits.items()},
            "n_structures": len(structures),
        }

    log(f"{len(structures)} structures: {len(train_items)} train / {len(val_items)} val / "
        f"{len(splits['test'])} test; model {cfg.order} order, dims {cfg.dims}, centers {cfg.centers}, "
        f"{cfg.forces} forces, {sum(p.numel() for p in model.parameters())} parameters, on {device}")
    t0 = time.perf_counter()
    for epoch in range(start_epoch, cfg.epochs):
        model.train()
        order = torch.randperm(len(train_items), generator=torch.Generator().manual_seed(cfg.seed * 100003 + epoch))
        batches = [order[k : k + cfg.batch_size].tolist() for k in range(0, len(order), cfg.batch_size)]
        epoch_start = time.perf_counter()
        show_bar = not quiet and sys.stderr.isatty()  # in a log, the epoch lines below suffice
        for idx in progress(batches, desc=f"epoch {epoch + 1}/{cfg.epochs}") if show_bar else batches:
            batch = collate([train_items[k] for k in idx]).to(device)
            loss, _ = batch_loss(model, batch, cfg, create_graph=model.conservative)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 100.0)
            optimizer.step()
            scheduler.step()
        model.eval()
        val = evaluate_split(model, val_items, cfg, device)
        row = {"epoch": epoch + 1, "lr": scheduler.get_last_lr()[0], "seconds": time.perf_counter() - epoch_start,
               **{f"val_{k}": v for k, v in val.items()}}
        history.append(row)
        improved = val["loss"] < best_val
        if improved:
            best_val = val["loss"]
            save_checkpoint(best_path, payload(epoch))
        save_checkpoint(last_path, payload(epoch))
        log(f"epoch {epoch + 1:4d}  val E {val['energy_rmse_mev_per_atom']:.4f} meV/atom  "
            f"F {val['force_rmse']:.4f} eV/Å  lr {row['lr']:.2e}  {row['seconds']:.1f} s{'  *' if improved else ''}")
    (out / "history.json").write_text(json.dumps(history, indent=1))
    summary: dict[str, Any] = {"run": str(out), "epochs": cfg.epochs, "train_seconds": time.perf_counter() - t0,
                               "best_val": best_val, "data_hash": hash_}
    if len(splits["test"]):
        summary["test"] = test_best(best_path, structures, splits["test"], out / "test", quiet)
    if len(splits.get("domain_test", [])):
        summary["domain_test"] = test_best(best_path, structures, splits["domain_test"], out / "domain-test",
                                           quiet, key="domain_test_metrics")
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary


def test_best(best_path: Path, structures, test_idx, out_dir: Path, quiet: bool,
              key: str = "test_metrics") -> dict[str, Any]:
    """Evaluate best.pt on a test split with the paper's metrics and store them in it (``key``)."""

    payload = load_checkpoint(best_path)
    test = [structures[k] for k in test_idx]
    result = evaluate_predictions(test, predict(model_from_checkpoint(payload), test), out_dir,
                                  train_range=tuple(payload["train_config"]["train_range"]))
    if not quiet:
        print(format_table(result))
    payload[key] = {k: result[k] for k in ("all", "B", "N") if k in result}
    save_checkpoint(best_path, payload)
    return payload[key]
