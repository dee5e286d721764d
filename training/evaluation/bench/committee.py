"""`areanet bench committee`: the MD cost of a model committee (pair_style areanet out_freq N).

Three runs of the same NVE MD per committee: the first model alone, and all models with the
deviation written every --freqs steps (default 10 and 100). The members are evaluated only
on those steps, so the extra cost per step is (M − 1) local evaluations / N; a charged
model's long-range term is computed once for the whole committee. The runs go round-robin
(--repeats rounds), so that a change of the machine's load hits every case alike; the
fastest of each counts.
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from ...errors import UserError
from ...lammps_env import plugin_path
from .common import conditions_text, fmt, header, make_sheet_module, publish, resolve_model, table
from .lammps import MD_INPUT, run_lammps
from .md import derive_md


def pair_lines(models: list[Path], freq: int | None, out_file: Path) -> str:
    files = " ".join(str(m) for m in models)
    if freq is None:
        return f"pair_style      areanet\npair_coeff      * * {models[0]} B N"
    return f"pair_style      areanet out_freq {freq} out_file {out_file}\npair_coeff      * * {files} B N"


def cmd_committee(args) -> int:
    models = [resolve_model(m) for m in args.models]
    if len(models) < 2:
        raise UserError("give at least two model files: the committee (the first drives the MD)")
    plugin = Path(args.plugin) if args.plugin else plugin_path()
    if not plugin.is_file():
        raise UserError(f"the LAMMPS plugin {plugin} is not built: `areanet lammps-plugin --build`")
    make_sheet = make_sheet_module()
    result = header("committee")
    result.update({"models": [str(m) for m in models], "plugin": str(plugin), "atoms_requested": args.atoms,
                   "freqs": args.freqs, "steps": args.steps, "warmup_steps": args.warmup,
                   "temperature_K": args.temperature, "runs": []})
    cases: list[int | None] = [None, *args.freqs]
    print(f"areanet bench committee: {len(models)} models, out_freq {args.freqs} vs the first alone, "
          f"{args.atoms} atoms, 1 rank", flush=True)
    with tempfile.TemporaryDirectory(prefix="areanet-bench-") as tmp:
        workdir = Path(tmp)
        nx, ny = make_sheet.square_replication(args.atoms)
        data = workdir / "sheet.data"
        make_sheet.write_lammps_data(data, make_sheet.hbn_sheet(nx, ny))
        for repeat in range(args.repeats):
            for freq in cases:
                label = "single" if freq is None else f"committee, out_freq {freq}"
                text = MD_INPUT.format(style=label, atoms=args.atoms, data=data,
                                       pair=pair_lines(models, freq, workdir / "model_devi.out"),
                                       plugin_line=f"plugin load     {plugin}", temperature=args.temperature,
                                       thermo=max(args.steps, 1), warmup=args.warmup, steps=args.steps)
                run = run_lammps(text, workdir, 1, args.timeout)
                del run["stdout"]
                run.update({"case": label, "out_freq": freq, "models": 1 if freq is None else len(models),
                            "repeat": repeat, "ranks": 1})
                derive_md(run)
                result["runs"].append(run)
                print(f"  {label:26s} {run['steps']:5d} steps  {fmt(run['us_per_atom_step'])} µs/atom-step "
                      f"({fmt(run['cpu_us_per_atom_step'])} CPU)", flush=True)
    result["summary"] = summarise(result)
    return publish(args, result, markdown(result))


def summarise(result: dict[str, Any]) -> list[dict[str, Any]]:
    best: dict[str, dict[str, Any]] = {}
    for run in result["runs"]:
        if run["case"] not in best or run["loop_s"] < best[run["case"]]["loop_s"]:
            best[run["case"]] = run
    single = best["single"]
    rows = []
    for case, run in best.items():
        row = {"case": case, "out_freq": run["out_freq"], "models": run["models"],
               "us_per_atom_step": run["us_per_atom_step"], "cpu_us_per_atom_step": run["cpu_us_per_atom_step"],
               "cost_vs_single": run["us_per_atom_step"] / single["us_per_atom_step"]}
        if run["cpu_us_per_atom_step"] and single["cpu_us_per_atom_step"]:
            row["cpu_cost_vs_single"] = run["cpu_us_per_atom_step"] / single["cpu_us_per_atom_step"]
        rows.append(row)
    return rows


def markdown(result: dict[str, Any]) -> str:
    rows = [[r["case"], str(r["models"]), fmt(r["us_per_atom_step"]), fmt(r["cpu_us_per_atom_step"]),
             f"{r['cost_vs_single']:.3f}×", f"{r['cpu_cost_vs_single']:.3f}×" if "cpu_cost_vs_single" in r else "–"]
            for r in result["summary"]]
    atoms = result["runs"][0]["atoms"]
    text = "# MD cost of a model committee (pair_style areanet out_freq N)\n\n"
    text += f"Command: `{result['command']}`\n\n"
    text += f"Conditions: {conditions_text(result)}. "
    text += (f"{atoms}-atom flat sheet, 1 rank, NVE from {result['temperature_K']} K, dt 1 fs, "
             f"{result['warmup_steps']} warm-up steps, then {result['steps']} timed steps (LAMMPS' loop "
             f"time); fastest of {max(r['repeat'] for r in result['runs']) + 1} round-robin round(s). "
             "Models: " + ", ".join(f"`{m}`" for m in result["models"]) + " (the first drives the MD). "
             "CPU = wall × the run's CPU use (less distorted by other load on a shared machine).\n\n")
    text += table(rows, ["case", "models", "µs/atom-step", "CPU µs/atom-step", "cost vs single",
                         "CPU cost vs single"])
    return text
