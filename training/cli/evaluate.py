"""``areanet evaluate``: parse the options, read the data, predict, and call
:func:`areanet.training.scoring.evaluate.evaluate_predictions`."""
from __future__ import annotations

from pathlib import Path

from ..scoring.evaluate import DEFAULT_TRAIN_RANGE, evaluate_predictions, format_table, model_centers
from ..scoring.metrics import DEFAULT_MAPE_FLOOR
from ..errors import UserError


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="the paper's test-set metrics, tables and figures for a model",
        description="Evaluate a model (training checkpoint or exported TorchScript file) on "
        "reference data: prints the paper's Table II rows for all atoms and per species and "
        "the errors per perturbation strength; writes metrics.json, metrics.md, parity.png "
        "and strength.png to --out.",
    )
    p.add_argument("model", metavar="MODEL", help="checkpoint (.ckpt/.pt) or TorchScript model file")
    p.add_argument("data", metavar="DATA", nargs="*",
                   help="ASE-readable files with reference energies and forces (or use --split)")
    p.add_argument("--split", choices=["train", "val", "test"],
                   help="evaluate this split of a training run instead of DATA: its data files "
                   "and split indices come from --run (default: MODEL when it is a checkpoint)")
    p.add_argument("--run", metavar="CHECKPOINT", help="best.pt/last.pt whose data and splits --split uses")
    p.add_argument("--set", dest="only_set", metavar="NAME",
                   help="keep only structures whose info 'set' is NAME (e.g. inplane, 3d)")
    p.add_argument("--out", required=True, metavar="DIR", help="directory for the results")
    p.add_argument("--train-range", nargs=2, type=float, metavar=("LO", "HI"),
                   default=list(DEFAULT_TRAIN_RANGE),
                   help="perturbation strengths (%%) the model was trained on, shaded in "
                   "the strength plot (default: 1 5)")
    p.add_argument("--species-mask", nargs="?", const="auto", default=None,
                   choices=["auto", "B", "N"], metavar="B|N",
                   help="count forces of this species only in the 'all' block and the "
                   "strength curves (the paper's 'force on centre atom'); without a value, "
                   "the model's centre species")
    p.add_argument("--mape-floor", type=float, default=DEFAULT_MAPE_FLOOR, metavar="EV_PER_A",
                   help="force references below this are left out of the force MAPEs "
                   "(default: %(default)g eV/Å)")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG figures")
    p.set_defaults(func=run)


def run(args) -> int:
    model = Path(args.model)
    if not model.is_file():
        raise UserError(f"model file {model} not found")
    data = [Path(d) for d in args.data]
    if not data and not args.split:
        raise UserError("give DATA files or --split train|val|test")
    if data and args.split:
        raise UserError("give either DATA files or --split, not both")
    for d in data:
        if not d.exists():
            raise UserError(f"data file {d} not found")
    if not args.train_range[0] < args.train_range[1]:
        raise UserError(f"--train-range {args.train_range[0]:g} {args.train_range[1]:g}: "
                        "give LO < HI")
    if not args.mape_floor >= 0.0:
        raise UserError("--mape-floor must be >= 0")

    species_mask = args.species_mask
    if species_mask == "auto":
        centers = model_centers(model)
        if centers is None:
            raise UserError(f"cannot tell the centre species of {model}: give "
                            "--species-mask B or --species-mask N")
        species_mask = None if centers == "both" else centers

    # lazy: torch and the model code load only when a command runs, so `areanet --help` is fast
    from ..data.structures import read_structures
    from ..fit.checkpoint import load_checkpoint
    from ..fit.predict import predict

    if args.split:

        payload = load_checkpoint(args.run or model)
        files = payload["train_config"]["data"] + list(payload["train_config"].get("train_only_data") or [])
        missing = [f for f in files if not Path(f).exists()]
        if missing:
            raise UserError(f"the run's data file {missing[0]} is not there any more")
        all_structures = read_structures(files)
        from ..data.structures import data_hash  # only --split needs it

        if data_hash(all_structures) != payload.get("data_hash"):
            raise UserError(f"the run's data files {files} changed since training (data hash differs)")
        structures = [all_structures[k] for k in payload["splits"][args.split]]
        data = [Path(f) for f in files]
    else:
        structures = read_structures([str(d) for d in data])
    if args.only_set:
        structures = [a for a in structures if a.info.get("set") == args.only_set]
        if not structures:
            raise UserError(f"no structure has set = {args.only_set!r}")
    predictions = predict(str(model), structures)
    result = evaluate_predictions(
        structures, predictions, args.out,
        train_range=tuple(args.train_range),
        species_mask=species_mask,
        plots=not args.no_plots,
        mape_floor=args.mape_floor,
        title=model.name,
        extra={"model": str(model), "data": [str(d) for d in data], "split": args.split,
               "set": args.only_set},
    )
    print(format_table(result))
    print(f"\nwrote {Path(args.out) / 'metrics.json'}, metrics.md"
          + "".join(f", {f}" for f in result["figures"]))
    return 0
