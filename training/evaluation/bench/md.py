"""`areanet bench md`: LAMMPS MD throughput of pair_style areanet against extep, 1 and 2 ranks."""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from ...errors import UserError
from ...lammps_env import plugin_path
from .common import conditions_text, fmt, header, make_sheet_module, publish, resolve_model, STYLES, table
from .lammps import MD_INPUT, pair_command, run_lammps


def md_steps(atoms: int, args) -> int:
    if args.steps:
        return args.steps
    return int(min(max(round(args.atom_steps / atoms), args.min_steps), args.max_steps))


def cmd_md(args) -> int:
    model = resolve_model(args.model)
    styles = args.styles

    plugin = Path(args.plugin) if args.plugin else plugin_path()
    if any(s != "extep" for s in styles) and not plugin.is_file():
        raise UserError(f"the LAMMPS plugin {plugin} is not built: `areanet lammps-plugin --build`")
    make_sheet = make_sheet_module()
    result = header("md")
    result.update({"model": str(model), "plugin": str(plugin), "styles": styles, "sizes": args.sizes,
                   "ranks": args.ranks, "warmup_steps": args.warmup, "temperature_K": args.temperature,
                   "runs": []})
    print(f"areanet bench md: {', '.join(styles)} on {args.sizes} atoms, {args.ranks} rank(s); "
          f"model {model}", flush=True)
    with tempfile.TemporaryDirectory(prefix="areanet-bench-") as tmp:
        workdir = Path(tmp)
        for atoms in args.sizes:
            nx, ny = make_sheet.square_replication(atoms)
            data = workdir / f"sheet-{atoms}.data"
            make_sheet.write_lammps_data(data, make_sheet.hbn_sheet(nx, ny))
            steps = md_steps(atoms, args)
            for ranks in args.ranks:
                for repeat in range(args.repeats):
                    for style in styles:
                        text = MD_INPUT.format(
                            style=style, atoms=atoms, data=data, pair=pair_command(style, model),
                            plugin_line=f"plugin load     {plugin}" if style != "extep" else "",
                            temperature=args.temperature, thermo=max(steps, 1), warmup=args.warmup, steps=steps)
                        run = run_lammps(text, workdir, ranks, args.timeout)
                        del run["stdout"]
                        run.update({"style": style, "pair_style": STYLES[style], "ranks": ranks, "repeat": repeat})
                        derive_md(run)
                        result["runs"].append(run)
                        print(f"  {atoms:6d} atoms  {ranks} rank(s)  {style:20s} {steps:5d} steps  "
                              f"{fmt(run['us_per_atom_step'])} µs/atom-step ({fmt(run['cpu_us_per_atom_step'])} CPU)  "
                              f"peak RSS {fmt(run['peak_rss_mb_max'])} MB/rank", flush=True)
    result["summary"] = summarise_md(result)
    return publish(args, result, md_markdown(result))


def derive_md(run: dict[str, Any]) -> None:
    atom_steps = run["atoms"] * run["steps"]
    run["atom_steps_per_s"] = atom_steps / run["loop_s"] if run["loop_s"] > 0 else None
    run["us_per_atom_step"] = run["loop_s"] / atom_steps * 1e6 if atom_steps else None
    # CPU time of rank 0 over the loop; with every rank busy, × ranks = CPU spent per atom-step
    cpu = run["cpu_percent"] / 100.0 if run["cpu_percent"] is not None else None
    run["cpu_us_per_atom_step"] = (run["us_per_atom_step"] * cpu * run["ranks"]
                                   if cpu is not None and run["us_per_atom_step"] else None)
    rss = run["peak_rss_kb_per_rank"]
    run["peak_rss_mb_max"] = max(rss) / 1024 if rss else None
    run["peak_rss_mb_total"] = sum(rss) / 1024 if rss else None


def best_runs(result: dict[str, Any]) -> dict[tuple[int, int, str], dict[str, Any]]:
    """The fastest repeat of each (atoms, ranks, style)."""
    best: dict[tuple[int, int, str], dict[str, Any]] = {}
    for run in result["runs"]:
        key = (run["atoms"], run["ranks"], run["style"])
        if key not in best or run["loop_s"] < best[key]["loop_s"]:
            best[key] = run
    return best


