"""Throughput of `pair_style mliap unified` (the Python path) against `pair_style areanet`
(the plugin's native C++), same sheet, same LAMMPS build (scripts/build_mliap_lammps.sh), 1 rank.

    .venv/bin/python benchmarks/mliap_bench.py [--atoms 15360] [--steps 10] [--warmup 2] [--model M]

Runs NVE from 300 K with each pair style in that LAMMPS' `lmp` (one thread: OMP_NUM_THREADS=1
and torch's default for the embedded Python left to that), reads LAMMPS' loop time and
"% CPU use" of the measured run (after `--warmup` steps that load the model and build the
lists), and writes benchmarks/mliap.md and benchmarks/mliap.json.
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
sys.path.insert(0, str(ROOT / "tests"))

INPUT = """{plugin_line}
units metal
atom_style atomic
boundary p p p
read_data {data}
{pair}
velocity all create 300 4928 mom yes rot yes dist gaussian loop geom
fix nve all nve
timestep 0.001
thermo {steps}
thermo_style custom step pe etotal press
run {warmup}
run {steps}
"""


def main(argv: list[str] | None = None) -> int:
    from test_mliap import PLUGIN_BUILD, mliap_lammps_env, mliap_lammps_prefix

    from areanet.potential.mliap import write_mliap

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--atoms", type=int, default=15360)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--model", default=str(ROOT / "models" / "hbn-extep.pt"))
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "mliap"))
    args = p.parse_args(argv)

    prefix = mliap_lammps_prefix()
    if prefix is None:
        raise SystemExit("no LAMMPS with ML-IAP + PYTHON: run `bash scripts/build_mliap_lammps.sh`")
    plugin = PLUGIN_BUILD / "areanetplugin.so"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = tmp / "sheet.data"
        make_sheet = make_sheet_module()
        make_sheet.write_lammps_data(data, make_sheet.hbn_sheet(*make_sheet.square_replication(args.atoms)))
        pkl = write_mliap(args.model, tmp / "model.mliap.pkl")
        styles = {
            "areanet": f"pair_style areanet\npair_coeff * * {args.model} B N",
            "mliap unified": f"pair_style mliap unified {pkl} 0\npair_coeff * * B N",
        }
        for name, pair in styles.items():
            text = INPUT.format(plugin_line=f"plugin load {plugin}", data=data, pair=pair, steps=args.steps,
                                warmup=args.warmup)
            run = run_lammps(text, tmp, 1, None, lmp=str(prefix / "bin" / "lmp"), env=mliap_lammps_env(prefix))
            seconds, cpu = run["loop_s"], run["cpu_percent"] if run["cpu_percent"] is not None else float("nan")
            us = 1e6 * seconds / (args.steps * args.atoms)
            rows.append({"style": name, "atoms": args.atoms, "steps": args.steps, "loop_s": seconds,
                         "cpu_percent": cpu, "us_per_atom_step": us})
            print(f"{name}: {seconds:.2f} s for {args.steps} steps, {us:.2f} µs/atom-step ({cpu:.0f} % CPU)")
    base = rows[0]["us_per_atom_step"]
    for row in rows:
        row["vs_areanet"] = row["us_per_atom_step"] / base
    commit = git_commit()
    host = machine()
    meta = {"command": "python benchmarks/mliap_bench.py " + " ".join(argv if argv is not None else sys.argv[1:]),
            "lammps": str(prefix), "model": os.path.relpath(args.model, ROOT), "commit": commit,
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": f"{host['cpu']}, {host['cores']} cores",
            "load_average": load_average()}
    Path(args.out + ".json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")
    lines = [
        "# `pair_style mliap unified` vs `pair_style areanet`",
        "",
        f"`{meta['command']}` — {meta['date']}, commit {commit}, {meta['machine']}, load average "
        f"{', '.join(f'{x:.1f}' for x in meta['load_average'])} at the end (the machine was shared).",
        "",
        f"Same LAMMPS (Debian's 4Feb2025 built by scripts/build_mliap_lammps.sh), same sheet "
        f"({args.atoms} atoms, NVE from 300 K), model `{meta['model']}`, 1 MPI rank, 1 thread; "
        f"{args.steps} steps timed after {args.warmup} warm-up steps.",
        "",
        "| pair style | loop time (s) | µs/atom-step | × areanet | % CPU |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(f"| `{row['style']}` | {row['loop_s']:.2f} | {row['us_per_atom_step']:.2f} | "
                     f"{row['vs_areanet']:.2f} | {row['cpu_percent']:.0f} |")
    Path(args.out + ".md").write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}.md and {args.out}.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
