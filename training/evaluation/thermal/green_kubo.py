"""Green–Kubo lattice thermal conductivity of an h-BN sheet from independent LAMMPS runs.

Each run is examples/thermal/in.green_kubo with its own velocity seed: relax the in-plane
box, NVT at T, then NVE with the heat current of ``compute heat/flux`` built on ``compute
centroid/stress/atom`` and its autocorrelation from ``fix ave/correlate`` (running average
over the production run). Per run and direction the running integral

    κ_aa(t) = 1 / (V k_B T²) ∫_0^t ⟨J_a(0) J_a(t')⟩ dt',   V = l_x l_y × 3.33 Å

is read from that correlation (the trapezoidal rule of the input's own ``trap()``), and
κ(t_max) of the runs gives the mean and its standard error (sample standard deviation /
√runs). The sheet thickness 3.33 Å, the interlayer spacing of bulk h-BN, is the 2D
convention of the literature (Cai et al. 2019; Lindsay & Broido 2011).
"""
from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ...errors import UserError
from ...paths import REPOSITORY
from ...progress import progress
from ..bench.common import conditions_text, header, load_average, make_sheet_module, table, venv_tool

INPUT = REPOSITORY / "examples" / "thermal" / "in.green_kubo"
THICKNESS = 3.33  # Å, the interlayer spacing of bulk h-BN
KB = 8.617333262e-5  # eV/K
CONV = 1.602176634e3  # eV/(ps Å K) → W/(m K)


@dataclass
class GreenKuboSettings:
    model: str
    nx: int = 10  # orthorhombic 4-atom cells along x (zigzag) ...
    ny: int = 6  # ... and y (armchair): 240 atoms
    lattice_constant: float = 2.505  # Å, the starting sheet (the box is relaxed first)
    temperature: float = 300.0  # K
    dt: float = 0.001  # ps
    equil: int = 10000  # NVT steps
    steps: int = 100000  # NVE production steps
    every: int = 5  # sample J every this many steps
    corr: int = 2000  # correlation length in samples
    runs: int = 4
    seed: int = 1
    nprocs: int = 1
    thickness: float = THICKNESS

    def check(self) -> None:
        if self.runs < 2:
            raise UserError("--runs must be at least 2: the standard error needs independent runs")
        for name in ("nx", "ny", "equil", "steps", "every", "corr"):
            if getattr(self, name) < 1:
                raise UserError(f"--{name.replace('_', '-')} must be at least 1")
        if self.nx < 3 or self.ny < 2:
            raise UserError("the sheet must hold at least 3 x 2 orthorhombic cells (every atom needs its "
                            "area element without meeting its own image twice)")
        if self.steps < self.every * self.corr:
            raise UserError(f"the production run ({self.steps} steps) is shorter than the correlation "
                            f"length ({self.corr} samples x {self.every} steps)")
        if self.steps % (self.every * self.corr):
            raise UserError(f"the production run ({self.steps} steps) must be a multiple of the correlation "
                            f"length ({self.corr} samples x {self.every} steps): fix ave/correlate gives κ there")
        if self.temperature <= 0 or self.dt <= 0 or self.thickness <= 0:
            raise UserError("temperature, time step and thickness must be positive")


def read_correlation(path: Path) -> np.ndarray:
    """The last block of a fix ave/correlate file: [lags, columns] (TimeDelta, Ncount, values...)."""
    if not path.is_file():
        raise UserError(f"{path}: no correlation file (the LAMMPS run did not reach its production part)")
    blocks: list[list[list[float]]] = []
    for line in path.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split()
        if len(fields) == 2:
            blocks.append([])
        elif blocks:
            blocks[-1].append([float(v) for v in fields[1:]])
    if not blocks or not blocks[-1]:
        raise UserError(f"{path}: holds no correlation block")
    return np.array(blocks[-1])


def running_integral(values: np.ndarray, scale: float) -> np.ndarray:
    """The trapezoidal integral from lag 0 to every lag (LAMMPS' trap() at the last), × scale."""
    cumulative = np.cumsum(values)
    return scale * (cumulative - 0.5 * (values[0] + values))


def lammps_error(stdout: str, stderr: str) -> str:
    for text in (stdout, stderr):
        for line in text.splitlines():
            if line.startswith("ERROR"):
                return line.strip()
    return (stderr.strip() or stdout.strip()).splitlines()[-1] if (stderr.strip() or stdout.strip()) else "no output"


