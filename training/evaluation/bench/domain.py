"""`areanet bench domain`: accuracy over the wider domain (strain to ±10 %, MD to 2000 K), per
stratum, on the wider-domain test split and on the model's own test split, against the targets."""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from ...data.splits import DOMAIN_TEST_FRACTION, domain_split, stratum
from ...data.structures import read_structures
from ...errors import UserError
from ...fit.predict import predict
from ...paths import REPOSITORY
from ...scoring.metrics import energy_metrics, force_metrics
from ..validate.accuracy import test_structures
from .common import conditions_text, fmt, header, publish, resolve_model, table

DOMAIN_DATA = ("data/hbn_pbe_strain.extxyz.gz", "data/hbn_pbe_md_hot.extxyz.gz")
# the targets of the wider-domain issue: everywhere in the domain, and on today's test split
TARGET_DOMAIN = {"energy_per_atom_rmse_mev": 0.5, "force_magnitude_rmse": 0.06}
TARGET_OLD_SPLIT = {"energy_per_atom_rmse_mev": 0.22, "force_magnitude_rmse": 0.040}


def errors(frames, predictions) -> dict:
    """Energy-per-atom and force-magnitude RMSE (and counts) of predicted frames."""
    e_ref = [a.get_potential_energy() for a in frames]
    e_pred = [p[0] for p in predictions]
    out = energy_metrics(e_ref, e_pred, [len(a) for a in frames])
    out.update(force_metrics(np.concatenate([a.get_forces() for a in frames]),
                             np.concatenate([p[1] for p in predictions])))
    return {"frames": len(frames), "energy_per_atom_rmse_mev": out["energy_per_atom_rmse_mev"],
            "force_magnitude_rmse": out["force_magnitude_rmse"],
            "force_rmse_xyz": float(np.sqrt(np.mean([out[f"force_rmse_{c}"] ** 2 for c in "xyz"])))}


def verdict(row: dict, target: dict) -> str:
    ok = all(row[k] <= v for k, v in target.items())
    return "pass" if ok else "**fail**"


def cmd_domain(args) -> int:
    model = resolve_model(args.model)
    files = [Path(f) if Path(f).is_file() else REPOSITORY / f for f in args.data]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise UserError(f"no such data file: {', '.join(missing)}")
    frames = read_structures([str(f) for f in files])
    train, test = domain_split(frames, args.fraction, rule=args.split)
    if not test:
        raise UserError(f"the wider-domain test split of {len(frames)} frames is empty")
    print(f"areanet bench domain: {model} on {len(test)} test frames of the wider domain "
          f"({len(frames)} in {', '.join(f.name for f in files)})", flush=True)
    predictions = predict(str(model), frames)
    result = header("domain")
    result.update({"model": str(model), "data": [str(f) for f in files], "fraction": args.fraction,
                   "split": args.split,
                   "n_frames": len(frames), "n_test": len(test), "strata": {}, "all_frames": {}})
    groups: dict[str, list[int]] = defaultdict(list)
    for k in test:
        groups[stratum(frames[k])].append(k)
    every: dict[str, list[int]] = defaultdict(list)
    for k in range(len(frames)):
        every[stratum(frames[k])].append(k)
    for name in sorted(every, key=_order):
        if name in groups:
            result["strata"][name] = errors([frames[k] for k in groups[name]],
                                            [predictions[k] for k in groups[name]])
        result["all_frames"][name] = errors([frames[k] for k in every[name]],
                                            [predictions[k] for k in every[name]])
    result["domain_test"] = errors([frames[k] for k in test], [predictions[k] for k in test])
    if not args.no_old_split:
        old, source = test_structures(str(model))
        result["old_split"] = {**errors(old, predict(str(model), old)), "source": source}
    return publish(args, result, markdown(result))


def _order(name: str):
    if name.endswith(" K"):
        return (1, float(name.split()[0]), "")
    if name.startswith("strain"):
        return (0, float(name.split()[1]), name)
    return (2, 0.0, name)


def markdown(result: dict) -> str:
    head = ["stratum", "test frames", "energy RMSE (meV/atom)", "force-magnitude RMSE (eV/Å)",
            "verdict", "all frames", "energy RMSE, all (meV/atom)", "force-magnitude RMSE, all (eV/Å)"]
    rows = []
    for name, every in result["all_frames"].items():
        row = result["strata"].get(name)
        rows.append([name, str(row["frames"]) if row else "0",
                     fmt(row["energy_per_atom_rmse_mev"]) if row else "–",
                     fmt(row["force_magnitude_rmse"]) if row else "–",
                     verdict(row, TARGET_DOMAIN) if row else "–", str(every["frames"]),
                     fmt(every["energy_per_atom_rmse_mev"]), fmt(every["force_magnitude_rmse"])])
    d = result["domain_test"]
    rows.append(["**whole test split**", str(d["frames"]), fmt(d["energy_per_atom_rmse_mev"]),
                 fmt(d["force_magnitude_rmse"]), verdict(d, TARGET_DOMAIN), str(result["n_frames"]), "", ""])
    lines = ["# Accuracy over the wider domain", "", f"Command: `{result['command']}`", "",
             f"Conditions: {conditions_text(result)}. Model `{result['model']}`; data "
             + ", ".join(f"`{Path(f).name}`" for f in result["data"])
             + (f". Test split: each frame whose content hash draws below {result['fraction']:g} "
                "(`areanet.training.data.splits`; it never trains)"
                if result.get("split", "hash") == "hash" else
                ". Test split `outer`: every frame beyond 6 % strain or 1000 K (a model trained "
                "with `domain_split = \"outer\"` saw only the frames inside)")
             + ". A model trained on none of these "
             "files is measured on all of them as well (right-hand columns). Targets: energy RMSE "
             f"≤ {TARGET_DOMAIN['energy_per_atom_rmse_mev']} meV/atom and force-magnitude RMSE ≤ "
             f"{TARGET_DOMAIN['force_magnitude_rmse']} eV/Å in every stratum.", "", table(rows, head)]
    if "old_split" in result:
        o = result["old_split"]
        lines += [f"Today's test split ({o['source']}): energy RMSE {fmt(o['energy_per_atom_rmse_mev'])} "
                  f"meV/atom, force-magnitude RMSE {fmt(o['force_magnitude_rmse'])} eV/Å; target ≤ "
                  f"{TARGET_OLD_SPLIT['energy_per_atom_rmse_mev']} and ≤ {TARGET_OLD_SPLIT['force_magnitude_rmse']}: "
                  f"{verdict(o, TARGET_OLD_SPLIT)}.", ""]
    return "\n".join(lines)

