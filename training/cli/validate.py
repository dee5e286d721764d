"""``areanet validate``: parse the options and call :func:`areanet.training.evaluation.validate.run_validation`."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..paths import DEFAULT_DFT_REFERENCE, DEFAULT_EXTRAP


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "validate", help="physical validation: accuracy, a0 and bulk modulus, phonons, NVE "
        "drift, RDF, elastic constants, thermal expansion (validation.md + PNGs)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Validate a model against DFT and physics; writes DIR/validation.md, "
        "validation.json and figures:\n"
        "  (a) the report's tables on the model's DFT test split and the extrapolation points;\n"
        "  (b) a0 and 2D bulk modulus from E(a) under biaxial strain, vs GPAW;\n"
        "  (c) phonon dispersion along G-M-K-G; Gamma, M and K vs GPAW finite differences;\n"
        "  (d) NVE energy drift; (e) radial distribution function at 300 K;\n"
        "  (f) 2D elastic constants and stress-strain curves to 10 %, vs GPAW;\n"
        "  (g) in-plane thermal expansion from NPT MD (LAMMPS), beside LAMMPS' extep.\n"
        "The GPAW numbers come from validation/dft_reference.json (no GPAW needed).")
    p.add_argument("model", metavar="MODEL", help="exported model file or training checkpoint")
    p.add_argument("--out", required=True, metavar="DIR", help="directory for validation.md, "
                   "validation.json and the figures")
    p.add_argument("--test-data", nargs="+", metavar="FILE", default=None,
                   help="evaluate on these files instead of the model's own test split")
    p.add_argument("--dft-data", nargs="+", metavar="FILE", default=None,
                   help="the model's training data (default: the paths in its training "
                   "config), split again as in training to find the test split")
    p.add_argument("--extrap-data", metavar="FILE", default=str(DEFAULT_EXTRAP),
                   help="extrapolation points (default: data/hbn_pbe_extrap.extxyz.gz)")
    p.add_argument("--dft-reference", metavar="JSON", default=str(DEFAULT_DFT_REFERENCE),
                   help="cached GPAW E(a) and Γ finite differences "
                   "(default: validation/dft_reference.json)")
    p.add_argument("--compute-dft", action="store_true",
                   help="compute (or finish) the DFT reference with GPAW first (E(a) and Γ ~7 min on "
                   "one core, the elastic constants and M/K phonons hours; resumable)")
    p.add_argument("--quick", action="store_true",
                   help="short MD and small phonon supercell: a smoke test under ~2 minutes")
    p.add_argument("--compare", metavar="RUNS_DIR", default=None,
                   help="also run the comparison study (high vs low order, conservative vs "
                   "direct, Behler-Parrinello) with the model's training config, training runs "
                   "in RUNS_DIR (resumable; finished runs are reused)")
    p.add_argument("--compare-epochs", type=int, default=100, metavar="N",
                   help="training budget of each compared model (default 100 epochs)")
    p.add_argument("--threads", type=int, default=0, metavar="N",
                   help="torch threads (default: torch's choice)")
    p.set_defaults(func=run)


def run(args) -> int:
    import torch  # lazy: keeps `areanet --help` fast

    from ..evaluation.validate.dft import compute_dft_reference
    from ..evaluation.validate.report import run_validation

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    if args.compute_dft:
        compute_dft_reference(args.dft_reference)
    extrap = args.extrap_data if args.extrap_data and Path(args.extrap_data).is_file() else None
    result = run_validation(args.model, args.out, test_data=args.test_data,
                            dft_data=args.dft_data, extrap_data=extrap,
                            dft_reference=args.dft_reference, quick=args.quick,
                            compare=args.compare, compare_epochs=args.compare_epochs,
                            log=lambda *a: print(*a, file=sys.stderr, flush=True))
    print(f"wrote {Path(args.out) / 'validation.md'}")
    if result["errors"]:
        print("sections that could not be computed: " + ", ".join(result["errors"]),
              file=sys.stderr)
    return 0
