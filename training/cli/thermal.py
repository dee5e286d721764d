"""`areanet thermal`: the lattice thermal conductivity κ of an h-BN sheet from a model.

    areanet thermal green-kubo MODEL --out DIR [--runs 4] [--run-ps 100] ...
    areanet thermal bte MODEL|extep --out DIR [--cutoffs 3 4] [--meshes 21 31] ...
    areanet thermal expansion MODEL --out DIR [--temperatures 300 500 700 1000] ...

green-kubo runs examples/thermal/in.green_kubo (LAMMPS: NVT, then NVE with compute heat/flux
on compute centroid/stress/atom and fix ave/correlate) several times with independent
velocity seeds and reports κ_xx, κ_yy with the standard error over the runs, the running
integrals plotted (green_kubo.png). bte computes second- and third-order force constants
through the ASE calculator (or LAMMPS' ExTeP for `extep`) and solves the phonon BTE with
phono3py (the optional extra areanet[thermal]) for natural isotope abundance and pure ¹¹B,
over the given q-meshes and fc3 cutoffs. Both use a sheet thickness of 3.33 Å (the 2D
convention of the literature) and write JSON + Markdown into --out. expansion runs
examples/hbn/in.npt (NPT at 0 bar in-plane) with the model and with LAMMPS' ExTeP and reports
the lattice constant, the B–N bond length and their expansion coefficients (expansion.png).
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
from pathlib import Path

from ..errors import UserError


def run_green_kubo(args: argparse.Namespace) -> int:
    from ..evaluation.thermal.green_kubo import GreenKuboSettings, green_kubo

    if args.dt_fs <= 0:
        raise UserError("--dt-fs must be positive")
    dt = args.dt_fs / 1000.0
    corr = max(1, round(args.corr_ps / dt / args.every))
    window = corr * args.every
    steps = max(1, round(args.run_ps / dt / window)) * window  # a whole number of correlation windows
    settings = GreenKuboSettings(
        model=args.model, nx=args.nx, ny=args.ny, lattice_constant=args.lattice_constant,
        temperature=args.temperature, dt=dt, equil=round(args.equil_ps / dt), steps=steps,
        every=args.every, corr=corr, runs=args.runs, seed=args.seed,
        nprocs=args.np, thickness=args.thickness)
    result = green_kubo(settings, Path(args.out), quiet=args.quiet, reuse=not args.rerun)
    print((Path(args.out) / "green_kubo.md").read_text())
    print(f"wrote {args.out}/green_kubo.json, green_kubo.md, green_kubo.png")
    return 0 if result else 1


def run_bte(args: argparse.Namespace) -> int:
    from ..evaluation.bench.common import conditions_text, header, load_average
    from ..evaluation.thermal.bte import BTESettings, bte, dispersion_figure, markdown

    settings = BTESettings(model=args.model, lattice_constant=args.lattice_constant,
                           fc2_supercell=args.fc2_supercell, fc3_supercell=args.fc3_supercell,
                           cutoffs=list(args.cutoffs), meshes=list(args.meshes), temperature=args.temperature,
                           displacement=args.displacement, lbte=not args.rta_only, thickness=args.thickness)
    head = header("thermal bte")
    head["command"] = "areanet " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    result = bte(settings, quiet=args.quiet)
    result.update(head)
    result["load_average_end"] = load_average()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bte.json").write_text(json.dumps(result, indent=1) + "\n")
    text = markdown(result, head["command"], conditions_text(result))
    (out / "bte.md").write_text(text)
    dispersion_figure([result], out / "dispersion.png")
    print(text)
    print(f"wrote {out}/bte.json, bte.md and dispersion.png")
    return 0


def run_expansion(args: argparse.Namespace) -> int:
    from ..evaluation.bench.common import conditions_text, header, load_average
    from ..evaluation.thermal.expansion import format_expansion, section_expansion

    temperatures = sorted(args.temperatures)
    if len(temperatures) < 2 or temperatures[0] <= 0:
        raise UserError("--temperatures: at least two temperatures above 0 K")
    if args.steps < 200 or args.nx < 3 or args.ny < 2:
        raise UserError("--steps of at least 200, --nx of at least 3 and --ny of at least 2")
    model = Path(args.model)
    if not model.is_file():
        raise UserError(f"{model}: no such model file")
    plan = dict(nx=args.nx, ny=args.ny, steps=args.steps, temperatures=tuple(temperatures))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    head = header("thermal expansion")
    head["command"] = "areanet " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    log = (lambda *a, **k: None) if args.quiet else (lambda text: print(text, flush=True))
    with tempfile.TemporaryDirectory(prefix="areanet-expansion-") as tmp:
        result = section_expansion(model, args.lattice_constant, out, Path(tmp), log=log, plan=plan)
    result.update(head)
    result["load_average_end"] = load_average()
    (out / "expansion.json").write_text(json.dumps(result, indent=1) + "\n")
    text = "\n".join([f"# Thermal expansion: {model}", "", f"`{head['command']}`", "",
                      conditions_text(result), ""] + format_expansion(result, "")[2:])
    (out / "expansion.md").write_text(text)
    print(text)
    print(f"wrote {out}/expansion.json, expansion.md and expansion.png")
    return 0


def add_common_arguments(parser: argparse.ArgumentParser, model_help: str, out_help: str, quiet_help: str) -> None:
    """What both methods take: the potential, the output folder, T, the sheet thickness, --quiet."""
    parser.add_argument("model", help=model_help)
    parser.add_argument("--out", required=True, help=out_help)
    parser.add_argument("--temperature", type=float, default=300.0, help="K (default 300)")
    parser.add_argument("--thickness", type=float, default=3.33,
                        help="sheet thickness for the volume, Å (default 3.33)")
    parser.add_argument("--quiet", action="store_true", help=quiet_help)


def register(subparsers) -> None:
    parser = subparsers.add_parser("thermal", help="thermal properties: κ by Green–Kubo (LAMMPS) and BTE (phono3py), thermal expansion (NPT MD)",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="thermal_command", required=True, metavar="METHOD")

    gk = sub.add_parser("green-kubo", help="κ from equilibrium MD: several independent LAMMPS runs")
    add_common_arguments(gk, "exported local model (a charged model cannot give a heat current)",
                         "output folder (runs, green_kubo.json/.md/.png)", "no progress bar")
    gk.add_argument("--runs", type=int, default=4, help="independent runs (velocity seeds), default 4")
    gk.add_argument("--nx", type=int, default=10, help="orthorhombic 4-atom cells along x (default 10)")
    gk.add_argument("--ny", type=int, default=6, help="... along y (default 6: 240 atoms)")
    gk.add_argument("--lattice-constant", type=float, default=2.505, help="starting a in Å (the box is relaxed)")
    gk.add_argument("--dt-fs", type=float, default=1.0, help="time step in fs (default 1)")
    gk.add_argument("--equil-ps", type=float, default=10.0, help="NVT equilibration per run, ps (default 10)")
    gk.add_argument("--run-ps", type=float, default=100.0, help="NVE production per run, ps (default 100)")
    gk.add_argument("--corr-ps", type=float, default=10.0, help="correlation length, ps (default 10)")
    gk.add_argument("--every", type=int, default=5, help="sample J every N steps (default 5)")
    gk.add_argument("--seed", type=int, default=1, help="first velocity seed (run k uses seed + 1000 k)")
    gk.add_argument("--np", type=int, default=1, help="MPI ranks per run (default 1)")
    gk.add_argument("--rerun", action="store_true",
                    help="rerun every run (by default a run finished before under --out with the same "
                         "settings and seed is read back, so an interrupted study resumes)")
    gk.set_defaults(func=run_green_kubo)

    b = sub.add_parser("bte", help="κ from the phonon BTE with phono3py (areanet[thermal])")
    add_common_arguments(b, "exported model file, or 'extep' for LAMMPS' ExTeP (BN.extep) itself",
                         "output folder (bte.json, bte.md)", "no progress bars")
    b.add_argument("--lattice-constant", type=float, default=None, help="Å (default: the potential's minimum)")
    b.add_argument("--fc2-supercell", type=int, default=8, help="N of the N x N x 1 fc2 supercell (default 8)")
    b.add_argument("--fc3-supercell", type=int, default=5, help="N of the N x N x 1 fc3 supercell (default 5)")
    b.add_argument("--cutoffs", type=float, nargs="+", default=[3.0, 4.0],
                   help="fc3 pair cutoffs in Å, the convergence study (default 3 4)")
    b.add_argument("--meshes", type=int, nargs="+", default=[21, 31],
                   help="m of the m x m x 1 q-meshes, the convergence study (default 21 31)")
    b.add_argument("--displacement", type=float, default=0.03, help="finite displacement, Å (default 0.03)")
    b.add_argument("--rta-only", action="store_true", help="skip the full linearised BTE (RTA only)")
    b.set_defaults(func=run_bte)

    ex = sub.add_parser("expansion", help="in-plane thermal expansion from NPT MD (LAMMPS), "
                        "beside LAMMPS' ExTeP")
    ex.add_argument("model", help="exported model file")
    ex.add_argument("--out", required=True, help="output folder (expansion.json/.md/.png)")
    ex.add_argument("--temperatures", type=float, nargs="+", default=[300.0, 500.0, 700.0, 1000.0],
                    help="K (default 300 500 700 1000; α is the secant from the first to the last)")
    ex.add_argument("--nx", type=int, default=20, help="orthorhombic 4-atom cells along x (default 20)")
    ex.add_argument("--ny", type=int, default=12, help="... along y (default 12: 960 atoms)")
    ex.add_argument("--steps", type=int, default=20000,
                    help="steps of 1 fs per temperature, the second half averaged (default 20000)")
    ex.add_argument("--lattice-constant", type=float, default=2.52,
                    help="starting a of the model's sheet in Å (the barostat relaxes it)")
    ex.add_argument("--quiet", action="store_true", help="no line per run")
    ex.set_defaults(func=run_expansion)
