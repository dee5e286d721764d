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


def _damaged_copy(tmp_path, entry_suffix):
    """A copy of OLD with 16 bytes flipped inside the stored data of one zip entry."""
    import zipfile

    data = bytearray(OLD.read_bytes())
    with zipfile.ZipFile(OLD) as archive:
        info = next(i for i in archive.infolist() if i.filename.endswith(entry_suffix))
    # local header: 30 bytes + name + extra, then the stored bytes
    name_len = int.from_bytes(data[info.header_offset + 26:info.header_offset + 28], "little")
    extra_len = int.from_bytes(data[info.header_offset + 28:info.header_offset + 30], "little")
    start = info.header_offset + 30 + name_len + extra_len + info.compress_size // 2
    for k in range(start, start + min(16, info.compress_size // 2)):
        data[k] ^= 0xFF
    path = tmp_path / f"damaged-{entry_suffix.replace('/', '_')}.pt"
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("entry", ["data.pkl", "data/0"])
def test_damaged_checkpoint_is_refused_by_name(tmp_path, entry):
    from areanet.training.errors import UserError
    from areanet.training.fit.predict import load_any

    path = _damaged_copy(tmp_path, entry)
    for load in (load_checkpoint, load_any):
        with pytest.raises(UserError, match=rf"checkpoint {path} is damaged: its zip entry \S*{entry} "
                                            r"does not read back as written"):
            load(path)


def test_directory_is_named_as_a_directory(tmp_path):
    from areanet.training.errors import UserError
    from areanet.training.fit.predict import load_any

    with pytest.raises(UserError, match=r"is a directory, not a model: .*best\.pt"):
        load_any(tmp_path)
    with pytest.raises(UserError, match=r"is a directory, not a checkpoint"):
        load_checkpoint(tmp_path)