def summarise_md(result: dict[str, Any]) -> list[dict[str, Any]]:
    best = best_runs(result)
    rows = []
    for atoms in result["sizes"]:
        for ranks in result["ranks"]:
            ref = best.get((atoms, ranks, "extep"))
            for style in result["styles"]:
                run = best.get((atoms, ranks, style))
                if run is None:
                    continue
                row = {"atoms": atoms, "ranks": ranks, "style": style,
                       "us_per_atom_step": run["us_per_atom_step"],
                       "cpu_us_per_atom_step": run["cpu_us_per_atom_step"],
                       "atom_steps_per_s": run["atom_steps_per_s"],
                       "peak_rss_mb_max": run["peak_rss_mb_max"], "peak_rss_mb_total": run["peak_rss_mb_total"]}
                if ref is not None and style != "extep":
                    # throughput as a fraction of ExTeP's (wall and CPU time)
                    row["fraction_of_extep"] = ref["us_per_atom_step"] / run["us_per_atom_step"]
                    if ref["cpu_us_per_atom_step"] and run["cpu_us_per_atom_step"]:
                        row["fraction_of_extep_cpu"] = ref["cpu_us_per_atom_step"] / run["cpu_us_per_atom_step"]
                    if ref["peak_rss_mb_total"] is not None and run["peak_rss_mb_total"] is not None:
                        row["extra_rss_mb"] = run["peak_rss_mb_total"] - ref["peak_rss_mb_total"]
                        row["extra_rss_kb_per_atom"] = row["extra_rss_mb"] * 1024 / atoms
                one = best.get((atoms, 1, style))
                if ranks > 1 and one is not None:
                    row["speedup_vs_1_rank"] = one["us_per_atom_step"] / run["us_per_atom_step"]
                rows.append(row)
    # marginal memory per atom: the slope of the extra RSS between the smallest and largest size
    for style in result["styles"]:
        for ranks in result["ranks"]:
            pts = [(r["atoms"], r["extra_rss_mb"]) for r in rows
                   if r["style"] == style and r["ranks"] == ranks and "extra_rss_mb" in r]
            if len(pts) >= 2:
                (a0, m0), (a1, m1) = min(pts), max(pts)
                slope = (m1 - m0) * 1024 / (a1 - a0) if a1 > a0 else None
                for r in rows:
                    if r["style"] == style and r["ranks"] == ranks:
                        r["marginal_extra_rss_kb_per_atom"] = slope
    return rows


def md_markdown(result: dict[str, Any]) -> str:
    rows = []
    for r in result["summary"]:
        rows.append([
            str(r["atoms"]), str(r["ranks"]), f"`{STYLES[r['style']]}`", fmt(r["us_per_atom_step"]),
            fmt(r["cpu_us_per_atom_step"]), fmt(r["atom_steps_per_s"] / 1e6 if r["atom_steps_per_s"] else None),
            (f"{100 * r['fraction_of_extep']:.1f} % ({100 * r['fraction_of_extep_cpu']:.1f} %)"
             if "fraction_of_extep_cpu" in r else (f"{100 * r['fraction_of_extep']:.1f} %" if "fraction_of_extep" in r else "–")),
            fmt(r.get("speedup_vs_1_rank"), 2) + ("×" if r.get("speedup_vs_1_rank") else ""),
            fmt(r["peak_rss_mb_max"]) if r["peak_rss_mb_max"] is not None else "–",
            fmt(r.get("extra_rss_kb_per_atom")),
        ])
    steps = sorted({(run["atoms"], run["steps"]) for run in result["runs"]})
    evals = sorted({run["evaluation"] for run in result["runs"] if run.get("evaluation")})
    text = f"# MD throughput: pair_style areanet vs extep\n\n"
    text += f"Command: `{result['command']}`\n\n"
    text += f"Conditions: {conditions_text(result)}. Model `{result['model']}`. "
    text += ("Flat sheet (examples/hbn/make_sheet.py), velocities from "
             f"{result['temperature_K']} K, NVE, dt 1 fs, {result['warmup_steps']} warm-up steps, then "
             + ", ".join(f"{s} steps at {a} atoms" for a, s in steps) + " timed (LAMMPS' loop time). ")
    text += ("µs/atom-step = loop time / (atoms × steps); CPU = the same × rank 0's CPU use × ranks "
             "(less distorted by other load on a shared machine). "
             "Fraction of ExTeP = ExTeP's time / areanet's at the same size and ranks (CPU-time ratio in "
             "brackets). Peak RSS per rank; extra = total RSS over the ExTeP run's, per atom.\n\n")
    if evals:
        text += "areanet evaluation: " + "; ".join(evals) + ".\n\n"
    text += table(rows, ["atoms", "ranks", "pair style", "µs/atom-step", "CPU µs/atom-step",
                         "Matom-steps/s", "fraction of ExTeP", "2-rank speed-up", "peak RSS MB/rank",
                         "extra KB/atom"])
    marg = {(r["style"], r["ranks"]): r.get("marginal_extra_rss_kb_per_atom") for r in result["summary"]
            if r.get("marginal_extra_rss_kb_per_atom") is not None}
    if marg:
        text += "\nMarginal memory over ExTeP (slope of the extra RSS between the smallest and largest sheet): "
        text += ", ".join(f"`{STYLES[s]}` {n} rank(s) {fmt(v)} KB/atom" for (s, n), v in sorted(marg.items()))
        text += ".\n"
    return text
