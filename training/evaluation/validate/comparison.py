"""Section (f), the comparison study: representations and force modes trained with the same split,
loop and budget."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from areanet.potential.symmetry_functions import SymmetryFunctionNet

from ...data.structures import read_structures
from ...errors import UserError
from ...fit import checkpoint as checkpoint_module
from ...fit import train as train_module
from ...fit.checkpoint import load_checkpoint, model_from_checkpoint
from ...fit.config import TrainConfig
from ...fit.predict import predict
from ...fit.train import train
from ...paths import DEFAULT_EXTRAP
from ...scoring.evaluate import evaluate_predictions, markdown_table
from .accuracy import _resolve, model_training_info
from .markdown import _f


# (key, description, TrainConfig overrides, representation)
COMPARISON = [
    ("ho-conservative", "area element, high order (12 vertices), conservative (SiLU)",
     {"order": "high", "forces": "conservative", "activation": ""}, "area"),
    ("lo-conservative", "area element, low order (A, E, I + ring centroids), conservative (SiLU)",
     {"order": "low", "forces": "conservative", "activation": ""}, "area"),
    ("ho-direct", "area element, high order, the report's direct force head (LeakyReLU)",
     {"order": "high", "forces": "direct", "activation": ""}, "area"),
    ("bp-conservative", "Behler–Parrinello G2/G4 symmetry functions, R_c = 3.6 Å, conservative (SiLU)",
     {"order": "high", "forces": "conservative", "activation": ""}, "bp"),
]


class _Representation:
    """Within the block, `areanet train` builds SymmetryFunctionNet instead of AreaNet (the
    training loop, data, split and evaluation are untouched): the loop builds the model, and
    the checkpoint module rebuilds it from best.pt, so both see the swapped class."""

    MODULES = (train_module, checkpoint_module)

    def __init__(self, kind: str):
        self.kind = kind

    def __enter__(self):
        self.saved = [module.AreaNet for module in self.MODULES]
        if self.kind == "bp":
            for module in self.MODULES:
                module.AreaNet = SymmetryFunctionNet
        return self

    def __exit__(self, *exc):
        for module, cls in zip(self.MODULES, self.saved):
            module.AreaNet = cls


def run_comparison(model, runs_dir: str | Path, epochs: int, extrap_data=DEFAULT_EXTRAP,
                   log: Callable = print) -> list[dict]:
    """Train every variant of :data:`COMPARISON` with the training config of ``model`` (same
    data, split, seed, batch size, learning-rate schedule, loss) for ``epochs`` epochs each;
    resumable (a finished run is read back, an interrupted one continues)."""

    base = dict(model_training_info(model)["train_config"])
    if not base.get("data"):
        raise UserError(f"{model} records no training config: cannot rerun its training")
    base["data"] = [str(_resolve(p)) for p in base["data"]]
    base["train_only_data"] = [str(_resolve(p)) for p in base.get("train_only_data") or []]
    runs_dir = Path(runs_dir)
    extrap = read_structures(str(extrap_data)) if extrap_data and Path(extrap_data).is_file() else []
    rows = []
    for key, description, overrides, kind in COMPARISON:
        run_dir = runs_dir / key
        summary_path = run_dir / "summary.json"
        cfg = TrainConfig.from_dict({**base, **overrides, "epochs": epochs})
        if (run_dir / "last.pt").is_file():  # never mix runs of another configuration
            saved = load_checkpoint(run_dir / "last.pt")["train_config"]
            ignore = {"epochs", "threads", "device", "data"}
            changed = sorted(k for k, v in cfg.to_dict().items()
                             if k not in ignore and saved.get(k) != v)
            if [Path(p).resolve() for p in saved.get("data", [])] != \
                    [Path(p).resolve() for p in cfg.data]:
                changed.append("data")
            if changed or saved.get("epochs") != epochs:
                raise UserError(f"{run_dir} was trained with another configuration "
                                f"({', '.join(changed) or 'epochs'} differ): give another "
                                "--compare directory")
        with _Representation(kind):
            if not summary_path.is_file():
                log(f"comparison: training {key} ({epochs} epochs) in {run_dir}")
                train(cfg, run_dir, resume=(run_dir / "last.pt").is_file(), quiet=True)
            summary = json.loads(summary_path.read_text())
            payload = load_checkpoint(run_dir / "best.pt")

            net = model_from_checkpoint(payload)
            n_params = sum(p.numel() for p in net.parameters())
            extrap_metrics = None
            if extrap:
                extrap_metrics = evaluate_predictions(extrap, predict(net, extrap),
                                                      run_dir / "extrap", plots=False)
        test = summary.get("test", {}).get("all", {})
        rows.append({"key": key, "description": description, "parameters": int(n_params),
                     "epochs": epochs, "best_epoch": int(payload.get("epoch", -1)) + 1,
                     "train_seconds": summary.get("train_seconds"),
                     "test": test, "extrap": (extrap_metrics or {}).get("all"),
                     "extrap_by_strength": (extrap_metrics or {}).get("by_strength")})
    return rows


def format_comparison(rows: list[dict]) -> str:
    header = ["model", "parameters", "test E RMSE (meV/atom)", "test |F| RMSE (eV/Å)",
              "test angle MAE (°)", "extrap. E RMSE (meV/atom)", "extrap. |F| RMSE (eV/Å)",
              "|F| RMSE at 7.5 % (eV/Å)", "train time"]  # markdown_table escapes the bars
    out = []
    for r in rows:
        t, x = r["test"] or {}, r["extrap"] or {}
        top = [lv for lv in (r.get("extrap_by_strength") or []) if abs(lv["strength_pct"] - 7.5) < 1e-6]
        out.append([r["description"], str(r["parameters"]),
                    _f(t.get("energy_per_atom_rmse_mev"), "{:.3f}"),
                    _f(t.get("force_magnitude_rmse"), "{:.4f}"),
                    _f(t.get("force_angle_mae_deg"), "{:.2f}"),
                    _f(x.get("energy_per_atom_rmse_mev"), "{:.3f}"),
                    _f(x.get("force_magnitude_rmse"), "{:.4f}"),
                    _f(top[0]["force_magnitude_rmse"] if top else None, "{:.4f}"),
                    _f(r.get("train_seconds"), "{:.0f} s")])
    return markdown_table(header, out)
