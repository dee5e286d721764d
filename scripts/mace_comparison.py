"""areanet against MACE on the same frames (the wider-domain issue, point 4).

    bash scripts/setup_mace.sh                                   # .venv-mace (once, ~2 min)
    .venv-mace/bin/python scripts/mace_comparison.py train --out runs/mace
    .venv-mace/bin/python scripts/mace_comparison.py score --mace runs/mace/mace.model \
        --models models/hbn-pbe.pt runs/cand-*/best.pt --out benchmarks

``train`` writes exactly the training and validation frames of a shipped areanet model
(``--like``, default models/hbn-pbe.pt: its config's seeded split, data hash checked) for
MACE and runs ``mace_run_train`` (32 channels, max L = 1, 2 interactions, 5 Å, 100 epochs,
float64, CPU; resumable: a rerun continues from MACE's latest checkpoint). ``score`` predicts
with MACE and with every areanet model on the same frames — the model's own test split, the
5.5–7.5 % ``extrap`` frames, the strained cells (per strain range) and the hot MD snapshots
(per temperature), none of which trained any of them — and writes the table
(``mace-comparison.md`` / ``.json``) with the command and the machine's load.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from ase.io import write

from areanet.training.data.splits import stratum
from areanet.training.data.structures import read_structures
from areanet.training.evaluation.validate.accuracy import training_split
from areanet.training.fit.predict import predict
from areanet.training.paths import REPOSITORY
from areanet.training.scoring.metrics import energy_metrics, force_metrics

MACE_SETTINGS = ["--model", "MACE", "--num_channels", "32", "--max_L", "1", "--r_max", "5.0",
                 "--num_interactions", "2", "--max_num_epochs", "100", "--batch_size", "4",
                 "--E0s", "average", "--loss", "weighted", "--energy_weight", "1.0",
                 "--forces_weight", "100.0", "--default_dtype", "float64", "--device", "cpu",
                 "--seed", "0", "--ema", "--restart_latest"]
OUT_OF_TRAINING = {"extrap": "data/hbn_pbe_extrap.extxyz.gz",
                   "strain": "data/hbn_pbe_strain.extxyz.gz",
                   "md_hot": "data/hbn_pbe_md_hot.extxyz.gz"}


def _for_mace(frames) -> list:
    """Copies with the labels where mace_run_train reads them (REF_energy, REF_forces)."""
    out = []
    for atoms in frames:
        copy = atoms.copy()
        copy.calc = None
        copy.info = {"REF_energy": atoms.get_potential_energy()}
        copy.arrays["REF_forces"] = atoms.get_forces().copy()
        out.append(copy)
    return out


def cmd_train(args) -> int:
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    structures, splits, files, how = training_split(args.like)
    for name in ("train", "val"):
        write(out / f"{name}.xyz", _for_mace([structures[int(k)] for k in splits[name]]),
              format="extxyz")
    print(f"mace_comparison: {len(splits['train'])} training and {len(splits['val'])} validation "
          f"frames of {args.like} ({how})", flush=True)
    command = [str(Path(sys.executable).parent / "mace_run_train"), "--name", "mace",
               "--work_dir", str(out), "--model_dir", str(out),
               "--train_file", str(out / "train.xyz"), "--valid_file", str(out / "val.xyz"),
               "--energy_key", "REF_energy", "--forces_key", "REF_forces", *MACE_SETTINGS]
    (out / "command.txt").write_text(" ".join(command) + "\n")
    start = time.time()
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    proc = subprocess.run(command, cwd=out, env=env)
    print(f"mace_comparison: mace_run_train rc {proc.returncode} in {time.time() - start:.0f} s; "
          f"model {out / 'mace.model'}", flush=True)
    return proc.returncode


def _mace_predictions(model: Path, frames) -> list[tuple[float, np.ndarray]]:
    from mace.calculators import MACECalculator

    calc = MACECalculator(model_paths=str(model), device="cpu", default_dtype="float64")
    out = []
    for atoms in frames:
        copy = atoms.copy()
        copy.calc = calc
        out.append((float(copy.get_potential_energy()), copy.get_forces().copy()))
    return out


def _errors(frames, predictions) -> dict:
    metrics = energy_metrics([a.get_potential_energy() for a in frames], [p[0] for p in predictions],
                             [len(a) for a in frames])
    metrics.update(force_metrics(np.concatenate([a.get_forces() for a in frames]),
                                 np.concatenate([p[1] for p in predictions])))
    return {"frames": len(frames), "energy_mev": metrics["energy_per_atom_rmse_mev"],
            "force_magnitude": metrics["force_magnitude_rmse"]}


def _groups(like: str) -> dict[str, list]:
    """The frame groups of the table, in order: the reference model's test split, then the
    out-of-training files, the strained and hot ones by stratum."""
    structures, splits, _, _ = training_split(like)
    groups: dict[str, list] = {"test split of " + Path(like).name: [structures[int(k)] for k in splits["test"]]}
    for name, path in OUT_OF_TRAINING.items():
        frames = read_structures(str(REPOSITORY / path))
        if name == "extrap":
            groups["extrap (5.5–7.5 % displacements)"] = frames
            continue
        by_stratum: dict[str, list] = defaultdict(list)
        for atoms in frames:
            by_stratum[stratum(atoms)].append(atoms)
        for key in sorted(by_stratum, key=_stratum_order):
            groups[key] = by_stratum[key]
    return groups


def _stratum_order(key: str) -> tuple:
    if key.startswith("strain"):
        return (0, float(key.split()[1]))
    if key.endswith(" K"):
        return (1, float(key.split()[0]))
    return (2, 0.0)


def cmd_score(args) -> int:
    groups = _groups(args.like)
    models = {Path(m).parent.name + "/" + Path(m).name if Path(m).name == "best.pt" else Path(m).name: m
              for m in args.models}
    if args.ensemble:
        models[f"mean of {len(args.ensemble)}"] = args.ensemble
    if args.mace:
        models["MACE"] = args.mace
    results: dict[str, dict[str, dict]] = {}
    for label, path in models.items():
        start = time.time()
        results[label] = {}
        for group, frames in groups.items():
            if label == "MACE":
                predictions = _mace_predictions(Path(path), frames)
            elif isinstance(path, list):  # the ensemble: the members' mean energy and forces
                members = [predict(str(m), frames) for m in path]
                predictions = [(float(np.mean([m[k][0] for m in members])),
                                np.mean([m[k][1] for m in members], axis=0)) for k in range(len(frames))]
            else:
                predictions = [(e, f) for e, f, _ in predict(str(path), frames)]
            results[label][group] = _errors(frames, predictions)
        print(f"mace_comparison: scored {label} in {time.time() - start:.0f} s", flush=True)
    command = "scripts/mace_comparison.py " + " ".join(sys.argv[1:])
    load = os.getloadavg()
    lines = ["# areanet models (and MACE) on the same frames", "",
             f"`.venv-mace/bin/python {command}`", "",
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.node()}, "
             f"{os.cpu_count()} cores, load {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}", "",
             "Energy-per-atom RMSE (meV/atom) / force-magnitude RMSE (eV/Å); every model trained on "
             f"the training split of {Path(args.like).name} only, so every group but its "
             "validation split is unseen.", "",
             "| frames | n | " + " | ".join(models) + " |",
             "|---|---:|" + "---:|" * len(models)]
    for group, frames in groups.items():
        cells = [f"{results[m][group]['energy_mev']:.2f} / {results[m][group]['force_magnitude']:.3f}"
                 for m in models]
        lines.append(f"| {group} | {len(frames)} | " + " | ".join(cells) + " |")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "mace-comparison.md").write_text("\n".join(lines) + "\n")
    (out / "mace-comparison.json").write_text(json.dumps(
        {"command": command, "models": models, "results": results, "load": load}, indent=1))
    print("\n".join(lines))
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    tr = sub.add_parser("train", help="train MACE on the training split of --like")
    tr.add_argument("--like", default="models/hbn-pbe.pt", help="areanet model whose split to use")
    tr.add_argument("--out", required=True, help="run directory")
    tr.add_argument("--threads", type=int, default=2)
    tr.set_defaults(func=cmd_train)
    sc = sub.add_parser("score", help="score MACE and areanet models on the same frames")
    sc.add_argument("--like", default="models/hbn-pbe.pt", help="areanet model whose test split to use")
    sc.add_argument("--mace", help="MACE model file (mace_run_train's NAME.model)")
    sc.add_argument("--models", nargs="+", default=["models/hbn-pbe.pt"], help="areanet models or checkpoints")
    sc.add_argument("--ensemble", nargs="+", help="areanet models scored together by their mean prediction")
    sc.add_argument("--out", default="benchmarks")
    sc.set_defaults(func=cmd_score)
    args = p.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
