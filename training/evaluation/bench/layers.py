"""`areanet bench layers`: MD throughput of a bilayer, areanet vs ExTeP as the intralayer
potential, both beside ilp/graphene/hbn + coul/shield (examples/layers/potential.mod), 1 and 2 ranks."""
from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

from ...errors import UserError
from ...lammps_env import plugin_path, potentials_dir
from ...paths import REPOSITORY
from .common import conditions_text, fmt, header, make_layers_module, publish, resolve_model, table
from .lammps import run_lammps

INPUT = """\
# areanet bench layers: {intra} + ILP + coul/shield on {atoms} atoms
{plugin_line}
units           metal
atom_style      full
boundary        p p p
processors      * * 1
read_data       {data}
variable        intra string {intra}
variable        model string {model}
include         {potential}
velocity        all create {temperature} 4928 mom yes rot yes dist gaussian loop geom
timestep        0.001
fix             nve all nve
thermo          {thermo}
thermo_style    custom step temp pe etotal v_eintra v_einter
run             {warmup}
run             {steps}
"""
INTRA = ("areanet", "extep")


def cmd_layers(args) -> int:
    model = resolve_model(args.model)
    plugin = Path(args.plugin) if args.plugin else plugin_path()
    if not plugin.is_file():
        raise UserError(f"the LAMMPS plugin {plugin} is not built: `areanet lammps-plugin --build`")
    layers = make_layers_module()
    per_layer = args.atoms_per_layer
    if per_layer % 4:
        raise UserError(f"--atoms-per-layer {per_layer}: a layer is made of 4-atom cells")
    nx, ny = _square(per_layer // 4)
    result = header("layers")
    result.update({"model": str(model), "plugin": str(plugin), "atoms_per_layer": per_layer, "ranks": args.ranks,
                   "steps": args.steps, "warmup_steps": args.warmup, "temperature_K": args.temperature, "runs": []})
    print(f"areanet bench layers: AA' bilayer of 2 x {per_layer} atoms, {args.ranks} rank(s); model {model}",
          flush=True)
    with tempfile.TemporaryDirectory(prefix="areanet-bench-") as tmp:
        workdir = Path(tmp)
        data = workdir / "bilayer.data"
        atoms = layers.bilayer(nx, ny)
        layers.write_full_data(data, atoms, f"bench: AA' bilayer, {nx} x {ny} cells per layer")
        for name in layers.POTENTIAL_FILES:
            (workdir / name).symlink_to(potentials_dir() / name)
        for ranks in args.ranks:
            for intra in INTRA:
                text = INPUT.format(intra=intra, atoms=len(atoms), data=data, model=model,
                                    potential=REPOSITORY / "examples" / "layers" / "potential.mod",
                                    plugin_line=f"plugin load     {plugin}" if intra == "areanet" else "",
                                    temperature=args.temperature, thermo=max(args.steps, 1), warmup=args.warmup,
                                    steps=args.steps)
                run = run_lammps(text, workdir, ranks, args.timeout)
                del run["stdout"]
                run.update({"intra": intra, "ranks": ranks})
                atom_steps = run["atoms"] * run["steps"]
                run["us_per_atom_step"] = run["loop_s"] / atom_steps * 1e6 if atom_steps else None
                cpu = run["cpu_percent"] / 100.0 if run["cpu_percent"] is not None else None
                run["cpu_us_per_atom_step"] = run["us_per_atom_step"] * cpu * ranks if cpu and atom_steps else None
                run["peak_rss_mb_max"] = max(run["peak_rss_kb_per_rank"]) / 1024 if run["peak_rss_kb_per_rank"] else None
                result["runs"].append(run)
                print(f"  {run['atoms']} atoms  {ranks} rank(s)  {intra:8s} + ILP + coul/shield  {run['steps']} steps  "
                      f"{fmt(run['us_per_atom_step'])} µs/atom-step ({fmt(run['cpu_us_per_atom_step'])} CPU)", flush=True)
    return publish(args, result, markdown(result))


def _square(cells: int) -> tuple[int, int]:
    """(nx, ny) with nx·ny = cells closest to a square sheet (the cell is a × √3·a)."""

    pairs = [(cells // ny, ny) for ny in range(1, cells + 1) if cells % ny == 0]
    return min(pairs, key=lambda p: abs(math.log(p[0] / (math.sqrt(3.0) * p[1]))))


def markdown(result: dict[str, Any]) -> str:
    runs = {(r["ranks"], r["intra"]): r for r in result["runs"]}
    rows = []
    for (ranks, intra), r in sorted(runs.items()):
        ref = runs.get((ranks, "extep"))
        one = runs.get((1, intra))
        rows.append([str(r["atoms"]), str(ranks), f"`{intra}` + ILP + coul/shield", fmt(r["us_per_atom_step"]),
                     fmt(r["cpu_us_per_atom_step"]),
                     f"{100 * ref['us_per_atom_step'] / r['us_per_atom_step']:.1f} %" if ref and intra != "extep" else "–",
                     (fmt(one["us_per_atom_step"] / r["us_per_atom_step"], 2) + "×") if one and ranks > 1 else "–",
                     fmt(r["pair_s_avg"]), fmt(r["peak_rss_mb_max"])])
    text = "# Bilayer MD throughput: areanet vs ExTeP beside ilp/graphene/hbn + coul/shield\n\n"
    text += f"Command: `{result['command']}`\n\n"
    text += f"Conditions: {conditions_text(result)}. Model `{result['model']}`. "
    text += (f"AA' bilayer, 2 x {result['atoms_per_layer']} atoms (examples/layers/make_layers.py), "
             "atom_style full, the potential of examples/layers/potential.mod (ILP 16 A, coul/shield 16 A, "
             f"neighbor 1.0 bin), velocities from {result['temperature_K']} K, NVE, dt 1 fs, "
             f"{result['warmup_steps']} warm-up step(s), then {result['steps']} timed (LAMMPS' loop time). "
             "µs/atom-step = loop time / (atoms × steps); CPU = the same × rank 0's CPU use × ranks. "
             "Fraction of ExTeP = ExTeP's time / areanet's. Pair = LAMMPS' Pair time (s, average over ranks).\n\n")
    text += table(rows, ["atoms", "ranks", "potential", "µs/atom-step", "CPU µs/atom-step", "fraction of ExTeP",
                         "2-rank speed-up", "Pair s", "peak RSS MB/rank"])
    return text
