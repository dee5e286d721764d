"""Checkpoints written before the training/ layout moved into stage folders still load.

tests/data/checkpoint_v0_1.pt is the best.pt of a 2-epoch run made with the code of commit
3386aa6 (flat training/): 21 frames of `generate("paper", "extep", per_level=1, seed=5)`,
TrainConfig(epochs=2, batch_size=4, dims=2, lr=5e-3, seed=3, threads=1). The energy and
forces below were predicted by that code for the structure built in `_probe()`.
"""
from pathlib import Path

import numpy as np
import pytest

from areanet.training.data.sheets import perfect_sheet
from areanet.training.fit.predict import predict
from areanet.training.fit.checkpoint import load_checkpoint, model_from_checkpoint

OLD = Path(__file__).parent / "data" / "checkpoint_v0_1.pt"


def _probe():
    atoms = perfect_sheet(2.505, 3, 2)
    atoms.positions += np.random.default_rng(1).uniform(-0.05, 0.05, atoms.positions.shape)
    return atoms


def test_old_checkpoint_loads_and_predicts_as_before():
    payload = load_checkpoint(OLD)
    assert payload["epoch"] == 0 and payload["data_hash"].startswith("4036aebc")
    model = model_from_checkpoint(payload)
    assert model.species == ["B", "N"]
    energy, forces, mask = predict(model, [_probe()])[0]
    assert mask is None
    assert energy == pytest.approx(-159.56761503438577, abs=1e-9)
    np.testing.assert_allclose(forces[:2], [[0.30510779, -0.61254955, 0.00407964],
                                            [-0.48907985, -0.05759184, 0.0085972]], atol=1e-7)
