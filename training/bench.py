"""``areanet bench ...``: performance benchmarks that print figures (never timed tests).

    areanet bench md      LAMMPS throughput of pair_style areanet vs extep (same lmp, same sheet,
                          same run), 1 and 2 MPI ranks, peak memory; JSON + Markdown
    areanet bench nve     NVE energy drift (960 atoms from 300 K, dt 1 fs; issue 3's protocol)
    areanet bench precision  native float64 and float32 against the TorchScript model
    areanet bench python  ASE calculator throughput (AreaNetCalculator)
    areanet bench train   training time per epoch and structures/s on the paper-size set

Every subcommand writes ``OUT/<name>.json`` and ``OUT/<name>.md`` (default ``benchmarks/``)
holding the command line, the machine and its load, and the numbers. Times are wall clock
(what a user waits for) and CPU time where the machine is shared: CPU time is what a busy
machine distorts least, so the ratios between styles are computed from both.
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .cli import UserError

DEFAULT_SIZES = (60, 960, 15360, 61440)
DEFAULT_MODEL = "models/hbn-extep.pt"
# pair styles as `areanet bench md --styles` names them
STYLES = {
    "extep": "extep",
    "areanet": "areanet",  # native C++ evaluation, float64
    "areanet-float32": "areanet float32",
    "areanet-torchscript": "areanet torchscript",
}

# The report's 4450-structure ExTeP set, 60 atoms each.
PAPER_SET = {"structures": 4450, "atoms": 60}


# --- helpers ---------------------------------------------------------------------------------


def repository_root() -> Path:
    return Path(__file__).resolve().parents[1]


def int_list(text: str) -> list[int]:
    try:
        values = [int(float(v)) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of integers") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give positive integers")
    return values


def style_list(text: str) -> list[str]:
    names = [v.strip() for v in text.split(",") if v.strip()]
    unknown = [n for n in names if n not in STYLES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown style(s) {unknown}; choose from {', '.join(STYLES)}")
    return names


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()}


def load_average() -> list[float] | None:
    try:
        return [float(v) for v in Path("/proc/loadavg").read_text().split()[:3]]
    except (OSError, ValueError):
        return None


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=repository_root(),
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def command_line() -> str:
    return "areanet " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:2] == ["bench"] else \
        "areanet bench " + " ".join(shlex.quote(a) for a in sys.argv[2:])


def header(kind: str) -> dict[str, Any]:
    return {
        "benchmark": kind,
        "command": command_line(),
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "machine": machine(),
        "load_average_start": load_average(),
    }


def write_outputs(out_dir: Path, name: str, result: dict[str, Any], markdown: str) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    result["load_average_end"] = load_average()
    js = out_dir / f"{name}.json"
    md = out_dir / f"{name}.md"
    js.write_text(json.dumps(result, indent=1) + "\n")
    md.write_text(markdown)
    return js, md


def publish(args, result: dict[str, Any], text: str) -> int:
    """Write NAME.json + NAME.md under --out and print the Markdown: the end of every bench."""
    js, md = write_outputs(Path(args.out), args.name, result, text)
    print()
    print(text)
    print(f"wrote {js} and {md}")
    return 0


def conditions_text(result: dict[str, Any]) -> str:
    m = result["machine"]
    load = result.get("load_average_start")
    load_end = result.get("load_average_end") or load_average()
    text = f"{m['cpu']}, {m['cores']} cores; {result['date']}"
    if result.get("git_commit"):
        text += f", commit {result['git_commit']}"
    if load:
        text += f"; load average (1 min) {load[0]:.1f} at the start"
        if load_end:
            text += f", {load_end[0]:.1f} at the end"
    return text


def table(rows: list[list[str]], head: list[str]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def fmt(x: float | None, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    if x == 0:
        return "0"
    mag = abs(x)
    if mag >= 100:
        return f"{x:.0f}"
    return f"{x:.{max(digits - 1 - int(math.floor(math.log10(mag))), 0)}f}"


def resolve_model(path: str) -> Path:
    model = Path(path)
    if not model.is_file() and not model.is_absolute():
        alt = repository_root() / path
        if alt.is_file():
            model = alt
    if not model.is_file():
        raise UserError(
            f"model file {path} not found; give an exported model with --model "
            f"(`areanet export RUN/best.pt -o model.pt`)"
        )
    return model.resolve()


def make_sheet_module():
    import importlib.util

    path = repository_root() / "examples" / "hbn" / "make_sheet.py"
    spec = importlib.util.spec_from_file_location("areanet_bench_make_sheet", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def venv_tool(name: str) -> str:
    tool = Path(sys.prefix) / "bin" / name
    return str(tool) if tool.exists() else name


# --- LAMMPS runs -----------------------------------------------------------------------------

# Runs a command and reports the peak resident memory of its process tree's largest member
# (each MPI rank is run under its own copy, so this is per rank).
RSS_WRAPPER = (
    "import resource, subprocess, sys; r = subprocess.call(sys.argv[1:], close_fds=False); "
    "print('AREANET_PEAK_RSS_KB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); "
    "sys.exit(r)"
)

MD_INPUT = """\
# areanet bench md: {style} on {atoms} atoms
{plugin_line}
units           metal
atom_style      atomic
boundary        p p p
processors      * * 1
read_data       {data}
{pair}
velocity        all create {temperature} 4928 mom yes rot yes dist gaussian loop geom
timestep        0.001
fix             nve all nve
thermo          {thermo}
thermo_style    custom step temp pe etotal
run             {warmup}
run             {steps}
"""

LOOP_RE = re.compile(r"Loop time of ([0-9.eE+-]+) on (\d+) procs for (\d+) steps with (\d+) atoms")
CPU_RE = re.compile(r"([0-9.]+)% CPU use with (\d+) MPI tasks")
PAIR_RE = re.compile(r"^Pair\s*\|\s*([0-9.eE+-]+)\s*\|\s*([0-9.eE+-]+)\s*\|\s*([0-9.eE+-]+)", re.M)


def pair_command(style: str, model: Path) -> str:
    if style == "extep":
        from .lammps_env import potentials_dir

        return f"pair_style      extep\npair_coeff      * * {potentials_dir() / 'BN.extep'} B N"
    return f"pair_style      {STYLES[style]}\npair_coeff      * * {model} B N"


def run_lammps(input_text: str, workdir: Path, ranks: int, timeout: float | None) -> dict[str, Any]:
    """Run ``lmp`` on ``input_text`` (under mpiexec for ranks > 1); parse its last run."""
    path = workdir / "in.bench"
    path.write_text(input_text)
    lmp = [venv_tool("lmp"), "-in", str(path), "-log", "none", "-nocite"]
    wrapped = [sys.executable, "-c", RSS_WRAPPER] + lmp
    cmd = wrapped if ranks == 1 else [venv_tool("mpiexec"), "-np", str(ranks)] + wrapped
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "1")
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise UserError(f"LAMMPS ran longer than {timeout:.0f} s ({' '.join(cmd)}); use fewer --steps") from None
    wall_total = time.perf_counter() - t0
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        error = [line for line in output.splitlines() if "ERROR" in line]
        raise UserError(f"LAMMPS failed: {error[0] if error else output[-2000:]}")
    loops = LOOP_RE.findall(proc.stdout)
    cpus = CPU_RE.findall(proc.stdout)
    pairs = PAIR_RE.findall(proc.stdout)
    if not loops:
        raise UserError(f"no 'Loop time' in the LAMMPS output:\n{proc.stdout[-2000:]}")
    loop_s, procs, steps, atoms = loops[-1]
    rss = [int(v) for v in re.findall(r"AREANET_PEAK_RSS_KB (\d+)", proc.stderr)]
    evaluation = re.findall(r"areanet: evaluation: (.*)", proc.stdout)
    return {
        "loop_s": float(loop_s),
        "procs": int(procs),
        "steps": int(steps),
        "atoms": int(atoms),
        "cpu_percent": float(cpus[-1][0]) if cpus else None,
        "pair_s_avg": float(pairs[-1][1]) if pairs else None,
        "peak_rss_kb_per_rank": rss,
        "process_wall_s": wall_total,
        "evaluation": evaluation[0].strip() if evaluation else None,
        "stdout": proc.stdout,
    }


def md_steps(atoms: int, args) -> int:
    if args.steps:
        return args.steps
    return int(min(max(round(args.atom_steps / atoms), args.min_steps), args.max_steps))


def cmd_md(args) -> int:
    model = resolve_model(args.model)
    styles = args.styles
    from .plugin_cli import plugin_path

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


# --- NVE drift -------------------------------------------------------------------------------

NVE_INPUT = """\
# areanet bench nve: {style}
{plugin_line}
units           metal
atom_style      atomic
boundary        p p p
processors      * * 1
read_data       {data}
{pair}
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
    from .plugin_cli import plugin_path

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


