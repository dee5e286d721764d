"""`areanet bench nve`: NVE energy drift of pair_style areanet on a flat sheet."""
from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path
from typing import Any

from ...errors import UserError
from ...lammps_env import plugin_path
from .common import conditions_text, fmt, header, make_sheet_module, publish, resolve_model, STYLES, table
from .lammps import pair_command, run_lammps, SHEET_SETUP
from .md import derive_md


# --- NVE drift -------------------------------------------------------------------------------

NVE_INPUT = """\
# areanet bench nve: {style}
{plugin_line}
""" + SHEET_SETUP + """\
timestep        {dt}
velocity        all create {temperature} {seed} mom yes rot yes dist gaussian loop geom
fix             nve all nve
thermo          {thermo}
thermo_style    custom step time temp pe ke etotal
thermo_modify   norm no
run             {equilibrate} post no
variable        e0 equal $(etotal/atoms)
variable        t equal time
variable        de equal etotal/atoms-v_e0
variable        tde equal v_t*v_de
variable        tt equal v_t*v_t
fix             drift all ave/time {sample} 1 {sample} v_t v_de v_tde v_tt ave running
variable        slope equal 1000*(f_drift[3]-f_drift[1]*f_drift[2])/(f_drift[4]-f_drift[1]*f_drift[1])
run             {steps}
print           "AREANET_DRIFT $(v_slope:%.6f) $(temp:%.2f) $(v_e0:%.8f) $(etotal/atoms:%.8f)"
"""


def cmd_nve(args) -> int:
    model = resolve_model(args.model)

    plugin = Path(args.plugin) if args.plugin else plugin_path()
    if any(s != "extep" for s in args.styles) and not plugin.is_file():
        raise UserError(f"the LAMMPS plugin {plugin} is not built: `areanet lammps-plugin --build`")
    make_sheet = make_sheet_module()
    result = header("nve")
    result.update({"model": str(model), "atoms": args.atoms, "steps": args.steps, "dt_ps": args.dt,
                   "temperature_K": args.temperature, "equilibration_steps": args.equilibrate,
                   "ranks": args.ranks, "bar_mev_per_atom_per_ps": 0.05, "runs": []})
    duration = args.steps * args.dt
    print(f"areanet bench nve: {args.atoms} atoms from {args.temperature} K, dt {args.dt * 1000:g} fs, "
          f"{args.steps} steps ({duration:g} ps), {args.ranks} rank(s)", flush=True)
    with tempfile.TemporaryDirectory(prefix="areanet-bench-") as tmp:
        workdir = Path(tmp)
        nx, ny = make_sheet.square_replication(args.atoms)
        data = workdir / "sheet.data"
        make_sheet.write_lammps_data(data, make_sheet.hbn_sheet(nx, ny))
        for style in args.styles:
            text = NVE_INPUT.format(
                style=style, data=data, pair=pair_command(style, model),
                plugin_line=f"plugin load     {plugin}" if style != "extep" else "",
                dt=args.dt, temperature=args.temperature, seed=args.seed, thermo=max(args.steps // 10, 1),
                equilibrate=args.equilibrate, sample=args.sample, steps=args.steps)
            t0 = time.perf_counter()
            run = run_lammps(text, workdir, args.ranks, args.timeout)
            run.update(parse_drift(run.pop("stdout")))
            run.update({"style": style, "pair_style": STYLES[style], "wall_s": time.perf_counter() - t0,
                        "simulated_ps": duration, "ranks": args.ranks})
            derive_md(run)
            result["runs"].append(run)
            ok = abs(run["drift_mev_per_atom_per_ps"]) < result["bar_mev_per_atom_per_ps"]
            print(f"  {style:20s} drift {run['drift_mev_per_atom_per_ps']:+.5f} meV/atom/ps "
                  f"({'below' if ok else 'ABOVE'} the 0.05 bar); T now {run['final_temperature_K']:.0f} K; "
                  f"{fmt(run['us_per_atom_step'])} µs/atom-step", flush=True)
    return publish(args, result, nve_markdown(result))


def parse_drift(text: str) -> dict[str, Any]:
    match = re.findall(r"^AREANET_DRIFT (\S+) (\S+) (\S+) (\S+)", text, re.M)
    if not match:
        raise UserError("the NVE run printed no drift line")
    slope, temp, e0, e1 = (float(v) for v in match[-1])
    return {"drift_mev_per_atom_per_ps": slope, "final_temperature_K": temp, "etotal_start_ev_per_atom": e0,
            "etotal_end_ev_per_atom": e1}


def nve_markdown(result: dict[str, Any]) -> str:
    rows = []
    for run in result["runs"]:
        rows.append([f"`{run['pair_style']}`", f"{run['drift_mev_per_atom_per_ps']:+.5f}",
                     "yes" if abs(run["drift_mev_per_atom_per_ps"]) < result["bar_mev_per_atom_per_ps"] else "no",
                     f"{run['final_temperature_K']:.0f}",
                     f"{1000 * (run['etotal_end_ev_per_atom'] - run['etotal_start_ev_per_atom']):+.4f}",
                     fmt(run["us_per_atom_step"])])
    text = "# NVE energy drift\n\n"
    text += f"Command: `{result['command']}`\n\n"
    text += (f"Conditions: {conditions_text(result)}. Model `{result['model']}`. {result['atoms']} atoms "
             f"(flat sheet), velocities from {result['temperature_K']} K, dt {result['dt_ps'] * 1000:g} fs, "
             f"{result['equilibration_steps']} steps before the fit, then {result['steps']} steps "
             f"({result['steps'] * result['dt_ps']:g} ps) on {result['ranks']} rank(s). Drift = slope of a "
             f"least-squares line through E_total/atom(t) (issue 3's bar: below "
             f"{result['bar_mev_per_atom_per_ps']} meV/atom/ps).\n\n")
    text += table(rows, ["pair style", "drift meV/atom/ps", "below bar", "T end (K)", "ΔE_total meV/atom",
                         "µs/atom-step"])
    return text
