"""Γ, M and K phonon frequencies from finite differences in one 12-atom supercell, exact at those
points (no Fourier interpolation), for the model and for the GPAW reference alike."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ...scoring.evaluate import markdown_table
from .physics import MEV_TO_CM1, rect_cell


# M and K from one small supercell. The 4-atom rectangular cell folds M onto its Γ (M =
# (0, 2π/(√3 a)) is a reciprocal vector of the cell), and its 3 × 1 supercell is commensurate
# with K = (4π/(3a), 0), i.e. (2/3, 0) of the rectangular cell: finite differences in that
# 12-atom supercell give the dynamical matrix at Γ, M and K exactly (no interpolation), for the
# model and for GPAW alike.
MK_SUPERCELL = (3, 1, 1)
K_RECT = (2.0 / 3.0, 0.0, 0.0)


def split_folded(omega, modes, phases: dict[str, float]) -> dict[str, list[float]]:
    """Frequencies of the 4-atom cell at one q sorted by the hexagonal point each mode belongs
    to. A Bloch wave of the hexagonal lattice at q_hex moves the second B (and N) of the cell,
    Δr = (a/2, √3 a/2) away, by e^{−i q_hex·Δr} relative to the first (the sign convention of
    ase.phonons); ``phases`` maps each point folded onto q to q_hex·Δr (radians)."""
    vec = np.asarray(modes).reshape(len(omega), 4, 3)  # [mode, atom B N B N, xyz]
    ratio = np.sum(np.conj(vec[:, 0]) * vec[:, 2], axis=1) + np.sum(np.conj(vec[:, 1]) * vec[:, 3], axis=1)
    names = list(phases)
    expected = np.exp(-1j * np.array([phases[n] for n in names]))  # [points]
    # nearest expected phase on the unit circle
    pick = np.argmax(np.real(np.conj(expected)[None, :] * (ratio / np.maximum(np.abs(ratio), 1e-30))[:, None]), axis=1)
    out = {n: sorted(float(w) for w, k in zip(omega, pick) if k == i) for i, n in enumerate(names)}
    if any(len(v) != 6 for v in out.values()):
        raise RuntimeError("could not sort the folded modes: " + ", ".join(f"{n} {len(v)}" for n, v in out.items()))
    return out


def mk_frequencies(calc, a: float, delta: float, name: str | Path) -> dict:
    """Harmonic frequencies (cm⁻¹, negative = imaginary) at Γ, M and K from finite
    differences of ±``delta`` in the 3 × 1 supercell of the 4-atom cell at ``a``;
    ``name`` is ase.phonons' cache (a run that stops resumes from it)."""
    from ase.phonons import Phonons

    ph = Phonons(rect_cell(a), calc, supercell=MK_SUPERCELL, delta=delta, name=str(name))
    ph.run()
    ph.read(acoustic=True)
    to_cm1 = 1000.0 * MEV_TO_CM1
    omega, modes = ph.band_structure([[0.0, 0.0, 0.0]], modes=True, verbose=False)
    out = split_folded(omega[0] * to_cm1, modes[0], {"Γ": 0.0, "M": np.pi})  # M·Δr = π
    omega, modes = ph.band_structure([K_RECT], modes=True, verbose=False)
    # K·Δr = 2π/3; the other point folded there, K + (0, 2π/(√3 a)), is the middle of Γ-K'
    out.update(split_folded(omega[0] * to_cm1, modes[0], {"K": 2 * np.pi / 3, "T": 5 * np.pi / 3}))
    out.pop("T")
    return {"a": a, "delta": delta, "supercell": list(MK_SUPERCELL), "frequencies_cm1": out}


def format_mk(ph: dict) -> list[str]:
    """Rows of validation.md for Γ, M and K: model and GPAW, branch by branch (ascending)."""
    model = (ph.get("model_mk") or {}).get("frequencies_cm1")
    if not model:
        return []
    dft = (ph.get("dft_mk") or {}).get("frequencies_cm1") or {}
    rows = []
    for point in ("Γ", "M", "K"):
        for k, w in enumerate(model[point]):
            if point == "Γ" and k < 3:
                continue  # the acoustic zeros
            d = (dft.get(point) or [None] * 6)[k]
            rows.append([point, str(k + 1), f"{w:.1f}", "—" if d is None else f"{d:.1f}",
                         "—" if d is None else f"{100 * (w - d) / d:+.2f} %"])
    m = ph["model_mk"]
    return [markdown_table(["point", "branch", "model (cm⁻¹)", "GPAW (cm⁻¹)", "difference"], rows), "",
            f"Finite differences of ±{m['delta']:g} Å in the 12-atom 3 × 1 supercell of the 4-atom cell "
            f"at a = {m['a']:.4f} Å, the same for the model and for GPAW: the supercell is commensurate "
            "with Γ, M and K, so these frequencies are exact there (no Fourier interpolation); branches "
            "in ascending order." + ("" if dft else " No GPAW M/K reference in the DFT file yet "
                                     "(`--compute-dft` adds it)."), ""]
