"""Running `lmp` for a benchmark: the input, the pair style line, timing and peak memory from its log."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ...errors import UserError
from ...lammps_env import potentials_dir
from .common import STYLES, venv_tool


# --- LAMMPS runs -----------------------------------------------------------------------------

# Runs a command and writes the peak resident memory of its process tree's largest member to a
# file of its own in $AREANET_RSS_DIR (each MPI rank runs under its own copy, so this is per
# rank; a file per rank, because the ranks' stderr lines can arrive merged through mpiexec).
RSS_WRAPPER = (
    "import os, resource, subprocess, sys; r = subprocess.call(sys.argv[1:], close_fds=False); "
    "open(os.path.join(os.environ['AREANET_RSS_DIR'], str(os.getpid())), 'w').write("
    "str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)); "
    "sys.exit(r)"
)

# the sheet and the pair style, the same in every benchmark input
SHEET_SETUP = """\
units           metal
atom_style      atomic
boundary        p p p
processors      * * 1
read_data       {data}
{pair}
"""

MD_INPUT = """\
# areanet bench md: {style} on {atoms} atoms
{plugin_line}
""" + SHEET_SETUP + """\
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
        return f"pair_style      extep\npair_coeff      * * {potentials_dir() / 'BN.extep'} B N"
    return f"pair_style      {STYLES[style]}\npair_coeff      * * {model} B N"


def run_lammps(input_text: str, workdir: Path, ranks: int, timeout: float | None, *, lmp: str | None = None,
               env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``lmp`` (default: the venv's) on ``input_text`` (under mpiexec for ranks > 1) in the
    environment ``env`` (default: this process's); parse its last run."""
    path = workdir / "in.bench"
    path.write_text(input_text)
    lmp = [lmp or venv_tool("lmp"), "-in", str(path), "-log", "none", "-nocite"]
    wrapped = [sys.executable, "-c", RSS_WRAPPER] + lmp
    cmd = wrapped if ranks == 1 else [venv_tool("mpiexec"), "-np", str(ranks)] + wrapped
    rss_dir = workdir / "peak-rss"
    shutil.rmtree(rss_dir, ignore_errors=True)
    rss_dir.mkdir()
    env = dict(os.environ if env is None else env, AREANET_RSS_DIR=str(rss_dir))
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
    rss = [int(f.read_text()) for f in sorted(rss_dir.iterdir())]
    shutil.rmtree(rss_dir, ignore_errors=True)
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
