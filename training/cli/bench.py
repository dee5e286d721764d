"""``areanet bench ...``: performance benchmarks that print figures (never timed tests).

Parses the options and calls the benchmark of :mod:`areanet.training.evaluation.bench` (one
module per family); --help shows the first line.
"""
from __future__ import annotations

import argparse
import importlib

from ..evaluation.bench.common import DEFAULT_MODEL, DEFAULT_SIZES, STYLES


def int_list(text: str) -> list[int]:
    try:
        values = [int(float(v)) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of integers") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give positive integers")
    return values


def style_list(text: str) -> list[str]:
    names = [v.strip() for v in text.split(",") if v.strip()]
    unknown = [n for n in names if n not in STYLES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown style(s) {unknown}; choose from {', '.join(STYLES)}")
    return names


def _lazy(family: str, name: str):
    """The benchmark function, imported only when it runs: `areanet --help` stays fast."""
    def run(args) -> int:
        return getattr(importlib.import_module(f"areanet.training.evaluation.bench.{family}"), name)(args)
    return run


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "bench", help="benchmarks: LAMMPS MD (sheets, bilayers), NVE drift, ASE calculator, training, "
        "wider-domain accuracy",
        description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="bench_command", required=True, metavar="SUBCOMMAND")

    def common(p, name: str, model: bool = True) -> None:
        if model:
            p.add_argument("--model", default=DEFAULT_MODEL,
                           help=f"exported model file (default {DEFAULT_MODEL})")
        p.add_argument("--out", default="bench-results",
                       help="folder for NAME.json and NAME.md (default: ./bench-results; the "
                       "shipped results are in the repository's benchmarks/: pass --out "
                       "benchmarks to update them)")
        p.add_argument("--name", default=name, help=f"output file stem (default {name})")

    md = sub.add_parser("md", help="LAMMPS throughput, areanet vs extep",
                        description="LAMMPS MD throughput of pair_style areanet vs extep on flat h-BN sheets.")
    common(md, "md")
    md.add_argument("--sizes", type=int_list, default=list(DEFAULT_SIZES), metavar="N,N,...",
                    help="sheet sizes in atoms (multiples of 4; default 60,960,15360,61440)")
    md.add_argument("--ranks", type=int_list, default=[1, 2], metavar="R,R", help="MPI ranks (default 1,2)")
    md.add_argument("--styles", type=style_list, default=["extep", "areanet", "areanet-float32"],
                    metavar="S,S", help=f"pair styles: {', '.join(STYLES)} (default extep,areanet,areanet-float32)")
    md.add_argument("--steps", type=int, default=0, help="timed steps per run (default: from --atom-steps)")
    md.add_argument("--atom-steps", type=float, default=3e6,
                    help="timed atoms × steps per run when --steps is not given (default 3e6)")
    md.add_argument("--min-steps", type=int, default=10)
    md.add_argument("--max-steps", type=int, default=2000)
    md.add_argument("--warmup", type=int, default=10, help="untimed steps first (default 10)")
    md.add_argument("--repeats", type=int, default=1, help="runs of each case; the fastest counts")
    md.add_argument("--temperature", type=float, default=300.0, help="initial temperature, K (default 300)")
    md.add_argument("--plugin", default=None, help="plugin library (default: `areanet lammps-plugin`)")
    md.add_argument("--timeout", type=float, default=None, help="seconds per LAMMPS run before giving up")
    md.set_defaults(func=_lazy("md", "cmd_md"))

    ly = sub.add_parser("layers", help="bilayer throughput beside ILP + coul/shield, areanet vs extep",
                        description="LAMMPS MD throughput of an AA' h-BN bilayer with areanet or ExTeP as the "
                        "intralayer potential, both beside ilp/graphene/hbn + coul/shield.")
    common(ly, "layers")
    ly.add_argument("--atoms-per-layer", type=int, default=15360, help="atoms per layer (default 15360)")
    ly.add_argument("--ranks", type=int_list, default=[1, 2], metavar="R,R", help="MPI ranks (default 1,2)")
    ly.add_argument("--steps", type=int, default=5, help="timed steps per run (default 5)")
    ly.add_argument("--warmup", type=int, default=1, help="untimed steps first (default 1)")
    ly.add_argument("--temperature", type=float, default=300.0, help="initial temperature, K (default 300)")
    ly.add_argument("--plugin", default=None, help="plugin library (default: `areanet lammps-plugin`)")
    ly.add_argument("--timeout", type=float, default=None, help="seconds per LAMMPS run before giving up")
    ly.set_defaults(func=_lazy("layers", "cmd_layers"))

    nve = sub.add_parser("nve", help="NVE energy drift (issue 3's 960 atoms, 300 K, 1 fs, 20 ps)",
                         description="NVE energy drift of pair_style areanet (and others) on a flat sheet.")
    common(nve, "nve")
    nve.add_argument("--atoms", type=int, default=960)
    nve.add_argument("--steps", type=int, default=20000, help="fitted steps (default 20000 = 20 ps)")
    nve.add_argument("--equilibrate", type=int, default=0, help="steps before the fit (default 0)")
    nve.add_argument("--dt", type=float, default=0.001, help="time step, ps (default 0.001)")
    nve.add_argument("--temperature", type=float, default=300.0)
    nve.add_argument("--seed", type=int, default=4928)
    nve.add_argument("--sample", type=int, default=10, help="energy sampling interval for the fit (steps)")
    nve.add_argument("--ranks", type=int, default=1)
    nve.add_argument("--styles", type=style_list, default=["areanet"], metavar="S,S",
                     help=f"pair styles: {', '.join(STYLES)} (default areanet)")
    nve.add_argument("--plugin", default=None)
    nve.add_argument("--timeout", type=float, default=None)
    nve.set_defaults(func=_lazy("nve", "cmd_nve"))

    pr = sub.add_parser("precision", help="native float64 / float32 against the TorchScript model",
                        description="Energy, force and pressure differences of `pair_style areanet` "
                        "(native float64) and `areanet float32` from `areanet torchscript` on a displaced sheet.")
    common(pr, "precision")
    pr.add_argument("--atoms", type=int, default=960)
    pr.add_argument("--displacement", type=float, default=0.05, help="normal deviate per coordinate, Å")
    pr.add_argument("--seed", type=int, default=0)
    pr.add_argument("--plugin", default=None)
    pr.set_defaults(func=_lazy("precision", "cmd_precision"))

    py = sub.add_parser("python", help="ASE calculator throughput",
                        description="Throughput of AreaNetCalculator (energy + forces + stress).")
    common(py, "python")
    py.add_argument("--sizes", type=int_list, default=list(DEFAULT_SIZES), metavar="N,N,...")
    py.add_argument("--repeats", type=int, default=3, help="calls per size; the fastest counts")
    py.add_argument("--threads", type=int, default=1, help="torch threads (default 1; 0 = torch's default)")
    py.set_defaults(func=_lazy("python", "cmd_python"))

    dm = sub.add_parser("domain", help="accuracy per strain range and temperature over the wider domain",
                        description="Energy and force errors of a model on the wider-domain test split "
                        "(strain to ±10 %%, MD to 2000 K), per stratum, and on its own test split, "
                        "against the targets.")
    common(dm, "domain", model=False)
    dm.add_argument("--model", default="models/hbn-pbe.pt",
                    help="exported model file or checkpoint (default models/hbn-pbe.pt)")
    dm.add_argument("--data", nargs="+", default=["data/hbn_pbe_strain.extxyz.gz", "data/hbn_pbe_md_hot.extxyz.gz"],
                    metavar="FILE", help="wider-domain frames (default: the strain and hot-MD sets of data/)")
    dm.add_argument("--fraction", type=float, default=0.25,
                    help="test fraction of the content-hash rule (default 0.25; changing it changes the split)")
    dm.add_argument("--split", choices=("hash", "outer"), default="hash",
                    help="which frames are the test split: hash (a quarter across the domain, the "
                    "frames no training config trains on) or outer (beyond 6 %% strain or 1000 K: "
                    "how far a model trained inside carries)")
    dm.add_argument("--no-old-split", action="store_true",
                    help="skip the model's own test split (a model without recorded training data)")
    dm.set_defaults(func=_lazy("domain", "cmd_domain"))
    co = sub.add_parser("committee", help="MD cost of a model committee (out_freq) vs its first model",
                        description="LAMMPS MD cost of pair_style areanet with a committee of models "
                        "(model deviation every --freqs steps) against the first model alone.")
    co.add_argument("models", nargs="+", help="the committee's model files (the first drives the MD)")
    co.add_argument("--out", default="bench-results", help="folder for NAME.json and NAME.md")
    co.add_argument("--name", default="committee", help="output file stem (default committee)")
    co.add_argument("--atoms", type=int, default=15360, help="sheet size (default 15360)")
    co.add_argument("--freqs", type=int_list, default=[10, 100], metavar="N,N", help="out_freq values (default 10,100)")
    co.add_argument("--steps", type=int, default=100, help="timed steps per run (default 100)")
    co.add_argument("--warmup", type=int, default=10, help="untimed steps first (default 10)")
    co.add_argument("--repeats", type=int, default=1, help="round-robin rounds; the fastest run counts")
    co.add_argument("--temperature", type=float, default=300.0)
    co.add_argument("--plugin", default=None, help="plugin library (default: `areanet lammps-plugin`)")
    co.add_argument("--timeout", type=float, default=None, help="seconds per LAMMPS run before giving up")
    co.set_defaults(func=_lazy("committee", "cmd_committee"))

    tr = sub.add_parser("train", help="training time per epoch on the paper-size set",
                        description="Wall time per epoch and structures/s of `areanet train` on the "
                        "paper-protocol ExTeP set (4450 × 60 atoms).")
    common(tr, "train", model=False)
    tr.add_argument("--data", default=None,
                    help="training data file (default: generate the paper set with ExTeP, ~20 s)")
    tr.add_argument("--per-level", type=int, default=None,
                    help="when generating: structures per perturbation level (default: the 4450 set)")
    tr.add_argument("--config", default=None, help="TOML training config (data/epochs/threads overridden)")
    tr.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="a training config key, as in `areanet train` (e.g. --set dims=2 "
                    "--set precision=float32)")
    tr.add_argument("--epochs", type=int, default=2)
    tr.add_argument("--batch-size", type=int, default=16)
    tr.add_argument("--threads", type=int, default=1)
    tr.add_argument("--history", default=None,
                    help="a finished run (RUN_DIR or its history.json): report its time to the bar")
    tr.add_argument("--bar", type=float, default=0.10, help="validation energy RMSE bar, meV/atom")
    tr.set_defaults(func=_lazy("training", "cmd_train"))
