"""In-plane thermal expansion (``areanet thermal expansion``, section (g) of ``areanet validate``): NPT MD in LAMMPS (``examples/hbn/in.npt``: Nosé–Hoover
at 0 bar in x and y, the vacuum height fixed) at 300–1000 K, with the model and, by the same
input, with LAMMPS' own ``extep``.

The lattice constant of a run is a = sqrt(4 A / (√3 N)) from the projected area A of the box,
averaged over the second half of the run (the first half equilibrates), with a standard error
from block averages. The expansion coefficient between T1 and T2 is the secant
α = (a(T2) − a(T1)) / ((T2 − T1) a(T1)); the same of the mean B–N bond length (first
neighbours in 20 dumped frames of the second half) gives the bonds' own expansion. The projected area is what experiments and the
quasi-harmonic DFT studies report: ripples (flexural modes) shrink it, which is how a 2D sheet
can contract on heating; a sheet of 960 atoms (~50 × 52 Å) holds ripples of up to that length.
Classical MD: no zero-point motion, so below the Debye temperature it is not the quantum
answer; the sign and size at 300–1000 K are the comparison.
"""
from __future__ import annotations

import math
import os
import re
import subprocess
from pathlib import Path

import numpy as np

from ...errors import UserError
from ...lammps_env import potentials_dir
from ...paths import REPOSITORY
from ...scoring.plots import _save
from ..bench.common import make_sheet_module, venv_tool
from .green_kubo import lammps_error

NPT_INPUT = REPOSITORY / "examples" / "hbn" / "in.npt"
TEMPERATURES = (300.0, 500.0, 700.0, 1000.0)
FULL = dict(nx=20, ny=12, steps=20000, temperatures=TEMPERATURES)  # 960 atoms, 20 ps per T
QUICK = dict(nx=5, ny=3, steps=1000, temperatures=(300.0, 1000.0))  # 60 atoms: a smoke test
BLOCKS = 5
BOND_FRAMES = 20  # dumped frames in the production half, for the bond lengths


def block_error(values: np.ndarray, blocks: int = BLOCKS) -> float:
    """Standard error of the mean of a correlated series from ``blocks`` block means."""
    means = np.array([chunk.mean() for chunk in np.array_split(np.asarray(values), blocks)])
    return float(means.std(ddof=1) / math.sqrt(blocks))


def production_rows(log_text: str) -> dict[str, np.ndarray]:
    """The thermo columns of the last run in a LAMMPS log (the production half of in.npt)."""
    blocks = re.findall(r"^\s*(Step\s.*?)\n(.*?)^Loop time", log_text, re.M | re.S)
    if not blocks:
        raise UserError("no thermo output in the LAMMPS log")
    header, body = blocks[-1]
    names = header.split()
    rows = [line.split() for line in body.strip().splitlines()]
    rows = [r for r in rows if len(r) == len(names)]
    data = np.array(rows, dtype=float)  # [n_rows, n_columns]
    return {name: data[:, k] for k, name in enumerate(names)}


def mean_bond_lengths(dump: Path, first_step: int) -> np.ndarray:
    """The mean B–N bond length (first neighbours, < 1.8 Å) of each dumped frame from
    ``first_step`` on: the bonds' own expansion, which ripples do not hide."""
    from ase.io import read
    from ase.neighborlist import neighbor_list

    means = []
    for atoms in read(dump, index=":", format="lammps-dump-text"):
        if atoms.info.get("timestep", first_step) < first_step:
            continue
        i, j, d = neighbor_list("ijd", atoms, 1.8)
        symbols = np.asarray(atoms.get_chemical_symbols())
        means.append(d[(symbols[i] == "B") & (symbols[j] == "N")].mean())
    if len(means) < 2:
        raise UserError(f"{dump}: fewer than two frames after step {first_step}")
    return np.array(means)


