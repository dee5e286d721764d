"""``areanet data ...``: generate reference data with a classical potential, inspect data files.

    areanet data generate --protocol paper|3d --reference extep|tersoff --out FILE
                          [--per-level N] [--seed S] [--extrap]
    areanet data info FILE [FILE ...]
"""
from __future__ import annotations

import argparse
import sys

from .cli import UserError

_OUT_SUFFIXES = (".extxyz", ".xyz", ".extxyz.gz", ".xyz.gz")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "data", help="generate reference data (ExTeP/Tersoff via LAMMPS) and inspect data files",
        description="Reference data: generate perturbed h-BN cells labelled by a classical "
        "potential, or summarise existing data files.")
    sub = parser.add_subparsers(dest="data_command", required=True, metavar="SUBCOMMAND")

    gen = sub.add_parser(
        "generate", help="perturbed 60-atom h-BN cells labelled with ExTeP or Tersoff",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Perturbed 60-atom h-BN cells (the report's protocol, DESIGN.md §7), "
        "labelled with a classical potential through LAMMPS.\n\n"
        "  paper: every atom displaced in-plane uniformly in a disk of radius p·b,\n"
        "         p = 1.0, 1.2, ..., 5.0 % (21 levels), set 'inplane';\n"
        "  3d:    first a random in-plane strain (each of exx, eyy, exy within ±1 %),\n"
        "         then the in-plane disk and an out-of-plane displacement in ±p·b, set '3d'.\n"
        "  --extrap: the extrapolation points instead (p = 0 % once, 0.5, 5.5, ..., 7.5 %,\n"
        "         2 frames each by default), set 'extrap'.\n\n"
        "Default counts give the report's 4450 structures (212 frames for 1.0-4.6 %, 211\n"
        "for 4.8 and 5.0 %). Writes extended XYZ (gzip when OUT ends in .gz).")
    gen.add_argument("--protocol", choices=("paper", "3d"), default="paper",
                     help="perturbation protocol (default: paper)")
    gen.add_argument("--reference", choices=("extep", "tersoff"), default="extep",
                     help="labelling potential: ExTeP (BN.extep) or Tersoff (BNC.tersoff); "
                     "default extep")
    gen.add_argument("--out", required=True, metavar="FILE",
                     help="output file, .extxyz or .xyz, optionally .gz")
    gen.add_argument("--per-level", type=int, default=None, metavar="N",
                     help="frames per strength level (default: 4450 in all for the training "
                     "levels, 2 per level for --extrap)")
    gen.add_argument("--seed", type=int, default=0, metavar="S",
                     help="random seed (default 0); same seed, same structures")
    gen.add_argument("--extrap", action="store_true",
                     help="generate the extrapolation points (0, 0.5, 5.5-7.5 %%) instead")
    gen.add_argument("--quiet", action="store_true", help="no progress bar")
    gen.set_defaults(func=cmd_generate)

    info = sub.add_parser("info", help="count, check and fingerprint data files",
                          description="Read data files exactly as training does (every "
                          "frame checked) and print counts per set and strength, energy and "
                          "force ranges and the data hash recorded in model metadata.")
    info.add_argument("files", nargs="+", metavar="FILE", help="any file ASE reads")
    info.add_argument("--species", nargs="+", default=["B", "N"],
                      help="species the model knows (default: B N)")
    info.set_defaults(func=cmd_info)


def cmd_generate(args) -> int:
    from .generate import level_counts, run

    if args.per_level is not None and args.per_level < 1:
        raise UserError(f"--per-level must be at least 1, got {args.per_level}")
    if args.seed < 0:
        raise UserError(f"--seed must be non-negative, got {args.seed}")
    if not args.out.endswith(_OUT_SUFFIXES):
        raise UserError(f"--out {args.out}: the name must end in one of "
                        f"{', '.join(_OUT_SUFFIXES)} (extended XYZ is written)")
    n = sum(level_counts(args.per_level, args.extrap).values())
    kind = "extrapolation points" if args.extrap else "structures"
    print(f"generating {n} {kind}: protocol {args.protocol}, reference {args.reference}, "
          f"seed {args.seed}", file=sys.stderr)
    summary = run(args.protocol, args.reference, args.out, per_level=args.per_level,
                  seed=args.seed, extrap=args.extrap, show_progress=not args.quiet)
    rate = summary["n_structures"] / max(summary["seconds_generate"], 1e-9)
    print(f"wrote {summary['n_structures']} structures to {summary['path']} in "
          f"{summary['seconds_total']:.1f} s (generate + label {summary['seconds_generate']:.1f} s, "
          f"{rate:.0f} structures/s; write {summary['seconds_write']:.1f} s)")
    return 0


def cmd_info(args) -> int:
    import numpy as np

    from .data import data_hash, read_structures, sets, strengths

    structures = read_structures(args.files, species=tuple(args.species))
    print(f"{len(structures)} structures from {len(args.files)} file(s); "
          f"data hash {data_hash(structures)}")
    names = sets(structures)
    values = strengths(structures)
    for name in sorted({str(s) for s in names}):
        mask = np.array([str(s) == name for s in names])
        levels = values[mask]
        known = levels[~np.isnan(levels)]
        per = ", ".join(f"{p:g}:{int((known == p).sum())}" for p in np.unique(known))
        print(f"  set {name}: {int(mask.sum())} frames" + (f"; per strength (%): {per}" if per else ""))
    e_atom = np.array([a.get_potential_energy() / len(a) for a in structures])
    forces = np.concatenate([a.get_forces().ravel() for a in structures])
    print(f"  energy per atom: {e_atom.min():.4f} .. {e_atom.max():.4f} eV; "
          f"force components: RMS {np.sqrt(np.mean(forces ** 2)):.4f}, "
          f"max |F| {np.abs(forces).max():.4f} eV/Å")
    return 0