# --- float32 vs float64 vs TorchScript ---------------------------------------------------------


def lammps_single_point(plugin: Path, model: Path, data: Path, style: str) -> dict[str, Any]:
    """Energy, per-atom energies, forces (by atom ID) and pressure tensor from one `run 0`."""
    import numpy as np

    from .lammps_env import import_lammps

    lammps = import_lammps()
    lmp = lammps.lammps(cmdargs=["-log", "none", "-screen", "none", "-nocite"])
    try:
        lmp.commands_string(f"""
plugin load {plugin}
units metal
atom_style atomic
boundary p p p
atom_modify map array
read_data {data}
{pair_command(style, model)}
compute pea all pe/atom
compute pvir all pressure NULL virial
thermo_style custom step pe c_pvir[1] c_pvir[2] c_pvir[3] c_pvir[4] c_pvir[5] c_pvir[6]
run 0
""")
        n = lmp.extract_global("nlocal")
        order = np.argsort(lmp.numpy.extract_atom("id")[:n])
        return {
            "energy": lmp.get_thermo("pe"),
            "energies": lmp.numpy.extract_compute("pea", lammps.LMP_STYLE_ATOM, lammps.LMP_TYPE_VECTOR)[:n][order].copy(),
            "forces": lmp.numpy.extract_atom("f")[:n][order].copy(),
            "pressure": np.array(lmp.numpy.extract_compute("pvir", lammps.LMP_STYLE_GLOBAL, lammps.LMP_TYPE_VECTOR)),
        }
    finally:
        lmp.close()


