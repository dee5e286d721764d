"""Section (a), accuracy: the report's tables on the model's DFT test split and the extrapolation points;
how a model file or checkpoint becomes an ASE calculator and which split it was tested on."""
from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

from areanet.potential import AreaNetCalculator, export_model, read_metadata

from ...data.structures import data_hash, read_structures
from ...errors import UserError
from ...fit.checkpoint import load_checkpoint, model_from_checkpoint
from ...fit.config import TrainConfig
from ...fit.predict import predict
from ...fit.train import read_and_split
from ...paths import REPOSITORY
from ...scoring.evaluate import evaluate_predictions


def is_checkpoint(path: str | Path) -> bool:
    """A training checkpoint (torch.save dict), as opposed to an exported TorchScript file."""

    path = Path(path)
    if not zipfile.is_zipfile(path):
        return True  # old-style torch.save; let load_checkpoint say what it is
    with zipfile.ZipFile(path) as z:
        return not any("/code/" in n for n in z.namelist())


def model_calculator(model: str | Path, workdir: Path):
    """An AreaNetCalculator for an exported model or a (conservative) checkpoint."""

    path = Path(model)
    if not path.is_file():
        raise UserError(f"{path}: no such model or checkpoint")
    if is_checkpoint(path):
        net = model_from_checkpoint(load_checkpoint(path))
        if not net.conservative:
            raise UserError(f"{path} is a direct-force model: it has no energy surface to "
                            "validate (train with forces = \"conservative\")")
        exported = export_model(net.eval(), workdir / "model-from-checkpoint.pt")
        return AreaNetCalculator(exported)
    return AreaNetCalculator(path)


def _resolve(path: str) -> Path:
    p = Path(path)
    if p.is_file():
        return p
    q = REPOSITORY / path
    return q if q.is_file() else p


def model_training_info(model: str | Path) -> dict:
    """train_config, data_hash and (checkpoints) splits of a model."""
    if is_checkpoint(model):
        payload = load_checkpoint(model)
        return {"train_config": payload.get("train_config") or {},
                "data_hash": payload.get("data_hash"), "splits": payload.get("splits"),
                "test_metrics": payload.get("test_metrics")}

    meta = read_metadata(model)
    return {"train_config": meta.get("train_config") or {}, "data_hash": meta.get("data_hash"),
            "splits": None, "test_metrics": meta.get("test_metrics")}


def training_split(model, dft_data=None) -> tuple[list, dict, list[Path], str]:
    """The structures a model was trained on, its split (``train``, ``val``, ``test`` index
    arrays, as training made them: checkpoints store it, model files have it rebuilt from their
    config with the data hash checked), the files and how the split was obtained."""
    info = model_training_info(model)
    cfg = info["train_config"]
    files = [str(p) for p in dft_data] if dft_data else cfg.get("data") or []
    if not files:
        raise UserError("the model records no training data: give --test-data")
    paths = [_resolve(f) for f in files]
    extra = [] if dft_data else [_resolve(f) for f in cfg.get("train_only_data") or []]
    extra += [] if dft_data else [_resolve(f) for f in cfg.get("domain_data") or []]
    missing = [str(p) for p in paths + extra if not p.is_file()]
    if missing:
        raise UserError(f"training data {', '.join(missing)} not found: give --dft-data or "
                        "--test-data")
    n_extra = len(cfg.get("train_only_data") or []) if not dft_data else 0
    resolved = TrainConfig.from_dict({**cfg, "data": [str(p) for p in paths],
                                      "train_only_data": [str(p) for p in extra[:n_extra]],
                                      "domain_data": [str(p) for p in extra[n_extra:]]})
    structures, splits = read_and_split(resolved)  # as training read and split them
    recorded = info.get("data_hash")
    if recorded and data_hash(structures) != recorded:
        raise UserError(f"{', '.join(map(str, paths + extra))} are not the data the model was trained "
                        "on (data hash differs): give --test-data")
    if info.get("splits") and info["splits"].get("test") is not None:
        splits = {**splits, **{k: v for k, v in info["splits"].items() if v is not None}}
        how = "the test split stored in the checkpoint"
    else:
        how = "the test split rebuilt from the model's training config (data hash checked)"
    return structures, splits, paths + extra, how


def test_structures(model, test_data=None, dft_data=None) -> tuple[list, str]:
    """The DFT test split of ``model`` (list of Atoms) and a sentence saying where it came from.

    ``test_data`` files are used as they are. Otherwise the model's training data (its
    config, or ``dft_data``) is read, checked against the data hash the model recorded, and
    split again exactly as training did (checkpoints store the split itself).
    """

    if test_data:
        structures = read_structures([str(p) for p in test_data])
        return structures, f"all {len(structures)} structures of {', '.join(map(str, test_data))}"
    structures, splits, files, how = training_split(model, dft_data)
    chosen = [structures[int(k)] for k in splits["test"]]
    if not chosen:
        raise UserError("the model's test split is empty: give --test-data")
    return chosen, f"{how}: {len(chosen)} of {len(structures)} structures of " + \
        ", ".join(str(p.name) for p in files)


def section_accuracy(model, out: Path, test_data, dft_data, extrap_data, train_range) -> dict:
    result: dict[str, Any] = {}
    test, source = test_structures(model, test_data, dft_data)
    result["test_source"] = source
    pred_test = predict(str(model), test)
    result["test"] = evaluate_predictions(test, pred_test, out / "accuracy-test",
                                          train_range=train_range, title="DFT test split")
    if extrap_data and Path(extrap_data).is_file():
        extrap = read_structures(str(extrap_data))
        pred_extrap = predict(str(model), extrap)
        result["extrap"] = evaluate_predictions(extrap, pred_extrap, out / "accuracy-extrap",
                                                train_range=train_range, plots=False,
                                                title="extrapolation points")
        result["strength"] = evaluate_predictions(
            test + extrap, pred_test + pred_extrap, out / "accuracy-strength",
            train_range=train_range, title="test split + extrapolation points")
        result["extrap_source"] = str(extrap_data)
        # keep the figures the report shows: parity of the test split, strength of all
        (out / "accuracy-strength" / "parity.png").unlink(missing_ok=True)
        (out / "accuracy-test" / "strength.png").unlink(missing_ok=True)
    return result