def finished(settings: GreenKuboSettings, workdir: Path, seed: int) -> bool:
    """A run done earlier with the same settings and seed (its run.json says so, its log has KAPPA)."""
    try:
        stored = json.loads((workdir / "run.json").read_text())
        log = (workdir / "gk.log.lammps").read_text()
    except (OSError, ValueError):
        return False
    return stored == run_identity(settings, seed) and re.search(r"^KAPPA ", log, re.M) is not None


def run_identity(settings: GreenKuboSettings, seed: int) -> dict:
    """What makes one run: the settings but the number of runs, and its seed."""
    identity = asdict(settings)
    identity.pop("runs")
    return {"settings": identity, "seed": seed}


def run_one(settings: GreenKuboSettings, workdir: Path, data: Path, seed: int, reuse: bool = True) -> dict:
    """One independent run: κ(t) for x and y from its correlation file. With ``reuse``, a run
    finished before in ``workdir`` with the same settings and seed is read instead of rerun."""
    workdir.mkdir(parents=True, exist_ok=True)
    if reuse and finished(settings, workdir, seed):
        return read_run(settings, workdir, seed, wall=float("nan"))
    (workdir / "run.json").unlink(missing_ok=True)
    variables = {
        "model": Path(settings.model).resolve(), "data": data.resolve(), "name": "gk",
        "T": settings.temperature, "dt": settings.dt, "seed": seed, "equil": settings.equil,
        "steps": settings.steps, "every": settings.every, "corr": settings.corr,
        "thickness": settings.thickness,
    }
    cmd = [venv_tool("lmp"), "-in", str(INPUT), "-screen", "none", "-nocite"]
    for key, value in variables.items():
        cmd += ["-var", key, str(value)]
    if settings.nprocs > 1:
        cmd = [venv_tool("mpiexec"), "-np", str(settings.nprocs), *cmd]
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "1")
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    log = (workdir / "gk.log.lammps").read_text() if (workdir / "gk.log.lammps").is_file() else ""
    if proc.returncode != 0:
        raise UserError(f"LAMMPS run in {workdir} failed: {lammps_error(log, proc.stderr)}")
    (workdir / "run.json").write_text(json.dumps(run_identity(settings, seed)) + "\n")
    return read_run(settings, workdir, seed, wall)


def read_run(settings: GreenKuboSettings, workdir: Path, seed: int, wall: float) -> dict:
    """κ(t) of a finished run from its log (volume, KAPPA) and correlation file."""
    log = (workdir / "gk.log.lammps").read_text()
    match = re.search(r"^KAPPA (\S+) (\S+) W/\(m K\).*V (\S+) A\^3", log, re.M)
    if not match:
        raise UserError(f"{workdir / 'gk.log.lammps'}: no KAPPA line")
    volume = float(match.group(3))
    loop = [float(t) for t in re.findall(r"Loop time of ([0-9.eE+-]+) on", log)]
    corr = read_correlation(workdir / "gk.J0Jt")
    scale = CONV / (volume * KB * settings.temperature ** 2) * settings.every * settings.dt
    kxx = running_integral(corr[:, 2], scale)
    kyy = running_integral(corr[:, 3], scale)
    return {"seed": seed, "volume": volume, "kappa_lammps": [float(match.group(1)), float(match.group(2))],
            "lag_ps": (corr[:, 0] * settings.dt).tolist(), "kxx": kxx.tolist(), "kyy": kyy.tolist(),
            "jxjx": corr[:, 2].tolist(), "jyjy": corr[:, 3].tolist(),  # <J_a(0) J_a(t)>, (eV Å/ps)²
            "wall_s": wall, "loop_s": loop}


def mean_and_error(values) -> tuple[float, float]:
    values = np.asarray(values, dtype=float)
    return float(values.mean()), float(values.std(ddof=1) / np.sqrt(len(values)))


