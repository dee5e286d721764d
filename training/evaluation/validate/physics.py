"""The physics the validation sections share: the cells, the DFT settings, the equation-of-state fit,
Γ-point force constants and frequencies, the 2D radial distribution function."""
from __future__ import annotations

import math

import numpy as np

from ...data.reference import MASSES
from ...data.sheets import perfect_sheet


EV_PER_A2_TO_N_PER_M = 16.021766  # 1 eV/Å² in N/m
SQRT_EV_A2_AMU_TO_CM1 = 521.47090  # √(eV/Å²/amu) as an angular frequency, in cm⁻¹ (ω/2πc)
MEV_TO_CM1 = 8.0655439

# the DFT reference cell and its settings (see the package doc, areanet.training.evaluation.validate)
DFT_KPTS = (5, 3, 1)
DFT_GPTS = (17, 29, 80)
DFT_EOS_A = (2.4750, 2.4900, 2.5198, 2.5500, 2.5650)  # Å, symmetric about 2.5198
DFT_PHONON_A = 2.5198  # Å, the a0 of data/README.md
README_A0 = 2.5198
# M/K finite differences: half the DFT grid spacing along x (the egg-box force cancels in
# ±δ central differences when δ is half a spacing; y and z spacings differ by < 2 %)
MK_DELTA = 0.0741
MK_KPTS = (2, 3, 1)  # the 12-atom 3 × 1 supercell: k-spacing as fine as data/'s 60-atom Γ cells or finer
MK_GPTS = (51, 29, 80)  # the 4-atom cell's grid, three times along x
TRAIN_STRAIN = 0.01  # the 3D protocol's largest in-plane strain (data/README.md)


def fit_eos(a_values, energy_per_atom, degree: int = 3) -> dict[str, float]:
    """Equilibrium lattice constant and 2D bulk modulus from E(a) of the perfect sheet.

    A polynomial of ``degree`` in a is fitted to the energy per atom; a0 is its minimum
    inside the sampled range, B = A d²E/dA² = E''(a0)/√3 (eV/Å², per-atom area √3 a²/4).
    """
    a = np.asarray(a_values, dtype=float)
    e = np.asarray(energy_per_atom, dtype=float)
    if len(a) < degree + 1:
        raise ValueError(f"{len(a)} points cannot fit a degree-{degree} polynomial")
    centre = float(a.mean())
    poly = np.polynomial.Polynomial.fit(a - centre, e, degree)
    d1, d2 = poly.deriv(1), poly.deriv(2)
    roots = [float(r.real) for r in d1.roots() if abs(r.imag) < 1e-12]
    lo, hi = a.min() - centre, a.max() - centre
    minima = [r for r in roots if lo - 1e-9 <= r <= hi + 1e-9 and d2(r) > 0]
    if not minima:
        raise ValueError(f"E(a) has no minimum inside [{a.min():.4f}, {a.max():.4f}] Å")
    x0 = min(minima, key=lambda r: poly(r))
    for _ in range(3):  # polish: roots() loses digits when the cubic term is ~0
        x0 -= float(d1(x0) / d2(x0))
    curvature = float(d2(x0))  # eV/Å² per atom
    b2d = curvature / math.sqrt(3.0)
    residual = float(np.sqrt(np.mean((poly(a - centre) - e) ** 2)))
    return {"a0": x0 + centre, "e0": float(poly(x0)), "curvature_ev_per_a2": curvature,
            "b2d_ev_per_a2": b2d, "b2d_n_per_m": b2d * EV_PER_A2_TO_N_PER_M,
            "fit_rms_mev": residual * 1000.0, "degree": degree}


def rect_cell(a: float):
    """The 4-atom rectangular h-BN cell (a × √3 a, 12 Å high), the layout of data/."""

    return perfect_sheet(a, nx=1, ny=1)


def phonon_displacement(a: float, gpts=DFT_GPTS) -> np.ndarray:
    """(δx, 0, δz): half the grid spacing of the DFT cell along x and z (Å)."""
    cell = rect_cell(a).cell.lengths()
    return np.array([cell[0] / gpts[0] / 2.0, 0.0, cell[2] / gpts[2] / 2.0])