def npt_lattice(pair: str, model: Path | None, temperature: float, nx: int, ny: int,
                steps: int, workdir: Path, a_start: float, seed: int = 1187,
                every: int = 20) -> dict:
    """One NPT run of an nx × ny sheet of 4-atom cells: mean a, its error, mean T and the
    in-plane lattice constants along x (zigzag) and y (armchair)."""
    workdir.mkdir(parents=True, exist_ok=True)
    data = workdir / "sheet.data"
    sheets = make_sheet_module()
    sheets.write_lammps_data(data, sheets.hbn_sheet(nx, ny, a=a_start))
    name = f"npt-{pair}-{temperature:g}K"
    dump_every = max(steps // (2 * BOND_FRAMES), every)
    variables = {"data": data, "name": name, "T": temperature, "steps": steps, "every": every,
                 "seed": seed, "pair": pair, "dump": "yes", "dump_every": dump_every,
                 "potential": potentials_dir() / "BN.extep", "model": model or "none"}
    cmd = [venv_tool("lmp"), "-in", str(NPT_INPUT), "-screen", "none", "-nocite"]
    for key, value in variables.items():
        cmd += ["-var", key, str(value)]
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    log = workdir / f"{name}.log.lammps"
    text = log.read_text() if log.is_file() else ""
    if proc.returncode != 0:
        raise UserError(f"NPT run ({pair}, {temperature:g} K) failed: "
                        f"{lammps_error(text + proc.stdout, proc.stderr)}")
    rows = production_rows(text)
    a = rows["v_a"]
    bonds = mean_bond_lengths(workdir / f"{name}.dump", first_step=steps // 2)
    (workdir / f"{name}.dump").unlink()
    return {"T_target": temperature, "T_mean": float(rows["Temp"].mean()),
            "a": float(a.mean()), "a_err": block_error(a),
            "bond": float(bonds.mean()), "bond_err": float(bonds.std(ddof=1) / math.sqrt(len(bonds))),
            "a_x": float(rows["Lx"].mean() / nx), "a_y": float(rows["Ly"].mean() / (math.sqrt(3) * ny)),
            "samples": int(len(a)), "steps": steps, "atoms": 4 * nx * ny}


def secant_alpha(lo: dict, hi: dict, key: str = "a") -> tuple[float, float]:
    """α of ``key`` (the lattice constant "a" or the bond length "bond") between two runs, in
    1/K, and its standard error from the two runs' errors."""
    dT = hi["T_target"] - lo["T_target"]
    alpha = (hi[key] - lo[key]) / (dT * lo[key])
    err = math.hypot(hi[f"{key}_err"], lo[f"{key}_err"]) / (dT * lo[key])
    return alpha, err


def thermal_expansion(pair: str, model: Path | None, plan: dict, workdir: Path, a_start: float,
                      log=print) -> dict:
    """a(T) at the plan's temperatures and α between the first and last, and between neighbours."""
    runs = []
    for temperature in plan["temperatures"]:
        run = npt_lattice(pair, model, temperature, plan["nx"], plan["ny"], plan["steps"],
                          workdir / pair, a_start)
        log(f"expansion: {pair} {temperature:g} K: <a> = {run['a']:.5f} "
            f"± {run['a_err']:.5f} Å, <b_BN> = {run['bond']:.5f} Å (<T> = {run['T_mean']:.0f} K)")
        runs.append(run)
    alpha, err = secant_alpha(runs[0], runs[-1])
    alpha_bond, err_bond = secant_alpha(runs[0], runs[-1], "bond")
    steps = [dict(zip(("alpha", "alpha_err"), secant_alpha(lo, hi)), T_lo=lo["T_target"],
                  T_hi=hi["T_target"]) for lo, hi in zip(runs, runs[1:])]
    return {"pair": pair, "runs": runs, "alpha": alpha, "alpha_err": err,
            "alpha_bond": alpha_bond, "alpha_bond_err": err_bond,
            "T_range": (runs[0]["T_target"], runs[-1]["T_target"]), "intervals": steps}


def section_expansion(model: Path, a_model: float, out: Path, workdir: Path, quick: bool = False,
                      log=print, plan: dict | None = None) -> dict:
    """The model and LAMMPS' extep by the same runs; writes ``out/expansion.png``."""
    plan = plan or (QUICK if quick else FULL)
    res = {"plan": plan,
           "model": thermal_expansion("areanet", Path(model).resolve(), plan, workdir, a_model, log),
           "extep": thermal_expansion("extep", None, plan, workdir, 2.505, log)}
    _plot_expansion(res, out / "expansion.png")
    return res


def _plot_expansion(res: dict, path: Path) -> None:
    from matplotlib.figure import Figure  # lazy: matplotlib only when figures are drawn

    fig = Figure(figsize=(5.2, 3.8))
    ax = fig.add_subplot()
    for key, label, style in (("model", "model (areanet)", "o-"), ("extep", "ExTeP (LAMMPS)", "s--")):
        runs = res[key]["runs"]
        t = np.array([r["T_target"] for r in runs])
        strain = np.array([r["a"] / runs[0]["a"] - 1.0 for r in runs]) * 1e3
        err = np.array([r["a_err"] / runs[0]["a"] for r in runs]) * 1e3
        ax.errorbar(t, strain, yerr=err, fmt=style, capsize=3,
                    label=f"{label}: α = {res[key]['alpha'] * 1e6:+.2f}e-6 /K")
    ax.axhline(0.0, color="0.6", lw=0.8)
    ax.set_xlabel("temperature (K)")
    ax.set_ylabel("a(T) / a(300 K) − 1  (10⁻³)")
    ax.set_title(f"In-plane thermal expansion, NPT 0 bar, {res['model']['runs'][0]['atoms']} atoms")
    ax.legend(fontsize=8)
    _save(fig, path)


def format_expansion(res: dict | None, error: str) -> list[str]:
    lines = ["## (g) In-plane thermal expansion (NPT MD, LAMMPS)", ""]
    if res is None:
        return lines + [f"Not computed: {error}", ""]
    plan = res["plan"]
    lines += [f"NPT at 0 bar in x and y (`examples/hbn/in.npt`), {4 * plan['nx'] * plan['ny']} atoms, "
              f"{plan['steps']} steps of 1 fs per temperature (mean over the second half, error "
              f"from {BLOCKS} blocks); a from the projected area. The same input with LAMMPS' "
              "`extep` beside the model.", "",
              "| T (K) | model a (Å) | model B–N bond (Å) | ExTeP a (Å) | ExTeP B–N bond (Å) |",
              "|---|---|---|---|---|"]
    for m, e in zip(res["model"]["runs"], res["extep"]["runs"]):
        lines.append(f"| {m['T_target']:.0f} | {m['a']:.5f} ± {m['a_err']:.5f} | "
                     f"{m['bond']:.5f} ± {m['bond_err']:.5f} | {e['a']:.5f} ± {e['a_err']:.5f} | "
                     f"{e['bond']:.5f} ± {e['bond_err']:.5f} |")
    lo, hi = res["model"]["T_range"]
    lines += ["", f"| α, {lo:.0f}–{hi:.0f} K (10⁻⁶/K) | model | ExTeP |", "|---|---|---|",
              f"| projected area (the lattice constant) | {res['model']['alpha'] * 1e6:+.2f} ± "
              f"{res['model']['alpha_err'] * 1e6:.2f} | {res['extep']['alpha'] * 1e6:+.2f} ± "
              f"{res['extep']['alpha_err'] * 1e6:.2f} |",
              f"| B–N bond length | {res['model']['alpha_bond'] * 1e6:+.2f} ± "
              f"{res['model']['alpha_bond_err'] * 1e6:.2f} | {res['extep']['alpha_bond'] * 1e6:+.2f} ± "
              f"{res['extep']['alpha_bond_err'] * 1e6:.2f} |"]
    intervals = zip(res["model"]["intervals"], res["extep"]["intervals"])
    for m, e in (intervals if len(res["model"]["intervals"]) > 1 else ()):
        lines.append(f"| projected area, {m['T_lo']:.0f}–{m['T_hi']:.0f} K | {m['alpha'] * 1e6:+.2f} ± "
                     f"{m['alpha_err'] * 1e6:.2f} | {e['alpha'] * 1e6:+.2f} ± {e['alpha_err'] * 1e6:.2f} |")
    lines += ["", "The projected area shrinks as ripples grow while the bonds themselves "
              "lengthen: the two coefficients differ in sign where the flexural modes win. "
              "Literature: DFT quasi-harmonic studies find α < 0 for monolayer h-BN over "
              "0–800 K (Sarikurt et al.); Tersoff-type MD gives positive values, 7.2e-6 /K "
              "(Singh et al., PRB 87, 184106 (2013)). ![expansion](expansion.png)", ""]
    return lines