def cmd_precision(args) -> int:
    import numpy as np

    model = resolve_model(args.model)
    from .plugin_cli import plugin_path

    plugin = Path(args.plugin) if args.plugin else plugin_path()
    if not plugin.is_file():
        raise UserError(f"the LAMMPS plugin {plugin} is not built: `areanet lammps-plugin --build`")
    make_sheet = make_sheet_module()
    result = header("precision")
    result.update({"model": str(model), "atoms": args.atoms, "displacement_A": args.displacement, "runs": []})
    rng = np.random.default_rng(args.seed)
    sheet = make_sheet.hbn_sheet(*make_sheet.square_replication(args.atoms))
    sheet.positions += rng.normal(0.0, args.displacement, sheet.positions.shape)
    with tempfile.TemporaryDirectory(prefix="areanet-bench-") as tmp:
        data = Path(tmp) / "sheet.data"
        make_sheet.write_lammps_data(data, sheet)
        ref = lammps_single_point(plugin, model, data, "areanet-torchscript")
        fmax = float(np.abs(ref["forces"]).max())
        for style in ("areanet", "areanet-float32"):
            got = lammps_single_point(plugin, model, data, style)
            df = got["forces"] - ref["forces"]
            run = {
                "style": style, "pair_style": STYLES[style],
                "energy_diff_ev_per_atom": abs(got["energy"] - ref["energy"]) / args.atoms,
                "energy_rel": abs(got["energy"] - ref["energy"]) / abs(ref["energy"]),
                "atom_energy_max_diff_ev": float(np.abs(got["energies"] - ref["energies"]).max()),
                "force_max_diff": float(np.abs(df).max()),
                "force_rms_diff": float(np.sqrt((df ** 2).mean())),
                "force_max_diff_rel": float(np.abs(df).max()) / fmax,
                "pressure_max_diff_bar": float(np.abs(got["pressure"] - ref["pressure"]).max()),
            }
            result["runs"].append(run)
            print(f"  {STYLES[style]:18s} |ΔE|/atom {run['energy_diff_ev_per_atom']:.2e} eV, max |ΔF| "
                  f"{run['force_max_diff']:.2e} eV/Å ({run['force_max_diff_rel']:.1e} of max |F|), max |ΔP| "
                  f"{run['pressure_max_diff_bar']:.2e} bar", flush=True)
    result["max_force_ev_per_a"] = fmax
    rows = [[f"`{r['pair_style']}`", f"{r['energy_diff_ev_per_atom']:.1e}", f"{r['energy_rel']:.1e}",
             f"{r['atom_energy_max_diff_ev']:.1e}", f"{r['force_max_diff']:.1e}", f"{r['force_rms_diff']:.1e}",
             f"{r['force_max_diff_rel']:.1e}", f"{r['pressure_max_diff_bar']:.1e}"] for r in result["runs"]]
    text = "# Native evaluation and float32 against the TorchScript model\n\n"
    text += f"Command: `{result['command']}`\n\n"
    text += (f"Conditions: {conditions_text(result)}. Model `{result['model']}`. One `run 0` on a "
             f"{args.atoms}-atom sheet, every coordinate displaced by a normal deviate of "
             f"{args.displacement} Å (max |F| {fmax:.2f} eV/Å), with `pair_style areanet torchscript` (the model "
             f"file's forward(), float64) as the reference. For scale: the accuracy bar of the model "
             f"itself is 0.03 eV/Å force-magnitude RMSE.\n\n")
    text += table(rows, ["pair style", "ΔE per atom (eV)", "ΔE / E", "max Δe_i (eV)", "max ΔF (eV/Å)",
                         "RMS ΔF (eV/Å)", "max ΔF / max F", "max ΔP (bar)"])
    text += "\nAll differences are absolute values; ΔF over every force component, ΔP over the six pressure components.\n"
    return publish(args, result, text)