def green_kubo(settings: GreenKuboSettings, out: Path, quiet: bool = False, reuse: bool = True) -> dict:
    """Run ``settings.runs`` independent Green–Kubo runs under ``out``; results + figure + Markdown.
    Runs finished before under ``out`` with the same settings are reused (``reuse``)."""
    settings.check()
    if not Path(settings.model).is_file():
        raise UserError(f"model file {settings.model} not found")
    out.mkdir(parents=True, exist_ok=True)
    result = header("thermal green-kubo")
    result["command"] = "areanet " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    result["settings"] = asdict(settings)
    sheet = make_sheet_module()
    data = out / "sheet.data"
    atoms = sheet.hbn_sheet(settings.nx, settings.ny, settings.lattice_constant)
    sheet.write_lammps_data(data, atoms)
    result["atoms"] = len(atoms)
    seeds = [settings.seed + 1000 * k for k in range(settings.runs)]
    runs = []
    items = seeds if quiet else progress(seeds, desc="green-kubo runs")
    for k, seed in enumerate(items):
        runs.append(run_one(settings, out / f"run{k + 1}", data, seed, reuse))
    result["runs"] = runs
    final_xx = [r["kxx"][-1] for r in runs]
    final_yy = [r["kyy"][-1] for r in runs]
    result["kappa_xx"] = mean_and_error(final_xx)
    result["kappa_yy"] = mean_and_error(final_yy)
    result["kappa_inplane"] = mean_and_error([(a + b) / 2 for a, b in zip(final_xx, final_yy)])
    result["atom_steps_per_s"] = float(np.mean([len(atoms) * settings.steps / r["loop_s"][-1] for r in runs]))
    # the JSON cannot hold NaN: a reused run's wall time is unknown
    for r in runs:
        r["wall_s"] = None if r["wall_s"] != r["wall_s"] else r["wall_s"]
    result["load_average_end"] = load_average()
    figure(result, out / "green_kubo.png")
    (out / "green_kubo.json").write_text(json.dumps(result, indent=1) + "\n")
    (out / "green_kubo.md").write_text(markdown(result))
    return result


def figure(result: dict, path: Path) -> None:
    import matplotlib  # lazy: only when figures are drawn

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # lazy: as above

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, key, name in ((axes[0], "kxx", "κ_xx (zigzag)"), (axes[1], "kyy", "κ_yy (armchair)")):
        curves = np.array([r[key] for r in result["runs"]])
        lag = np.array(result["runs"][0]["lag_ps"])
        for curve in curves:
            ax.plot(lag, curve, lw=0.7, alpha=0.6)
        mean = curves.mean(0)
        err = curves.std(0, ddof=1) / np.sqrt(len(curves))
        ax.plot(lag, mean, "k", lw=1.8, label=f"mean of {len(curves)} runs")
        ax.fill_between(lag, mean - err, mean + err, color="k", alpha=0.2, label="± standard error")
        ax.set_xlabel("correlation time t (ps)")
        ax.set_title(name)
        ax.axhline(0, color="grey", lw=0.5)
    axes[0].set_ylabel("running integral κ(t) (W/m K)")
    axes[0].legend(loc="best", fontsize=8)
    s = result["settings"]
    fig.suptitle(f"Green–Kubo, {Path(s['model']).name}, {result['atoms']} atoms, {s['temperature']:g} K, "
                 f"{s['steps'] * s['dt']:g} ps NVE per run, thickness {s['thickness']} Å", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def markdown(result: dict) -> str:
    s = result["settings"]
    kxx, kyy, kin = result["kappa_xx"], result["kappa_yy"], result["kappa_inplane"]
    rows = [[str(k + 1), str(r["seed"]), f"{r['kxx'][-1]:.0f}", f"{r['kyy'][-1]:.0f}",
             "earlier" if r["wall_s"] is None else f"{r['wall_s']:.0f}"]
            for k, r in enumerate(result["runs"])]
    text = (f"# Green–Kubo thermal conductivity: {Path(s['model']).name}\n\n"
            f"Command: `{result['command']}`\n\n"
            f"Conditions: {conditions_text(result)}.\n\n"
            f"{result['atoms']} atoms ({s['nx']} × {s['ny']} orthorhombic cells, box relaxed in-plane), "
            f"{s['temperature']:g} K; per run {s['equil']} NVT + {s['steps']} NVE steps of {s['dt'] * 1000:g} fs, "
            f"J sampled every {s['every']} steps, correlation up to {s['corr'] * s['every'] * s['dt']:g} ps; "
            f"V = l_x l_y × {s['thickness']} Å; {s['nprocs']} MPI rank(s). κ = the running integral at the "
            f"longest lag; ± = standard error over the {len(result['runs'])} independent runs.\n\n"
            f"| | κ (W/m K) |\n|---|---:|\n"
            f"| κ_xx (zigzag) | {kxx[0]:.0f} ± {kxx[1]:.0f} |\n"
            f"| κ_yy (armchair) | {kyy[0]:.0f} ± {kyy[1]:.0f} |\n"
            f"| in-plane (κ_xx + κ_yy)/2 | {kin[0]:.0f} ± {kin[1]:.0f} |\n\n"
            + table(rows, ["run", "seed", "κ_xx", "κ_yy", "wall s"])
            + f"\nThroughput: {result['atom_steps_per_s'] / 1e3:.1f} k atom-steps/s (NVE with the heat current).\n")
    return text
