"""`areanet train CONFIG.toml [--set key=value ...] --out RUN_DIR [--resume]`.

Parses the options and calls :func:`areanet.training.fit.train.train`; --help shows the first line.
"""
from __future__ import annotations

from pathlib import Path


def register(subparsers) -> None:
    p = subparsers.add_parser("train", help="fit a model to energies and forces",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("config", nargs="?", help="TOML file with TrainConfig keys (optional with --set)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, e.g. --set epochs=50 --set data='[\"a.xyz\"]'")
    p.add_argument("--out", required=True, help="run directory (checkpoints, config, history)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from last.pt")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..fit.config import TrainConfig  # lazy: keeps `areanet --help` fast (torch)
    from ..fit.train import train

    cfg = TrainConfig.load(args.config, args.set)
    summary = train(cfg, args.out, resume=args.resume, quiet=args.quiet)
    print(f"best checkpoint: {Path(args.out) / 'best.pt'}  ({summary['train_seconds']:.0f} s)")
    return 0
