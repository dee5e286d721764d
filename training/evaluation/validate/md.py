"""Sections (d) and (e), molecular dynamics: NVE energy drift and the radial distribution function at 300 K."""
from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from ...scoring.plots import _save
from .physics import first_peak, md_sheet, rdf_2d


def _thermalize(atoms, temperature_K: float, rng) -> None:
    """Maxwell-Boltzmann momenta (ASE >= 3.28 renamed the function)."""
    try:
        from ase.md.velocitydistribution import thermalize_momenta
    except ImportError:  # older ASE
        from ase.md.velocitydistribution import MaxwellBoltzmannDistribution as thermalize_momenta
    thermalize_momenta(atoms, temperature_K=temperature_K, rng=rng)


def section_nve(calc, a: float, n_atoms: int, steps: int, dt_fs: float, temperature: float,
                seed: int = 1) -> dict:
    from ase import units
    from ase.md.velocitydistribution import Stationary
    from ase.md.verlet import VelocityVerlet

    atoms = md_sheet(a, n_atoms)
    atoms.calc = calc
    rng = np.random.default_rng(seed)
    _thermalize(atoms, 2 * temperature, rng)
    Stationary(atoms)
    dyn = VelocityVerlet(atoms, timestep=dt_fs * units.fs)
    t, etot, epot, temp = [], [], [], []

    def record():
        ep = atoms.get_potential_energy()
        ek = atoms.get_kinetic_energy()
        t.append(dyn.nsteps * dt_fs / 1000.0)
        etot.append(ep + ek)
        epot.append(ep)
        temp.append(atoms.get_temperature())

    dyn.attach(record, interval=1)
    start = time.perf_counter()
    dyn.run(steps)
    seconds = time.perf_counter() - start
    t, etot = np.array(t), np.array(etot)
    n = len(atoms)
    slope = np.polyfit(t, etot, 1)[0] if len(t) > 2 else float("nan")  # eV/ps
    return {"n_atoms": n, "steps": steps, "dt_fs": dt_fs, "duration_ps": steps * dt_fs / 1000,
            "initial_temperature_K": 2 * temperature, "mean_temperature_K": float(np.mean(temp)),
            "drift_mev_per_atom_per_ps": float(slope / n * 1000.0),
            "etot_std_mev_per_atom": float(np.std(etot) / n * 1000.0),
            "etot_range_mev_per_atom": float((etot.max() - etot.min()) / n * 1000.0),
            "epot_std_mev_per_atom": float(np.std(epot) / n * 1000.0),
            "seconds": seconds, "seconds_per_step": seconds / max(steps, 1),
            "t_ps": t.tolist(), "etot_mev_per_atom": ((etot - etot[0]) / n * 1000.0).tolist(),
            "epot_mev_per_atom": ((np.array(epot) - epot[0]) / n * 1000.0).tolist(),
            "temperature_K": temp}


def _plot_nve(res: dict, path: Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.6, 3.8))
    ax = fig.add_subplot()
    ax.plot(res["t_ps"], res["epot_mev_per_atom"], color="0.6", lw=0.8, label="potential")
    ax.plot(res["t_ps"], res["etot_mev_per_atom"], color="tab:blue", lw=1.2, label="total")
    ax.set_xlabel("time (ps)")
    ax.set_ylabel("E − E(0) (meV/atom)")
    ax.set_title(f"NVE, {res['n_atoms']} atoms, dt = {res['dt_fs']:g} fs: drift "
                 f"{res['drift_mev_per_atom_per_ps']:.3f} meV/atom/ps", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    _save(fig, path)


def section_rdf(calc, a: float, n_atoms: int, steps_eq: int, steps: int, dt_fs: float,
                temperature: float, seed: int = 2) -> dict:
    from ase import units
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import Stationary

    atoms = md_sheet(a, n_atoms)
    atoms.calc = calc
    rng = np.random.default_rng(seed)
    _thermalize(atoms, temperature, rng)
    Stationary(atoms)
    dyn = Langevin(atoms, timestep=dt_fs * units.fs, temperature_K=temperature,
                   friction=0.02 / units.fs, fixcm=False, rng=rng)
    start = time.perf_counter()
    dyn.run(steps_eq)
    frames, temps = [], []

    def sample():
        frames.append(atoms.positions.copy())
        temps.append(atoms.get_temperature())

    dyn.attach(sample, interval=5)
    dyn.run(steps)
    seconds = time.perf_counter() - start
    r, g = rdf_2d(frames, atoms.cell.array, atoms.get_chemical_symbols())
    bond0 = a / math.sqrt(3.0)
    peaks = {"B-N": first_peak(r, g["B-N"], 1.2, 1.8), "B-B": first_peak(r, g["B-B"], 2.2, 2.8),
             "N-N": first_peak(r, g["N-N"], 2.2, 2.8), "B-N (3rd shell)": first_peak(r, g["B-N"], 2.6, 3.2)}
    ideal = {"B-N": bond0, "B-B": a, "N-N": a, "B-N (3rd shell)": 2 * bond0}
    return {"n_atoms": len(atoms), "temperature_K": temperature, "steps_equilibration": steps_eq,
            "steps_sampled": steps, "dt_fs": dt_fs, "frames": len(frames),
            "mean_temperature_K": float(np.mean(temps)), "seconds": seconds,
            "peaks": peaks, "ideal": ideal, "r": r.tolist(),
            "g": {k: v.tolist() for k, v in g.items()}}


def _plot_rdf(res: dict, path: Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.6, 3.8))
    ax = fig.add_subplot()
    colours = {"B-N": "tab:purple", "B-B": "tab:green", "N-N": "tab:blue"}
    for key, colour in colours.items():
        ax.plot(res["r"], res["g"][key], color=colour, lw=1.0, label=key)
    for key, value in res["ideal"].items():
        ax.axvline(value, color="0.8", lw=0.6, ls=":")
    ax.set_xlabel("r (Å)")
    ax.set_ylabel("g(r) (2D normalisation)")
    ax.set_title(f"RDF at {res['temperature_K']:g} K (Langevin, {res['n_atoms']} atoms, "
                 f"{res['frames']} frames); dotted: 0 K shells", fontsize=8)
    ax.legend(fontsize=7)
    fig.tight_layout()
    _save(fig, path)
