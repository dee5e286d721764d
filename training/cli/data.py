"""``areanet data ...``: generate reference data with a classical potential, inspect data files.

    areanet data generate --protocol paper|3d --reference extep|tersoff --out FILE
                          [--per-level N] [--seed S] [--extrap]
    areanet data info FILE [FILE ...]
    areanet data compare OLD NEW [--per-frame]
    areanet data label IN OUT [--reference gpaw|extep|tersoff] [--workers N] [--h 0.15] ...
    areanet data sample MODEL MODEL [MODEL ...] --out FILE [--temperature K [K ...]] ...
"""
from __future__ import annotations

import argparse
import sys

from ..errors import UserError

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
        description="Perturbed 60-atom h-BN cells (the report's protocol; 5 × 3 rectangular cells), "
        "labelled with a classical potential through LAMMPS.\n\n"
        "  paper: every atom displaced in-plane uniformly in a disk of radius p·b,\n"
        "         p = 1.0, 1.2, ..., 5.0 % (21 levels), set 'inplane';\n"
        "  3d:    first a random in-plane strain (each of exx, eyy, exy within ±1 %),\n"
        "         then the in-plane disk and an out-of-plane displacement in ±p·b, set '3d'.\n"
        "  strain: the wider domain, set 'strain': biaxial, zigzag (x), armchair (y), shear\n"
        "         or mixed strain at ±2, ±4, ..., ±10 %, then the 3d displacements at a\n"
        "         strength drawn from 1.0-5.0 %; --per-level N frames per (mode, strain) bin\n"
        "         (default 4: 200 frames), every bin once before any twice.\n"
        "  --extrap: the extrapolation points instead (p = 0 % once, 0.5, 5.5, ..., 7.5 %,\n"
        "         2 frames each by default), set 'extrap'.\n\n"
        "Default counts give the report's 4450 structures (212 frames for 1.0-4.6 %, 211\n"
        "for 4.8 and 5.0 %). Writes extended XYZ (gzip when OUT ends in .gz).")
    gen.add_argument("--protocol", choices=("paper", "3d", "strain"), default="paper",
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
    gen.add_argument("--lattice-constant", type=float, default=None, metavar="Å",
                     help="build the sheet at this lattice constant instead of the reference's "
                     "minimum (candidates for `data label`, e.g. 2.5198 for the PBE of data/)")
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

    cmp = sub.add_parser("compare", help="two labellings of the same structures, frame by frame",
                         description="Compare the labels of NEW with those of OLD for the same "
                         "structures (matched by source_hash, else by position): energy "
                         "difference NEW - OLD per atom and force difference, per set and for "
                         "orthogonal against sheared cells, e.g. after relabelling with other "
                         "reference settings.")
    cmp.add_argument("old", metavar="OLD", help="labelled frames (any file ASE reads)")
    cmp.add_argument("new", metavar="NEW", help="the same structures labelled again")
    cmp.add_argument("--per-frame", action="store_true", help="also print one line per frame")
    cmp.set_defaults(func=cmd_compare)

    lab = sub.add_parser(
        "label", help="label structures with GPAW (PBE, the settings of data/) or ExTeP/Tersoff",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Label every structure of IN (any ASE-readable file) with a reference "
        "method and append it to OUT (extended XYZ, gzip when it ends in .gz) as soon as it "
        "is done. A rerun skips what OUT already holds, so an interrupted run loses at most "
        "the structures in flight; when all are done OUT is in IN's order.\n\n"
        "Defaults are exactly the settings of data/ (data/README.md):\n"
        "  GPAW(mode='lcao', basis='dzp', xc='PBE', h=0.15, kpts=(1, 1, 1),\n"
        "       occupations=FermiDirac(0.01), symmetry='off', poissonsolver={'name': 'fft'})\n"
        "GPAW is the optional extra: apt-get install g++ libxc-dev libopenblas-dev, then\n"
        "CC=g++ pip install 'areanet[dft]'.")
    lab.add_argument("input", metavar="IN", help="structures to label (any file ASE reads)")
    lab.add_argument("output", metavar="OUT", help="labelled frames, .extxyz or .xyz, optionally .gz "
                     "(appended to; created if missing)")
    lab.add_argument("--reference", choices=("gpaw", "extep", "tersoff"), required=True,
                     help="gpaw (PBE, DFT: minutes per structure) or the classical extep/tersoff "
                     "through LAMMPS (milliseconds); required, so that a copied command never "
                     "starts hours of DFT by surprise")
    lab.add_argument("--workers", type=int, default=1, metavar="N",
                     help="worker processes, each single-threaded (default 1)")
    lab.add_argument("--limit", type=int, default=None, metavar="N",
                     help="label at most N new structures in this run")
    gp = lab.add_argument_group("GPAW settings (defaults: data/README.md)")
    gp.add_argument("--h", type=float, default=0.15, metavar="Å",
                    help="real-space grid spacing (default 0.15 Å; 0.22 is 3x faster, 8x noisier)")
    gp.add_argument("--mode", default="lcao", help="GPAW mode (default lcao)")
    gp.add_argument("--basis", default="dzp", help="LCAO basis (default dzp)")
    gp.add_argument("--xc", default="PBE", help="exchange-correlation functional (default PBE)")
    gp.add_argument("--kpts", type=int, nargs=3, default=[1, 1, 1], metavar=("K1", "K2", "K3"),
                    help="Γ-centred k-point mesh (default 1 1 1: Γ only)")
    gp.add_argument("--smearing", type=float, default=0.01, metavar="EV",
                    help="Fermi-Dirac width (default 0.01 eV)")
    gp.add_argument("--poisson", choices=("fft", "fd"), default="fft",
                    help="Poisson solver: fft (default; exact for sheared cells) or fd (GPAW's "
                    "finite differences, the first data/ sets: an energy offset in sheared cells)")
    gp.add_argument("--gpaw-log", metavar="DIR", default=None,
                    help="write GPAW's text output, one file per structure, to DIR")
    lab.add_argument("--quiet", action="store_true", help="no progress bar")
    lab.set_defaults(func=cmd_label)

    smp = sub.add_parser(
        "sample", help="active learning: MD with a model, keep the snapshots an ensemble "
        "disagrees on most",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Candidates for `data label`: Langevin MD of the perfect h-BN sheet with "
        "the first MODEL\nat each temperature. After 10 % of the steps every --interval-th step "
        "is stored and every\nMODEL predicts its forces. A snapshot's disagreement is the "
        "ensemble's force standard\ndeviation on its worst atom,\n\n"
        "    max_i sqrt( mean_m |F_m,i - mean_m F_m,i|^2 )   (eV/Å).\n\n"
        "The --select snapshots with the largest disagreement, split evenly across "
        "temperatures,\nare written unlabelled as extended XYZ (gzip when FILE ends in .gz); "
        "info: set (md300, ...),\ntemperature_K, step, disagreement_ev_per_a, model.\n\n"
        "  areanet data sample models/hbn-pbe.pt runs/b/best.pt --out cand.extxyz\n"
        "  areanet data label cand.extxyz cand-pbe.extxyz.gz --reference gpaw")
    smp.add_argument("models", nargs="+", metavar="MODEL",
                     help="two or more models (checkpoint or exported TorchScript file); the "
                     "first drives the MD")
    smp.add_argument("--out", required=True, metavar="FILE",
                     help="output file, .extxyz or .xyz, optionally .gz")
    smp.add_argument("--temperature", type=float, nargs="+", default=[300.0, 1000.0],
                     metavar="K", help="MD temperatures (default: 300 1000)")
    smp.add_argument("--steps", type=int, default=2000, metavar="N",
                     help="MD steps per temperature (default 2000)")
    smp.add_argument("--interval", type=int, default=20, metavar="N",
                     help="store a snapshot every N steps after equilibration (default 20)")
    smp.add_argument("--select", type=int, default=20, metavar="N",
                     help="snapshots written, split evenly across temperatures (default 20)")
    smp.add_argument("--timestep", type=float, default=1.0, metavar="FS",
                     help="MD timestep (default 1 fs)")
    smp.add_argument("--lattice-constant", type=float, default=2.5198, metavar="Å",
                     help="lattice constant of the starting sheet (default 2.5198, the PBE "
                     "minimum of data/)")
    smp.add_argument("--repeat", type=int, nargs=2, default=[5, 3], metavar=("NX", "NY"),
                     help="rectangular 4-atom cells along x and y (default 5 3: 60 atoms)")
    smp.add_argument("--strain", type=float, nargs=3, default=[0.0, 0.0, 0.0],
                     metavar=("EXX", "EYY", "EXY"),
                     help="in-plane strain of the cell in %% (x: zigzag, y: armchair), applied "
                     "to the sheet before the MD, which keeps the cell (default 0 0 0)")
    smp.add_argument("--seed", type=int, default=0, metavar="S",
                     help="random seed (default 0); same seed, same output")
    smp.add_argument("--threads", type=int, default=None, metavar="N",
                     help="torch threads (default: leave torch's setting)")
    smp.add_argument("--engine", choices=["ase", "lammps"], default="ase",
                     help="MD driver: ase (Langevin, fixed cell; default) or lammps (the committee "
                     "in pair_style areanet, its max_devi_f as the disagreement; exported model "
                     "files only)")
    smp.add_argument("--ensemble", choices=["nvt", "npt"], default="nvt",
                     help="--engine lammps: fix nvt (fixed cell) or fix npt (in-plane --pressure)")
    smp.add_argument("--pressure", type=float, default=0.0, metavar="BAR",
                     help="--ensemble npt: in-plane pressure, bar (default 0)")
    smp.add_argument("--trust-lo", type=float, default=0.0, metavar="EV_PER_A",
                     help="keep only snapshots whose disagreement is at least this (DP-GEN's "
                     "trust_lo; default 0)")
    smp.add_argument("--trust-hi", type=float, default=float("inf"), metavar="EV_PER_A",
                     help="and below this (DP-GEN's trust_hi: beyond it the MD is unphysical; "
                     "default none)")
    smp.add_argument("--quiet", action="store_true", help="no progress bar")
    smp.set_defaults(func=cmd_sample)


def cmd_generate(args) -> int:
    from ..data.generate import frame_count, run

    if args.per_level is not None and args.per_level < 1:
        raise UserError(f"--per-level must be at least 1, got {args.per_level}")
    if args.seed < 0:
        raise UserError(f"--seed must be non-negative, got {args.seed}")
    if not args.out.endswith(_OUT_SUFFIXES):
        raise UserError(f"--out {args.out}: the name must end in one of "
                        f"{', '.join(_OUT_SUFFIXES)} (extended XYZ is written)")
    if args.lattice_constant is not None and not 2.0 < args.lattice_constant < 3.2:
        raise UserError(f"--lattice-constant {args.lattice_constant}: not an h-BN lattice constant "
                        "(expected 2-3.2 Å)")
    if args.extrap and args.protocol == "strain":
        raise UserError("--extrap: the strain protocol has no extrapolation points (its strain "
                        "already reaches ±10 %)")
    n = frame_count(args.protocol, args.per_level, args.extrap)
    kind = "extrapolation points" if args.extrap else "structures"
    print(f"generating {n} {kind}: protocol {args.protocol}, reference {args.reference}, "
          f"seed {args.seed}", file=sys.stderr)
    summary = run(args.protocol, args.reference, args.out, per_level=args.per_level,
                  seed=args.seed, extrap=args.extrap, show_progress=not args.quiet,
                  lattice_constant=args.lattice_constant)
    rate = summary["n_structures"] / max(summary["seconds_generate"], 1e-9)
    print(f"wrote {summary['n_structures']} structures to {summary['path']} in "
          f"{summary['seconds_total']:.1f} s (generate + label {summary['seconds_generate']:.1f} s, "
          f"{rate:.0f} structures/s; write {summary['seconds_write']:.1f} s)")
    return 0


def cmd_compare(args) -> int:
    from ..data.compare import compare_labels, summarise
    from ..data.structures import read_structures

    rows = compare_labels(read_structures([args.old]), read_structures([args.new]))
    print(f"{len(rows)} frames of {args.new} matched in {args.old}; energy NEW - OLD per atom "
          "(meV/atom), force difference (eV/Å)")
    groups = {"all": rows}
    for name in sorted({r["set"] for r in rows}):
        groups[f"set {name}"] = [r for r in rows if r["set"] == name]
    groups["orthogonal cells"] = [r for r in rows if abs(r["shear_cos"]) < 1e-9]
    groups["sheared cells"] = [r for r in rows if abs(r["shear_cos"]) >= 1e-9]
    for name, group in groups.items():
        if not group:
            continue
        m = summarise(group)
        print(f"  {name:<18} {m['n']:4d} frames  dE mean {1e3 * m['de_mean']:+9.3f}  "
              f"std {1e3 * m['de_std']:7.3f}  range {1e3 * m['de_min']:+9.3f} .. "
              f"{1e3 * m['de_max']:+9.3f}   dF RMS {m['df_rms']:.5f}  max {m['df_max']:.5f}")
    if args.per_frame:
        for r in rows:
            print(f"  {r['new_index']:4d} (old {r['old_index']:4d}) {r['set']:<9} cos {r['shear_cos']:+.4f}  "
                  f"dE {1e3 * r['de_per_atom']:+9.3f}  dF RMS {r['df_rms']:.5f}  max {r['df_max']:.5f}")
    return 0


def cmd_info(args) -> int:
    import numpy as np

    from ..data.structures import data_hash, read_structures, sets, strengths

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


def cmd_label(args) -> int:
    from ..data.label import label_file
    from ..data.labellers import LabelSettings

    if args.workers < 1:
        raise UserError(f"--workers must be at least 1, got {args.workers}")
    if args.limit is not None and args.limit < 0:
        raise UserError(f"--limit must be non-negative, got {args.limit}")
    settings = LabelSettings(reference=args.reference, mode=args.mode, basis=args.basis,
                             xc=args.xc, h=args.h, kpts=tuple(args.kpts),
                             smearing=args.smearing, poisson=args.poisson,
                             log_dir=args.gpaw_log).check()
    summary = label_file(args.input, args.output, settings, workers=args.workers,
                         limit=args.limit, show_progress=not args.quiet)
    n, done = summary["n_labelled"], summary["n_already_done"]
    rate = f" ({summary['compute_seconds'] / n:.2f} s per structure per worker)" if n else ""
    print(f"{args.output}: labelled {n} structure(s) with {args.reference} in "
          f"{summary['wall_seconds']:.1f} s{rate}; "
          f"{done} of {summary['n_input']} were already done")
    if summary["failed"]:
        print(f"{len(summary['failed'])} structure(s) failed (a rerun retries them): "
              + ", ".join(str(k) for k in sorted(summary["failed"])), file=sys.stderr)
        return 1
    return 0


def cmd_sample(args) -> int:
    from ..sampling.sample import main as sample_main

    if not args.out.endswith(_OUT_SUFFIXES):
        raise UserError(f"--out {args.out}: the name must end in one of "
                        f"{', '.join(_OUT_SUFFIXES)} (extended XYZ is written)")
    return sample_main(args)