def gamma_force_constants(symbols, forces_plus, forces_minus, displacement) -> dict[str, float]:
    """Γ-point force constants (eV/Å²) from forces at ±displacement of one B atom.

    In-plane from the x components, out-of-plane from z; each from the B sum and from the N
    sum (equal by the acoustic sum rule; both kept, their mean used).
    """
    symbols = np.asarray(symbols)
    d = np.asarray(displacement, dtype=float)
    df = (np.asarray(forces_plus) - np.asarray(forces_minus)) / 2.0  # [n, 3], = −Φ u
    out = {}
    for name, axis in (("inplane", 0), ("out_of_plane", 2)):
        k_b = -df[symbols == "B", axis].sum() / d[axis]
        k_n = df[symbols == "N", axis].sum() / d[axis]
        out[name] = 0.5 * (k_b + k_n)
        out[f"{name}_asr_mismatch"] = abs(k_b - k_n) / max(abs(out[name]), 1e-12)
    return out


def optical_frequency_cm1(k: float, m1: float = MASSES["B"], m2: float = MASSES["N"]) -> float:
    """ω/(2πc) in cm⁻¹ of a two-atom basis with Γ force constant k (eV/Å²); NaN if k < 0."""
    if k < 0:
        return float("nan")
    return math.sqrt(k * (1.0 / m1 + 1.0 / m2)) * SQRT_EV_A2_AMU_TO_CM1


def rdf_2d(positions_list, cell, symbols, r_max: float = 6.0, bins: int = 240):
    """Pair distribution g(r) of a sheet, normalised by the areal density (2D).

    Returns (r [bins], {"all", "B-N", "B-B", "N-N": g [bins]}). Distances are 3D minimum-
    image distances; the ideal-gas shell is 2πr dr times the areal density, so g → 1 at
    large r for a flat sheet.
    """
    from ase import Atoms
    from ase.neighborlist import neighbor_list

    symbols = np.asarray(symbols)
    edges = np.linspace(0.0, r_max, bins + 1)
    centres = 0.5 * (edges[1:] + edges[:-1])
    area = float(np.linalg.norm(np.cross(np.asarray(cell)[0], np.asarray(cell)[1])))
    n = len(symbols)
    counts = {k: np.zeros(bins) for k in ("all", "B-N", "B-B", "N-N")}
    for pos in positions_list:
        atoms = Atoms(symbols.tolist(), positions=pos, cell=cell, pbc=True)
        i, j, d = neighbor_list("ijd", atoms, r_max)
        pair = np.where(symbols[i] == symbols[j], np.char.add(np.char.add(symbols[i], "-"),
                                                               symbols[j]), "B-N")
        counts["all"] += np.histogram(d, edges)[0]
        for key in ("B-N", "B-B", "N-N"):
            counts[key] += np.histogram(d[pair == key], edges)[0]
    frames = max(len(positions_list), 1)
    shell = 2.0 * np.pi * centres * (edges[1] - edges[0])  # [bins]
    n_b, n_n = int((symbols == "B").sum()), int((symbols == "N").sum())
    norms = {"all": n * n / area, "B-N": 2 * n_b * n_n / area,
             "B-B": n_b * n_b / area, "N-N": n_n * n_n / area}
    g = {k: counts[k] / (frames * shell * max(norms[k], 1e-12)) for k in counts}
    return centres, g


def first_peak(r, g, lo: float, hi: float) -> float:
    """Position of the maximum of g inside [lo, hi] (parabola through the top three bins)."""
    mask = (r >= lo) & (r <= hi)
    idx = np.flatnonzero(mask)
    k = idx[int(np.argmax(g[idx]))]
    if 0 < k < len(r) - 1 and g[k - 1] + g[k + 1] - 2 * g[k] < 0:
        denom = g[k - 1] - 2 * g[k] + g[k + 1]
        shift = 0.5 * (g[k - 1] - g[k + 1]) / denom
        return float(r[k] + shift * (r[1] - r[0]))
    return float(r[k])


def primitive_cell(a: float, height: float = 12.0):
    """The 2-atom hexagonal h-BN cell (B at the origin, N at (a/2, a/(2√3)))."""
    from ase import Atoms

    cell = [[a, 0.0, 0.0], [a / 2.0, a * math.sqrt(3.0) / 2.0, 0.0], [0.0, 0.0, height]]
    return Atoms("BN", positions=[[0.0, 0.0, height / 2],
                                  [a / 2.0, a / (2.0 * math.sqrt(3.0)), height / 2]],
                 cell=cell, pbc=True)


def md_sheet(a: float, atoms_target: int):
    """A perfect sheet of about ``atoms_target`` atoms (rectangular 4-atom cells)."""

    ny = max(1, round(math.sqrt(atoms_target / 4 / math.sqrt(3.0))))
    nx = max(1, round(atoms_target / 4 / ny))
    return perfect_sheet(a, nx=nx, ny=ny)
