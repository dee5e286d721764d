"""The training domain of a trained model, for ``areanet export`` (potential/domain.py).

The feature ranges are computed over the structures that trained the model: the training
split of its config (``data``, split as in training, plus ``train_only_data``), read
again from the data files and checked against the data hash the checkpoint or model file
recorded, so that a changed file never gives a silently wrong domain.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from areanet.potential.domain import Domain, feature_domain

from ..data.structures import data_hash
from ..errors import UserError
from .config import TrainConfig
from .train import read_and_split


def training_domain(module: torch.nn.Module, train_config: dict[str, Any], expected_hash: str | None,
                    train_indices: list[int] | None = None) -> tuple[Domain, str]:
    """(the domain, a one-line description) from the training data of ``train_config``.

    ``train_indices`` (a checkpoint's stored training split) are used when given, else the
    split is recomputed from the config (the same seed gives the same split). UserError,
    naming what is missing or different, when the data cannot be read or its hash differs.
    """
    if not train_config or not train_config.get("data"):
        raise UserError("the model records no training configuration (train_config), so its "
                        "training data is unknown")
    cfg = TrainConfig.from_dict(train_config)
    missing = [p for p in cfg.data + cfg.train_only_data if not Path(p).exists()]
    if missing:
        raise UserError(f"its training data file {missing[0]} is not found (paths are as recorded "
                        "at training, relative to the directory training ran in)")
    structures, splits = read_and_split(cfg)
    found = data_hash(structures)
    if expected_hash and found != expected_hash:
        raise UserError(f"the data files {', '.join(cfg.data + cfg.train_only_data)} have hash "
                        f"{found[:12]}..., the model was trained on data with hash "
                        f"{expected_hash[:12]}...: they changed since training")
    indices = list(train_indices) if train_indices is not None else splits["train"].tolist()
    domain = feature_domain(module, [structures[k] for k in indices])
    counts = ", ".join(f"{s} {int(n)}" for s, n in zip(module.species, domain.centres))
    return domain, f"{len(indices)} training structures, centres {counts}"