# --- ASE calculator --------------------------------------------------------------------------


def cmd_python(args) -> int:
    import numpy as np
    import torch

    from areanet.potential import AreaNetCalculator
    from areanet.potential.neighbors import build_edges

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    model = resolve_model(args.model)
    make_sheet = make_sheet_module()
    calc = AreaNetCalculator(model)
    result = header("python")
    result.update({"model": str(model), "sizes": args.sizes, "repeats": args.repeats,
                   "torch_threads": torch.get_num_threads(), "runs": []})
    print(f"areanet bench python: AreaNetCalculator on {args.sizes} atoms, {torch.get_num_threads()} "
          f"torch thread(s)", flush=True)
    rng = np.random.default_rng(0)
    for atoms_n in args.sizes:
        atoms = make_sheet.hbn_sheet(*make_sheet.square_replication(atoms_n))
        atoms.positions += rng.normal(0.0, 0.02, atoms.positions.shape)
        atoms.calc = calc
        atoms.get_forces()  # warm-up (TorchScript's first calls)
        wall, cpu, model_wall, model_cpu, nl_wall = [], [], [], [], []
        for _ in range(args.repeats):
            atoms.positions += rng.normal(0.0, 1e-4, atoms.positions.shape)
            w0, c0 = time.perf_counter(), time.process_time()
            atoms.get_forces()
            wall.append(time.perf_counter() - w0)
            cpu.append(time.process_time() - c0)
            w0 = time.perf_counter()
            edges = build_edges(atoms, calc.cutoff, calc.species)
            nl_wall.append(time.perf_counter() - w0)
            w0, c0 = time.perf_counter(), time.process_time()
            calc.model(edges.vec, edges.src, edges.edge_spec, edges.spec)
            model_wall.append(time.perf_counter() - w0)
            model_cpu.append(time.process_time() - c0)
        run = {"atoms": atoms_n, "calls": args.repeats,
               "us_per_atom": min(wall) / atoms_n * 1e6, "cpu_us_per_atom": min(cpu) / atoms_n * 1e6,
               "model_us_per_atom": min(model_wall) / atoms_n * 1e6,
               "model_cpu_us_per_atom": min(model_cpu) / atoms_n * 1e6,
               "neighbour_list_us_per_atom": min(nl_wall) / atoms_n * 1e6,
               "calls_per_s": 1.0 / min(wall)}
        result["runs"].append(run)
        print(f"  {atoms_n:6d} atoms  {fmt(run['us_per_atom'])} µs/atom per force call "
              f"({fmt(run['cpu_us_per_atom'])} CPU; model {fmt(run['model_us_per_atom'])}, "
              f"{fmt(run['model_cpu_us_per_atom'])} CPU; neighbour list "
              f"{fmt(run['neighbour_list_us_per_atom'])})", flush=True)
    rows = [[str(r["atoms"]), fmt(r["us_per_atom"]), fmt(r["cpu_us_per_atom"]), fmt(r["model_us_per_atom"]),
             fmt(r["model_cpu_us_per_atom"]), fmt(r["neighbour_list_us_per_atom"]), fmt(r["calls_per_s"])]
            for r in result["runs"]]
    text = "# ASE calculator throughput (AreaNetCalculator)\n\n"
    text += f"Command: `{result['command']}`\n\n"
    text += (f"Conditions: {conditions_text(result)}. Model `{result['model']}`, "
             f"{result['torch_threads']} torch thread(s). One `get_forces()` (energy, forces, stress) on a "
             f"perturbed flat sheet, best of {args.repeats}; the model alone = the TorchScript call on "
             f"prebuilt edges; neighbour list = `build_edges` (ASE or all-pairs × images for small cells).\n\n")
    text += table(rows, ["atoms", "µs/atom (wall)", "µs/atom (CPU)", "model µs/atom (wall)",
                         "model µs/atom (CPU)", "neighbour list µs/atom (wall)", "calls/s"])
    return publish(args, result, text)


