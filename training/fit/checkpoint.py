"""Training checkpoints (best.pt / last.pt of `areanet train`): write, read, rebuild the model.

A checkpoint is ``torch.save`` of a plain dict: tensors, numbers, strings, lists and dicts
(the model and training configs as ``to_dict()``), never pickled areanet classes, so no
module path of this package is stored in it and moving modules cannot break old files
(tests/test_checkpoint_compat.py loads one written before the stage folders).
Below both the training loop and prediction, which read it.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from areanet.potential.config import ModelConfig
from areanet.potential.export import ModelFileError, verified_zip_entries
from areanet.potential.model import AreaNet

from ..errors import UserError

CHECKPOINT_KIND = "areanet-checkpoint"


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)  # an interruption never leaves a half-written checkpoint


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{path} is a directory, not a checkpoint: pass a file of it, e.g. "
                        f"{path / 'best.pt'}")
    if not path.is_file():
        raise UserError(f"{path}: no such checkpoint")
    try:
        verified_zip_entries(path, "checkpoint", "`areanet train`",
                             "train again (`areanet train ... --resume` restarts from last.pt)",
                             "pass best.pt or last.pt of a training run")
    except ModelFileError as err:
        raise UserError(str(err)) from None
    try:
        payload = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:
        raise UserError(f"{path}: not a readable checkpoint ({err.__class__.__name__})") from None
    if not isinstance(payload, dict) or payload.get("kind") != CHECKPOINT_KIND:
        raise UserError(f"{path}: not an areanet training checkpoint (best.pt / last.pt of `areanet train`)")
    return payload


def model_from_checkpoint(payload: dict[str, Any]) -> AreaNet:
    model = AreaNet(ModelConfig.from_dict(payload["model_config"]))
    model.load_state_dict(payload["state_dict"])
    return model
