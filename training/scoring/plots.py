"""Figures of the paper's evaluation, as PNG files.

* :func:`parity_figure` -- Figs. 3/4: predicted vs reference total energy and force
  magnitude with their residual histograms, the force-angle error histogram, and a parity
  plot of the force components.
* :func:`strength_figure` -- Figs. 5-7: energy, force-magnitude and angle errors against
  perturbation strength, with the training range shaded; one curve per model.

Figures are drawn on matplotlib's Agg canvas directly (no pyplot, no global backend
switch), so they work headless and do not disturb an interactive session.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .metrics import DEFAULT_ZERO_FORCE_TOL

SPECIES_COLOURS = {"B": "tab:green", "N": "tab:blue"}
_OTHER_COLOURS = ["tab:orange", "tab:purple", "tab:brown", "tab:pink"]


def _save(fig: Figure, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=150)
    return path


def _diagonal(ax, lo: float, hi: float) -> None:
    pad = 0.03 * (hi - lo) if hi > lo else 1.0
    lo, hi = lo - pad, hi + pad
    ax.plot([lo, hi], [lo, hi], color="0.3", lw=0.8, ls="--", zorder=0)
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal", adjustable="box")


def _note(ax, text: str) -> None:
    ax.text(0.04, 0.96, text, transform=ax.transAxes, va="top", ha="left", fontsize=8,
            bbox=dict(boxstyle="round", fc="white", ec="0.8", alpha=0.9))


def _groups(species, n: int):
    """(label, row selector, colour) for each species, or one group for all rows."""
    if species is None:
        return [("all atoms", np.ones(n, dtype=bool), "tab:blue")]
    species = np.asarray(species).astype(str)
    names = [s for s in ("B", "N") if np.any(species == s)]
    names += sorted(set(species.tolist()) - {"B", "N"})
    out = []
    for i, name in enumerate(names):
        colour = SPECIES_COLOURS.get(name, _OTHER_COLOURS[i % len(_OTHER_COLOURS)])
        out.append((name, species == name, colour))
    return out


def parity_figure(
    e_ref,
    e_pred,
    n_atoms,
    f_ref,
    f_pred,
    path,
    *,
    force_mask=None,
    species=None,
    title: str | None = None,
    zero_force_tol: float = DEFAULT_ZERO_FORCE_TOL,
) -> Path:
    """Write the Fig. 3/4-style panel of parity plots and residual histograms to ``path``.

    Arrays as in :mod:`areanet.training.metrics` (energies [S] eV, ``n_atoms`` [S],
    forces [N, 3] eV/Å, ``force_mask`` bool [N]); ``species`` ([N] symbols) colours the
    force panels by atom species. Returns the path written.
    """
    e_ref = np.asarray(e_ref, dtype=np.float64).reshape(-1)
    e_pred = np.asarray(e_pred, dtype=np.float64).reshape(-1)
    n_atoms = np.asarray(n_atoms, dtype=np.float64).reshape(-1)
    f_ref = np.asarray(f_ref, dtype=np.float64).reshape(-1, 3)
    f_pred = np.asarray(f_pred, dtype=np.float64).reshape(-1, 3)
    mask = (np.ones(len(f_ref), dtype=bool) if force_mask is None
            else np.asarray(force_mask, dtype=bool).reshape(-1))
    f_ref, f_pred = f_ref[mask], f_pred[mask]                      # [M, 3]
    spec = None if species is None else np.asarray(species).astype(str).reshape(-1)[mask]

    de = e_pred - e_ref                                            # [S] eV
    mag_ref = np.linalg.norm(f_ref, axis=1)                        # [M]
    mag_pred = np.linalg.norm(f_pred, axis=1)                      # [M]
    dmag = mag_pred - mag_ref                                      # [M]
    directional = mag_ref > zero_force_tol
    cos = np.zeros(len(f_ref))
    denom = mag_pred * mag_ref
    np.divide(np.einsum("ij,ij->i", f_pred, f_ref), denom, out=cos, where=denom > 0)
    angle = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))        # [M] degrees

    fig = Figure(figsize=(13.5, 8.4), layout="constrained")
    axes = fig.subplots(2, 3)
    many = len(f_ref) > 5000
    size = 2 if many else 8
    alpha = 0.35 if many else 0.7

    # (a) total energy parity
    ax = axes[0, 0]
    ax.scatter(e_ref, e_pred, s=10, alpha=0.7, color="tab:red", edgecolors="none",
               rasterized=True)
    _diagonal(ax, float(min(e_ref.min(), e_pred.min())), float(max(e_ref.max(), e_pred.max())))
    ax.set_xlabel("Reference total energy (eV)")
    ax.set_ylabel("Predicted total energy (eV)")
    ax.set_title("Total energy")
    rmse_e = float(np.sqrt(np.mean(de**2)))
    rmse_epa = float(np.sqrt(np.mean((de / n_atoms) ** 2))) * 1e3
    _note(ax, f"RMSE {rmse_e:.4g} eV\n= {rmse_epa:.4g} meV/atom\n{len(de)} structures")

    # (b) total energy residuals
    ax = axes[0, 1]
    ax.hist(de, bins=_bins(de), color="tab:red", alpha=0.8)
    ax.axvline(0.0, color="0.3", lw=0.8, ls="--")
    ax.set_xlabel("Total energy error, predicted − reference (eV)")
    ax.set_ylabel("Structures")
    ax.set_title("Total energy residuals")
    _note(ax, f"mean {np.mean(de):+.3g} eV\nmax |error| {np.max(np.abs(de)):.3g} eV")
    if np.unique(n_atoms).size == 1:  # one cell size: also show the per-atom scale
        n0 = float(n_atoms[0])
        top = ax.secondary_xaxis("top", functions=(lambda x: x / n0 * 1e3, lambda y: y * n0 / 1e3))
        top.set_xlabel(f"Energy error per atom (meV/atom, {n0:g}-atom cells)")

    groups = _groups(spec, len(f_ref))

    # (c) force component parity
    ax = axes[0, 2]
    for label, sel, colour in groups:
        ax.scatter(f_ref[sel].ravel(), f_pred[sel].ravel(), s=size, alpha=alpha,
                   color=colour, edgecolors="none", label=label, rasterized=True)
    if len(f_ref):
        _diagonal(ax, float(min(f_ref.min(), f_pred.min())), float(max(f_ref.max(), f_pred.max())))
        _note(ax, f"RMSE {np.sqrt(np.mean((f_pred - f_ref) ** 2)):.4g} eV/Å\n"
                  f"x, y, z of {len(f_ref)} atoms")
    ax.set_xlabel("Reference force component (eV/Å)")
    ax.set_ylabel("Predicted force component (eV/Å)")
    ax.set_title("Force components")
    _legend(ax, groups)

    # (d) force magnitude parity
    ax = axes[1, 0]
    for label, sel, colour in groups:
        ax.scatter(mag_ref[sel], mag_pred[sel], s=size, alpha=alpha, color=colour,
                   edgecolors="none", label=label, rasterized=True)
    if len(f_ref):
        _diagonal(ax, 0.0, float(max(mag_ref.max(), mag_pred.max())))
        _note(ax, f"RMSE {np.sqrt(np.mean(dmag**2)):.4g} eV/Å")
    ax.set_xlabel("Reference force magnitude (eV/Å)")
    ax.set_ylabel("Predicted force magnitude (eV/Å)")
    ax.set_title("Force magnitude")
    _legend(ax, groups)

    # (e) force magnitude residuals
    ax = axes[1, 1]
    bins = _bins(dmag)
    for label, sel, colour in groups:
        ax.hist(dmag[sel], bins=bins, color=colour, alpha=0.6, label=label)
    ax.axvline(0.0, color="0.3", lw=0.8, ls="--")
    ax.set_xlabel("Force magnitude error, predicted − reference (eV/Å)")
    ax.set_ylabel("Atoms")
    ax.set_title("Force magnitude residuals")
    _legend(ax, groups, loc="upper right")

    # (f) force angle errors
    ax = axes[1, 2]
    shown = angle[directional]
    top = float(np.percentile(shown, 99.5)) * 1.05 if shown.size else 1.0
    top = min(max(top, 1e-6), 180.0)
    bins = np.linspace(0.0, top, 51)
    for label, sel, colour in groups:
        # angles beyond the 99.5th percentile are piled into the last bin
        ax.hist(np.minimum(angle[sel & directional], top), bins=bins, color=colour,
                alpha=0.6, label=label)
    ax.set_xlabel("Angle between predicted and reference force (°)")
    ax.set_ylabel("Atoms")
    ax.set_title("Force direction error")
    if shown.size:
        lines = [f"mean {np.mean(shown):.3g}°, max {np.max(shown):.3g}°"]
        beyond = int(np.sum(shown > top))
        if beyond:
            lines.append(f"{beyond} atoms beyond {top:.3g}° in the last bin")
        excluded = int((~directional).sum())
        if excluded:
            lines.append(f"{excluded} zero-force atoms left out")
        _note(ax, "\n".join(lines))
    _legend(ax, groups, loc="upper right")

    if title:
        fig.suptitle(title)
    return _save(fig, path)


def _bins(values: np.ndarray, n: int = 50):
    """Bins symmetric about zero covering every residual."""
    values = np.asarray(values)
    if values.size == 0:
        return 10
    r = float(np.max(np.abs(values)))
    r = r if r > 0.0 else 1e-12
    return np.linspace(-r, r, n + 1)


def _legend(ax, groups, loc: str = "lower right") -> None:
    if len(groups) > 1:
        ax.legend(loc=loc, fontsize=8, markerscale=3)


def strength_figure(
    by_strength: Sequence[Mapping] | Mapping[str, Sequence[Mapping]],
    path,
    *,
    train_range: tuple[float, float] | None = (1.0, 5.0),
    title: str | None = None,
) -> Path:
    """Write the Fig. 5-7-style error-vs-strength curves to ``path``.

    ``by_strength``: the levels of :func:`areanet.training.metrics.rmse_by_strength`, or a
    mapping ``{curve label: levels}`` to compare several models (e.g. low vs high order).
    Three panels: energy RMSE (meV/atom), force-magnitude RMSE (eV/Å) and mean angle
    error (°) against perturbation strength (%), the training range shaded.
    """
    curves = dict(by_strength) if isinstance(by_strength, Mapping) else {"": by_strength}
    fig = Figure(figsize=(13.5, 4.2), layout="constrained")
    axes = fig.subplots(1, 3)
    panels = [
        ("energy_per_atom_rmse_mev", "Energy RMSE (meV/atom)", "Energy"),
        ("force_magnitude_rmse", "Force magnitude RMSE (eV/Å)", "Force magnitude"),
        ("force_angle_mae_deg", "Mean force angle error (°)", "Force direction"),
    ]
    markers = ["o", "s", "^", "D", "v", "P"]
    for ax, (key, ylabel, name) in zip(axes, panels):
        if train_range is not None:
            ax.axvspan(train_range[0], train_range[1], color="tab:green", alpha=0.12,
                       lw=0, label="training range")
        for i, (label, levels) in enumerate(curves.items()):
            x = np.array([lv["strength_pct"] for lv in levels], dtype=float)
            y = np.array([np.nan if lv[key] is None else lv[key] for lv in levels], dtype=float)
            ok = np.isfinite(y)
            ax.plot(x[ok], y[ok], marker=markers[i % len(markers)], ms=4, lw=1.2,
                    label=label or None)
        ax.set_xlabel("Perturbation strength (%)")
        ax.set_ylabel(ylabel)
        ax.set_title(name)
        ax.set_ylim(bottom=0.0)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8, loc="upper left")
    if title:
        fig.suptitle(title)
    return _save(fig, path)