# --- training --------------------------------------------------------------------------------


def cmd_train(args) -> int:
    from .config import TrainConfig
    from .train import train

    result = header("train")
    with tempfile.TemporaryDirectory(prefix="areanet-bench-") as tmp:
        tmp = Path(tmp)
        data = args.data
        if data is None:
            from .generate import run as generate

            data = str(tmp / "paper.extxyz.gz")
            print(f"areanet bench train: generating the paper-protocol ExTeP set "
                  f"({'per level ' + str(args.per_level) if args.per_level else '4450 structures'})", flush=True)
            t0 = time.perf_counter()
            generate("paper", "extep", data, per_level=args.per_level, seed=1, extrap=False, show_progress=False)
            result["data_generation_s"] = time.perf_counter() - t0
        overrides = {"data": [str(Path(data).resolve())], "epochs": args.epochs, "threads": args.threads,
                     "batch_size": args.batch_size, "device": "cpu"}
        cfg = TrainConfig.load(args.config, list(args.set) + [f"{k}={json.dumps(v)}" for k, v in overrides.items()])
        print(f"areanet bench train: {args.epochs} epoch(s) on {data}, batch {cfg.batch_size}, "
              f"{cfg.threads or 'default'} thread(s), dims {cfg.dims}, {cfg.precision}", flush=True)
        t0 = time.perf_counter()
        summary = train(cfg, tmp / "run", quiet=True)
        total = time.perf_counter() - t0
        history = json.loads((tmp / "run" / "history.json").read_text())
        own_bar = time_to_bar(tmp / "run" / "history.json", args.bar)
        own_bar["history"] = "this run"
        from .train import load_checkpoint

        run_state = load_checkpoint(tmp / "run" / "last.pt")  # the split training used
        n_structures, n_train = run_state["n_structures"], len(run_state["splits"]["train"])
    epochs = [row["seconds"] for row in history]
    best = min(epochs)
    result.update({
        "data": data if args.data else "generated (paper protocol, ExTeP)", "epochs": args.epochs,
        "threads": cfg.threads, "batch_size": cfg.batch_size, "dims": cfg.dims, "order": cfg.order,
        "precision": cfg.precision, "n_structures": n_structures,
        "n_train": n_train, "epoch_seconds": epochs, "best_epoch_s": best,
        "train_structures_per_s": n_train / best, "total_s": total,
        "projected_50_epochs_min": 50 * sum(epochs) / len(epochs) / 60.0,
        # the same per-structure cost on the paper-size set (80 % of 4450 structures train)
        "projected_50_epochs_paper_set_min": 50 * (sum(epochs) / len(epochs)) * (PAPER_SET["structures"] / n_structures) / 60.0,
        "val_after": history[-1], "time_to_bar_this_run": own_bar,
        "test": {k: summary.get("test", {}).get("all", {}).get(k) for k in
                 ("energy_per_atom_rmse_mev", "force_magnitude_rmse", "force_angle_mae_deg")},
    })
    if args.history:
        result["time_to_bar"] = time_to_bar(Path(args.history), args.bar)
    print(f"  epochs: {', '.join(f'{s:.1f} s' for s in epochs)}; {result['train_structures_per_s']:.1f} training "
          f"structures/s; 50 epochs ≈ {result['projected_50_epochs_min']:.1f} min "
          f"({result['projected_50_epochs_paper_set_min']:.1f} min for the paper-size set)", flush=True)
    text = "# Training speed\n\n"
    text += f"Command: `{result['command']}`\n\n"
    text += (f"Conditions: {conditions_text(result)}. {result['n_structures']} structures of 60 atoms "
             f"({n_train} in the training split), batch {cfg.batch_size}, {cfg.threads or 'default'} torch "
             f"thread(s), model {cfg.order} order, dims {cfg.dims}, {cfg.forces} forces, {cfg.precision} MLP "
             f"arithmetic. Epoch time includes "
             f"the validation pass (history.json `seconds`).\n\n")
    rows = [[str(k + 1), f"{s:.1f}", f"{n_train / s:.1f}"] for k, s in enumerate(epochs)]
    text += table(rows, ["epoch", "seconds", "training structures/s"])
    text += f"\nProjected 50 epochs of this set: {result['projected_50_epochs_min']:.1f} min"
    if n_structures != PAPER_SET["structures"]:
        text += (f"; scaled to the paper-size set ({PAPER_SET['structures']} structures): "
                 f"{result['projected_50_epochs_paper_set_min']:.1f} min")
    text += " (target: 50 epochs of the paper-size set ≤ 10 min).\n"
    ttb, test = result["time_to_bar_this_run"], result["test"]
    text += (f"\nThis run: validation energy ≤ {args.bar} meV/atom "
             + (f"first at epoch {ttb['epoch']}, after {ttb['seconds'] / 60:.1f} min of epochs" if ttb.get("epoch")
                else "not reached")
             + (f"; best checkpoint on the test split: energy {test['energy_per_atom_rmse_mev']:.3f} meV/atom, "
                f"force magnitude {test['force_magnitude_rmse']:.4f} eV/Å, angle {test['force_angle_mae_deg']:.2f}° "
                "(the core issue's bar: 0.10, 0.030, 0.5)" if test.get("force_angle_mae_deg") is not None else "")
             + ".\n")
    if "time_to_bar" in result:
        ttb = result["time_to_bar"]
        text += (f"\nTime to the accuracy bar in `{args.history}` (validation energy ≤ {args.bar} meV/atom): "
                 + (f"epoch {ttb['epoch']}, {ttb['seconds'] / 60:.1f} min" if ttb.get("epoch") else "not reached")
                 + ".\n")
    return publish(args, result, text)


