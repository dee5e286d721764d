"""``areanet reproduce``: parse the options and call :func:`areanet.training.evaluation.reproduce.reproduce`."""
from __future__ import annotations




def register(subparsers) -> None:
    p = subparsers.add_parser(
        "reproduce", help="the report's study end to end: data, LO/HO x N/B models, tables, figures",
        description="Reproduce the report's study on freshly generated data: low vs high order x N- vs "
        "B-centred area elements with the report's direct force head (3 seeds each), our conservative "
        "high-order model, the extrapolation study; writes DIR/report.md with the report's tables "
        "beside ours. Interrupted? Run it again: finished runs are skipped (--resume also continues "
        "a half-trained run).")
    p.add_argument("--reference", choices=("extep", "tersoff"), default="extep",
                   help="labelling potential (default: extep)")
    p.add_argument("--out", required=True, metavar="DIR", help="directory for data, runs and the report")
    p.add_argument("--quick", action="store_true",
                   help="a small version (168 structures, 1 seed, 40 epochs): a few minutes on 2 cores")
    p.add_argument("--seeds", type=int, default=None, help="trainings per model (default 3; --quick: 1)")
    p.add_argument("--epochs", type=int, default=None, help="epochs per training (default 50, the report's; --quick: 40)")
    p.add_argument("--resume", action="store_true", help="continue a half-trained run from its last.pt")
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads per training (default 1: these small networks gain little from more)")
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    p.add_argument("--verbose", action="store_true", help="print every epoch of every training")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..evaluation.reproduce import reproduce  # lazy: keeps `areanet --help` fast (torch)

    reproduce(args.out, args.reference, quick=args.quick, seeds=args.seeds, epochs=args.epochs,
              resume=args.resume, threads=args.threads, device=args.device, verbose=args.verbose)
    return 0
