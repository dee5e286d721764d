"""The wider-domain test split: a property of each frame alone (reproducible, independent of
file order, stable as the set grows), stratified reporting, and the benchmark that uses it."""
import json
import random
from collections import Counter

import pytest

from areanet.training.cli import main
from areanet.training.data.splits import domain_split, is_domain_test, is_outer, stratum
from areanet.training.data.structures import read_structures

STRAIN = "data/hbn_pbe_strain.extxyz.gz"
HOT = "data/hbn_pbe_md_hot.extxyz.gz"


def frames():
    return read_structures([STRAIN, HOT])


def test_split_is_reproducible_and_order_free():
    every = frames()
    train, test = domain_split(every)
    assert sorted(train + test) == list(range(len(every))) and not set(train) & set(test)
    assert test, "the documented frames hold test frames"
    keys = {id(a) for a in (every[k] for k in test)}
    shuffled = every[:]
    random.Random(1).shuffle(shuffled)
    _, test2 = domain_split(shuffled)
    assert {id(shuffled[k]) for k in test2} == keys
    # a set that grows (here: the first half, then all) never moves a frame between splits
    half = every[: len(every) // 2]
    _, test_half = domain_split(half)
    assert set(test_half) == {k for k in test if k < len(half)}


def test_split_fraction_and_key():
    every = frames()
    atoms = every[0]
    fractions = []
    for fraction in (0.1, 0.5):
        hits = 0
        for k in range(4000):
            atoms.info["source_hash"] = f"{k:024x}"
            hits += is_domain_test(atoms, fraction)
        fractions.append(hits / 4000)
    assert abs(fractions[0] - 0.1) < 0.02 and abs(fractions[1] - 0.5) < 0.03, fractions


def test_strata_name_strain_range_and_temperature():
    names = {stratum(a) for a in frames()}
    assert {"300 K", "1000 K", "1500 K", "2000 K"} <= names
    assert "strain -10 … -6 %" in names and "strain +6 … +10 %" in names
    atoms = frames()[0].copy()
    atoms.info = {}
    assert stratum(atoms) == "other"


def test_bench_domain_prints_every_stratum(tmp_path, capsys):
    assert main(["bench", "domain", "--model", "models/hbn-pbe.pt", "--data", HOT, "--no-old-split",
                 "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "domain.json").read_text())
    assert set(result["all_frames"]) == {"300 K", "1000 K", "1500 K", "2000 K"}
    per_temperature = Counter(f"{float(a.info['temperature_K']):.0f} K" for a in read_structures(HOT))
    assert {name: r["frames"] for name, r in result["all_frames"].items()} == per_temperature
    # the shipped model, trained to 1000 K, is worse at 2000 K than at 300 K
    assert result["all_frames"]["2000 K"]["force_magnitude_rmse"] > result["all_frames"]["300 K"]["force_magnitude_rmse"]
    text = (tmp_path / "domain.md").read_text()
    assert "| 2000 K |" in text and "whole test split" in text
    assert "Accuracy over the wider domain" in capsys.readouterr().out


def test_domain_data_trains_except_its_test_split():
    """`domain_data` in a training config: its frames join the training split, except the
    wider-domain test split, which is held out as splits['domain_test'] (never trained)."""
    from areanet.training.fit.config import TrainConfig
    from areanet.training.fit.train import read_and_split

    base = TrainConfig.load("models/hbn-pbe.toml")
    structures, splits = read_and_split(base)
    wide = TrainConfig.load("models/hbn-pbe.toml", [f'domain_data=["{STRAIN}", "{HOT}"]'])
    wide_structures, wide_splits = read_and_split(wide)
    # today's frames and splits unchanged
    assert wide_splits["train"][: len(splits["train"])].tolist() == splits["train"].tolist()
    assert wide_splits["val"].tolist() == splits["val"].tolist()
    assert wide_splits["test"].tolist() == splits["test"].tolist()
    domain = frames()
    _, test = domain_split(domain)
    first = len(structures)
    assert wide_splits["domain_test"].tolist() == [first + k for k in test]
    added = set(wide_splits["train"].tolist()) - set(splits["train"].tolist())
    assert added == {first + k for k in range(len(domain))} - set(wide_splits["domain_test"].tolist())
    assert len(wide_structures) == first + len(domain)


def test_outer_rule_tests_beyond_the_inner_domain():
    """`outer`: train inside (|strain| <= 6 %, T <= 1000 K), test outside; read from each frame."""
    from ase import Atoms

    from areanet.training.data.splits import is_outer, largest_strain_pct

    def frame(**info):
        atoms = Atoms("BN", positions=[[0, 0, 0], [1.45, 0, 0]], cell=[3, 3, 12], pbc=True)
        atoms.info.update(info)
        return atoms

    cases = [(frame(strain_pct=-6.0), False), (frame(strain_pct=8.0), True),
             (frame(strain_pct=-10.0), True), (frame(temperature_K=1000.0), False),
             (frame(temperature_K=1500.0), True),
             (frame(temperature_K=300.0, strain_xx=0.03, strain_yy=0.03, strain_xy=0.0), False),
             (frame(temperature_K=300.0, strain_xx=0.06, strain_yy=0.0, strain_xy=0.0), False),
             (frame(temperature_K=300.0, strain_xx=0.0, strain_yy=0.0, strain_xy=0.07), True),
             (frame(), False)]
    assert [is_outer(a) for a, _ in cases] == [want for _, want in cases]
    assert largest_strain_pct(cases[7][0]) == pytest.approx(7.0)
    train, test = domain_split([a for a, _ in cases], rule="outer")
    assert test == [k for k, (_, want) in enumerate(cases) if want]
    assert sorted(train + test) == list(range(len(cases)))
    with pytest.raises(ValueError):
        domain_split([], rule="corners")


def test_outer_rule_in_a_training_config_and_the_benchmark(tmp_path):
    from areanet.training.errors import UserError
    from areanet.training.fit.config import TrainConfig
    from areanet.training.fit.train import read_and_split

    cfg = TrainConfig.load("models/hbn-pbe.toml", [f'domain_data=["{STRAIN}", "{HOT}"]',
                                                   'domain_split="outer"'])
    structures, splits = read_and_split(cfg)
    held = [structures[k] for k in splits["domain_test"]]
    assert held and all(is_outer(a) for a in held)
    trained = set(splits["train"].tolist())
    first = len(structures) - len(frames())
    inside = [k for k in range(first, len(structures)) if not is_outer(structures[k])]
    assert inside and set(inside) <= trained
    with pytest.raises(UserError, match="domain_split"):
        TrainConfig.load("models/hbn-pbe.toml", ['domain_split="corners"']).check()
    assert main(["bench", "domain", "--model", "models/hbn-pbe.pt", "--data", HOT, "--no-old-split",
                 "--split", "outer", "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "domain.json").read_text())
    assert result["split"] == "outer"
    assert set(result["strata"]) == {"1500 K", "2000 K"}  # only the hot strata lie outside
