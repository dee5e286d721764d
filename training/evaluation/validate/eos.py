"""Section (b), equation of state and elasticity: E(a) under biaxial strain, a0 and the 2D bulk modulus."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ...data.sheets import perfect_sheet
from ...scoring.plots import _save
from .physics import DFT_EOS_A, fit_eos, README_A0, TRAIN_STRAIN


def model_eos(calc, a_values) -> list[float]:
    """Energy per atom of the perfect 60-atom sheet at each lattice constant."""

    out = []
    for a in a_values:
        atoms = perfect_sheet(float(a))
        atoms.calc = calc
        out.append(float(atoms.get_potential_energy()) / len(atoms))
    return out


def section_eos(calc, dft: dict | None, out: Path, quick: bool) -> dict:
    a_fit = list((dft or {}).get("eos", {}).get("a") or DFT_EOS_A)
    e_fit = model_eos(calc, a_fit)
    res: dict[str, Any] = {"a": a_fit, "model_energy_per_atom": e_fit,
                           "model": fit_eos(a_fit, e_fit)}
    a_dense = np.linspace(min(a_fit) - 0.02, max(a_fit) + 0.02, 12 if quick else 29)
    res["a_dense"] = a_dense.tolist()
    res["model_dense"] = model_eos(calc, a_dense)
    if dft and len(dft.get("eos", {}).get("a", [])) >= 4:
        res["dft"] = fit_eos(dft["eos"]["a"], dft["eos"]["energy_per_atom"])
        res["dft_energy_per_atom"] = dft["eos"]["energy_per_atom"]
        res["model_energy_at_dft_points"] = model_eos(calc, dft["eos"]["a"])
    _plot_eos(res, out / "eos.png")
    return res


def _plot_eos(res: dict, path: Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.2, 3.8))
    ax = fig.add_subplot()
    m = res["model"]
    ax.plot(res["a_dense"], (np.array(res["model_dense"]) - m["e0"]) * 1000, "-",
            color="tab:blue", label=f"model: a0 = {m['a0']:.4f} Å, B = {m['b2d_n_per_m']:.0f} N/m")
    if "dft" in res:
        d = res["dft"]
        ax.plot(res["a"], (np.array(res["dft_energy_per_atom"]) - d["e0"]) * 1000, "o",
                color="tab:red", label=f"GPAW: a0 = {d['a0']:.4f} Å, B = {d['b2d_n_per_m']:.0f} N/m")
        ax.axvline(d["a0"], color="tab:red", lw=0.7, ls=":")
    ax.axvline(m["a0"], color="tab:blue", lw=0.7, ls=":")
    lo, hi = README_A0 * (1 - TRAIN_STRAIN), README_A0 * (1 + TRAIN_STRAIN)
    ax.axvspan(lo, hi, color="0.92", zorder=0, label="strains in the 3D training data (±1 %)")
    ax.set_xlabel("lattice constant a (Å)")
    ax.set_ylabel("E − E_min (meV/atom)")
    ax.set_title("Perfect sheet under biaxial strain", fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
    _save(fig, path)
