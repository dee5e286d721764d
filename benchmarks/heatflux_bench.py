"""Cost of the Green–Kubo MD step (heat current from compute centroid/stress/atom) against plain MD.

    .venv/bin/python benchmarks/heatflux_bench.py [--atoms 960] [--steps 400] [--repeats 3] [--model M]

The same sheet, the same `pair_style areanet` NVE from 300 K in the venv's `lmp`, 1 MPI rank:

* plain:  fix nve only (thermo every `steps` steps: no per-atom virial);
* GK, every 5: the NVE of examples/thermal/in.green_kubo: compute ke/atom, pe/atom,
  centroid/stress/atom, heat/flux and fix ave/correlate of J_x, J_y every 5 steps (the
  example's default sampling: per-atom energies and centroid virials are tallied on those
  steps only);
* GK, every step: the same with J sampled at every step (the worst case).

Each variant runs `repeats` times, interleaved, after warm-up steps; µs/atom-step = LAMMPS' loop
time / (atoms × steps), the best of the repeats (least disturbed by other load on a shared
machine), and CPU µs/atom-step = the same × LAMMPS' "% CPU use". Writes
benchmarks/heatflux.md and benchmarks/heatflux.json.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import tempfile
from pathlib import Path

from areanet.training.evaluation.bench.common import git_commit, load_average, machine, make_sheet_module
from areanet.training.evaluation.bench.lammps import run_lammps

ROOT = Path(__file__).resolve().parents[1]

INPUT = """units metal
atom_style atomic
boundary p p p
read_data {data}
pair_style areanet
pair_coeff * * {model} B N
velocity all create 300 4928 mom yes rot yes dist gaussian loop geom
timestep 0.001
{extra}
fix nve all nve
thermo {steps}
run {warmup}
run {steps}
"""

GK = """compute ke all ke/atom
compute pe all pe/atom
compute cs all centroid/stress/atom NULL virial
compute flux all heat/flux ke pe cs
variable Jx equal c_flux[1]
variable Jy equal c_flux[2]
fix JJ all ave/correlate {every} 200 {nfreq} v_Jx v_Jy type auto ave running"""

VARIANTS = {"plain": None, "GK, J every 5 steps": 5, "GK, J every step": 1}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--atoms", type=int, default=960)
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--model", default=str(ROOT / "models" / "hbn-extep.pt"))
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "heatflux"))
    args = p.parse_args(argv)
    load_start = load_average()
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in VARIANTS}
    make_sheet = make_sheet_module()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = tmp / "sheet.data"
        make_sheet.write_lammps_data(data, make_sheet.hbn_sheet(*make_sheet.square_replication(args.atoms)))
        for repeat in range(args.repeats):
            for name, every in VARIANTS.items():
                extra = "" if every is None else GK.format(every=every, nfreq=200 * every)
                text = INPUT.format(data=data, model=args.model, extra=extra, steps=args.steps, warmup=args.warmup)
                run = run_lammps(text, tmp, 1, None)
                seconds, cpu = run["loop_s"], run["cpu_percent"] if run["cpu_percent"] is not None else float("nan")
                times[name].append((seconds, cpu))
                us = 1e6 * seconds / (args.steps * args.atoms)
                print(f"repeat {repeat + 1}/{args.repeats} {name}: {us:.2f} µs/atom-step ({cpu:.0f} % CPU)", flush=True)
    rows = []
    for name, runs in times.items():
        best = min(runs)
        us = 1e6 * best[0] / (args.steps * args.atoms)
        cpu_us = min(1e6 * s * c / 100.0 / (args.steps * args.atoms) for s, c in runs)
        rows.append({"variant": name, "us_per_atom_step": us, "cpu_us_per_atom_step": cpu_us,
                     "all_loop_s": [s for s, _ in runs], "all_cpu_percent": [c for _, c in runs]})
    for row in rows:
        row["vs_plain"] = row["us_per_atom_step"] / rows[0]["us_per_atom_step"]
        row["cpu_vs_plain"] = row["cpu_us_per_atom_step"] / rows[0]["cpu_us_per_atom_step"]
    commit = git_commit()
    host = machine()
    meta = {"command": "python benchmarks/heatflux_bench.py " + " ".join(argv if argv is not None else sys.argv[1:]),
            "model": os.path.relpath(args.model, ROOT), "commit": commit, "atoms": args.atoms, "steps": args.steps,
            "repeats": args.repeats,
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": f"{host['cpu']}, {host['cores']} cores", "load_average_start": load_start,
            "load_average_end": load_average()}
    Path(args.out + ".json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")
    lines = [
        "# Green–Kubo MD step (heat current via `compute centroid/stress/atom`) vs plain MD",
        "",
        f"`{meta['command']}` — {meta['date']}, commit {commit}, {meta['machine']}; load average (1 min) "
        f"{load_start[0]:.1f} at the start, {meta['load_average_end'][0]:.1f} at the end (the machine was shared).",
        "",
        f"`pair_style areanet`, model `{meta['model']}`, {args.atoms} atoms, NVE from 300 K, 1 MPI rank, 1 thread; "
        f"{args.steps} steps timed after {args.warmup} warm-up steps, best of {args.repeats} interleaved repeats. "
        "GK = compute ke/atom, pe/atom, centroid/stress/atom, heat/flux and fix ave/correlate of J_x, J_y "
        "(examples/thermal/in.green_kubo's production run). Target: ≤ 1.2× plain.",
        "",
        "| variant | µs/atom-step | × plain | CPU µs/atom-step | × plain (CPU) |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(f"| {row['variant']} | {row['us_per_atom_step']:.2f} | {row['vs_plain']:.3f} | "
                     f"{row['cpu_us_per_atom_step']:.2f} | {row['cpu_vs_plain']:.3f} |")
    Path(args.out + ".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"wrote {args.out}.md and {args.out}.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
