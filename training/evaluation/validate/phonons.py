"""Section (c), phonons: the dispersion along Γ-M-K-Γ and the Γ optical modes against GPAW."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np

from ...scoring.plots import _save
from .dft import dft_summary
from .phonons_mk import mk_frequencies
from .physics import (DFT_PHONON_A, gamma_force_constants, MEV_TO_CM1, MK_DELTA, optical_frequency_cm1,
                      phonon_displacement, primitive_cell, rect_cell)


def model_gamma_fd(calc, a: float, displacement, repeat=(5, 3, 1)) -> dict:
    """The DFT finite-difference protocol with the model: the displaced 4-atom cell repeated
    ``repeat`` times (the same configuration as the k-point-sampled DFT cell)."""
    forces = []
    for sign in (+1, -1):
        atoms = rect_cell(a)
        atoms.positions[0] += sign * np.asarray(displacement)
        big = atoms.repeat(repeat)
        big.calc = calc
        f = big.get_forces().reshape(-1, len(atoms), 3).mean(axis=0)  # [4, 3], per image
        forces.append(f)
    k = gamma_force_constants(rect_cell(a).get_chemical_symbols(), forces[0], forces[1],
                              displacement)
    return {"k": k, "E'": optical_frequency_cm1(k["inplane"]),
            "A2''": optical_frequency_cm1(k["out_of_plane"])}


def model_phonons(calc, a: float, supercell: int, workdir: Path, npoints: int = 120) -> dict:
    """Harmonic dispersion along Γ-M-K-Γ (ase.phonons.Phonons, 0.01 Å displacements)."""

    from ase.phonons import Phonons

    prim = primitive_cell(a)
    name = workdir / "phonon-cache"
    shutil.rmtree(name, ignore_errors=True)
    ph = Phonons(prim, calc, supercell=(supercell, supercell, 1), delta=0.01, name=str(name))
    try:
        ph.run()
        ph.read(acoustic=True)
        path = prim.cell.bandpath("GMKG", npoints=npoints)
        bs = ph.get_band_structure(path, verbose=False)
        freqs = bs.energies[0] * 1000.0 * MEV_TO_CM1  # [k, 6] cm⁻¹ (negative = imaginary)
        omega, modes = ph.band_structure([[0.0, 0.0, 0.0]], modes=True, verbose=False)
    finally:
        shutil.rmtree(name, ignore_errors=True)
    gamma = omega[0] * 1000.0 * MEV_TO_CM1  # [6]
    vec = modes[0].reshape(6, 2, 3)  # [mode, atom, xyz]
    z_weight = (np.abs(vec[:, :, 2]) ** 2).sum(axis=1) / (np.abs(vec) ** 2).sum(axis=(1, 2))
    out_of_plane = z_weight > 0.5
    x, ticks, labels = path.get_linear_kpoint_axis()
    return {"a": a, "supercell": supercell, "x": x.tolist(), "ticks": ticks.tolist(),
            "labels": list(labels), "frequencies_cm1": freqs.tolist(),
            "gamma_cm1": gamma.tolist(),
            "E'": float(gamma[~out_of_plane].max()), "A2''": float(gamma[out_of_plane].max()),
            "min_cm1": float(freqs.min())}


def section_phonons(calc, dft: dict | None, eos: dict | None, out: Path, workdir: Path,
                    quick: bool) -> dict:
    a_model = (eos or {}).get("model", {}).get("a0", DFT_PHONON_A)
    res: dict[str, Any] = {}
    res["dispersion"] = model_phonons(calc, a_model, 5 if quick else 24, workdir,
                                      npoints=60 if quick else 150)
    ph = (dft or {}).get("phonon") or {}
    a_dft = ph.get("a", DFT_PHONON_A)
    u = np.asarray(ph.get("displacement") or phonon_displacement(a_dft))
    res["model_fd"] = model_gamma_fd(calc, a_dft, u)
    res["fd_a"] = a_dft
    res["fd_displacement"] = u.tolist()
    if dft:
        summary = dft_summary(dft)
        if "gamma" in summary:
            res["dft_fd"] = summary["gamma"]
    mk = (dft or {}).get("phonon_mk") or {}
    a_mk = mk.get("a", a_dft)

    cache = workdir / "phonon-mk-cache"
    shutil.rmtree(cache, ignore_errors=True)
    res["model_mk"] = mk_frequencies(calc, a_mk, mk.get("delta", MK_DELTA), cache)
    shutil.rmtree(cache, ignore_errors=True)
    if mk.get("frequencies_cm1"):
        res["dft_mk"] = mk
    _plot_phonons(res, out / "phonons.png")
    return res


def _plot_phonons(res: dict, path: Path) -> None:
    from matplotlib.figure import Figure

    d = res["dispersion"]
    fig = Figure(figsize=(5.6, 4.0))
    ax = fig.add_subplot()
    f = np.asarray(d["frequencies_cm1"])
    for band in f.T:
        ax.plot(d["x"], band, color="tab:blue", lw=1.2)
    for t in d["ticks"]:
        ax.axvline(t, color="0.7", lw=0.6)
    ax.axhline(0, color="0.7", lw=0.6)
    labels = ["Γ" if s in ("G", "Gamma") else s for s in d["labels"]]
    ax.set_xticks(d["ticks"], labels)
    ax.set_xlim(d["x"][0], d["x"][-1])
    if "dft_fd" in res:
        g = res["dft_fd"]
        ax.plot([0, 0], [g["E'"], g["A2''"]], "o", color="tab:red", ms=6, clip_on=False,
                label="GPAW Γ (finite differences)", zorder=5)
        ax.legend(fontsize=7, loc="center right")
    ax.set_ylabel("frequency (cm⁻¹)")
    ax.set_title(f"Model phonons, a = {d['a']:.4f} Å ({d['supercell']}×{d['supercell']} supercell)",
                 fontsize=10)
    fig.tight_layout()
    _save(fig, path)