def time_to_bar(history_path: Path, bar: float) -> dict[str, Any]:
    if history_path.is_dir():
        history_path = history_path / "history.json"
    if not history_path.is_file():
        raise UserError(f"{history_path}: no history.json (a run directory of `areanet train`)")
    history = json.loads(history_path.read_text())
    elapsed = 0.0
    for row in history:
        elapsed += row["seconds"]
        if row.get("val_energy_rmse_mev_per_atom", math.inf) <= bar:
            return {"epoch": row["epoch"], "seconds": elapsed, "history": str(history_path)}
    return {"epoch": None, "seconds": elapsed, "history": str(history_path)}


# --- command line ----------------------------------------------------------------------------


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "bench", help="performance benchmarks: LAMMPS MD, NVE drift, ASE calculator, training",
        description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="bench_command", required=True, metavar="SUBCOMMAND")

    def common(p, name: str, model: bool = True) -> None:
        if model:
            p.add_argument("--model", default=DEFAULT_MODEL,
                           help=f"exported model file (default {DEFAULT_MODEL})")
        p.add_argument("--out", default=str(repository_root() / "benchmarks"),
                       help="folder for NAME.json and NAME.md (default: the repository's benchmarks/)")
        p.add_argument("--name", default=name, help=f"output file stem (default {name})")

    md = sub.add_parser("md", help="LAMMPS throughput, areanet vs extep",
                        description="LAMMPS MD throughput of pair_style areanet vs extep on flat h-BN sheets.")
    common(md, "md")
    md.add_argument("--sizes", type=int_list, default=list(DEFAULT_SIZES), metavar="N,N,...",
                    help="sheet sizes in atoms (multiples of 4; default 60,960,15360,61440)")
    md.add_argument("--ranks", type=int_list, default=[1, 2], metavar="R,R", help="MPI ranks (default 1,2)")
    md.add_argument("--styles", type=style_list, default=["extep", "areanet", "areanet-float32"],
                    metavar="S,S", help=f"pair styles: {', '.join(STYLES)} (default extep,areanet,areanet-float32)")
    md.add_argument("--steps", type=int, default=0, help="timed steps per run (default: from --atom-steps)")
    md.add_argument("--atom-steps", type=float, default=3e6,
                    help="timed atoms × steps per run when --steps is not given (default 3e6)")
    md.add_argument("--min-steps", type=int, default=10)
    md.add_argument("--max-steps", type=int, default=2000)
    md.add_argument("--warmup", type=int, default=10, help="untimed steps first (default 10)")
    md.add_argument("--repeats", type=int, default=1, help="runs of each case; the fastest counts")
    md.add_argument("--temperature", type=float, default=300.0, help="initial temperature, K (default 300)")
    md.add_argument("--plugin", default=None, help="plugin library (default: `areanet lammps-plugin`)")
    md.add_argument("--timeout", type=float, default=None, help="seconds per LAMMPS run before giving up")
    md.set_defaults(func=cmd_md)

    nve = sub.add_parser("nve", help="NVE energy drift (issue 3's 960 atoms, 300 K, 1 fs, 20 ps)",
                         description="NVE energy drift of pair_style areanet (and others) on a flat sheet.")
    common(nve, "nve")
    nve.add_argument("--atoms", type=int, default=960)
    nve.add_argument("--steps", type=int, default=20000, help="fitted steps (default 20000 = 20 ps)")
    nve.add_argument("--equilibrate", type=int, default=0, help="steps before the fit (default 0)")
    nve.add_argument("--dt", type=float, default=0.001, help="time step, ps (default 0.001)")
    nve.add_argument("--temperature", type=float, default=300.0)
    nve.add_argument("--seed", type=int, default=4928)
    nve.add_argument("--sample", type=int, default=10, help="energy sampling interval for the fit (steps)")
    nve.add_argument("--ranks", type=int, default=1)
    nve.add_argument("--styles", type=style_list, default=["areanet"], metavar="S,S",
                     help=f"pair styles: {', '.join(STYLES)} (default areanet)")
    nve.add_argument("--plugin", default=None)
    nve.add_argument("--timeout", type=float, default=None)
    nve.set_defaults(func=cmd_nve)

    pr = sub.add_parser("precision", help="native float64 / float32 against the TorchScript model",
                        description="Energy, force and pressure differences of `pair_style areanet` "
                        "(native float64) and `areanet float32` from `areanet torchscript` on a displaced sheet.")
    common(pr, "precision")
    pr.add_argument("--atoms", type=int, default=960)
    pr.add_argument("--displacement", type=float, default=0.05, help="normal deviate per coordinate, Å")
    pr.add_argument("--seed", type=int, default=0)
    pr.add_argument("--plugin", default=None)
    pr.set_defaults(func=cmd_precision)

    py = sub.add_parser("python", help="ASE calculator throughput",
                        description="Throughput of AreaNetCalculator (energy + forces + stress).")
    common(py, "python")
    py.add_argument("--sizes", type=int_list, default=list(DEFAULT_SIZES), metavar="N,N,...")
    py.add_argument("--repeats", type=int, default=3, help="calls per size; the fastest counts")
    py.add_argument("--threads", type=int, default=1, help="torch threads (default 1; 0 = torch's default)")
    py.set_defaults(func=cmd_python)

    tr = sub.add_parser("train", help="training time per epoch on the paper-size set",
                        description="Wall time per epoch and structures/s of `areanet train` on the "
                        "paper-protocol ExTeP set (4450 × 60 atoms).")
    common(tr, "train", model=False)
    tr.add_argument("--data", default=None,
                    help="training data file (default: generate the paper set with ExTeP, ~20 s)")
    tr.add_argument("--per-level", type=int, default=None,
                    help="when generating: structures per perturbation level (default: the 4450 set)")
    tr.add_argument("--config", default=None, help="TOML training config (data/epochs/threads overridden)")
    tr.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="a training config key, as in `areanet train` (e.g. --set dims=2 "
                    "--set precision=float32)")
    tr.add_argument("--epochs", type=int, default=2)
    tr.add_argument("--batch-size", type=int, default=16)
    tr.add_argument("--threads", type=int, default=1)
    tr.add_argument("--history", default=None,
                    help="a finished run (RUN_DIR or its history.json): report its time to the bar")
    tr.add_argument("--bar", type=float, default=0.10, help="validation energy RMSE bar, meV/atom")
    tr.set_defaults(func=cmd_train)
