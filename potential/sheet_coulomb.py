"""The long-range part of an h-BN sheet: Coulomb between fixed charges, smoothed at short range.

A local model cannot see the field of distant dipoles (a displaced B⁺/N⁻ pair): in the PBE
data the force residuals of the local model correlate with that field, and the Γ-point E'
mode, a uniform sublattice shift whose long-range field vanishes, came out 3.5 % too stiff.
So a charged model adds, to the sum of its sub-energies, the Coulomb energy of fixed charges
(species_charges, e: +q on B, −q on N) in the plane of the sheet, Gaussian-smoothed with
width σ so that only the long range is left to it (the MLP keeps everything inside ~2σ):

    E = (k_e / A) Σ_{k ∈ half plane} w(k) |S(k)|² − k_e √(π/2) / (2σ) Σ_i q_i²
    S(k) = Σ_j q_j exp(i k·r_j),    w(k) = 2π exp(−k²σ²/2) / k

k runs over the in-plane reciprocal lattice of the cell (k ≠ 0, |k| ≤ √(2 ln 10¹⁰)/σ),
A is the in-plane cell area and 2π/k is the 2D Fourier transform of 1/r: the charges
interact as in an isolated sheet, whatever the cell height, and heights z play no part (the
out-of-plane Born charges of h-BN are small). The same sum, term for term, is in the LAMMPS
plugin (lammps_plugin/areanet_coulomb.cpp); the two agree to rounding.

Virial W_ab = −∂E/∂ε_ab in LAMMPS' sign (coordinate a, force b; ASE's stress is +∂E/∂ε / V,
the opposite sign): per k, E_k [δ_ab − (σ² + 1/k²) k_a k_b] for a, b in the plane, zero in every
component with z (no force along z).
"""
from __future__ import annotations

import math

import numpy as np

from . import sheet_mesh
from .sheet_mesh import COULOMB, k_cut


def model_charges(model) -> tuple[np.ndarray, float]:
    """(charge per species [S] in e, width σ in Å) of a model; zeros for an uncharged one.

    Model files written before the long-range term have no such attributes: uncharged.
    """
    charges = [float(q) for q in getattr(model, "species_charges", [])]
    if not charges:
        charges = [0.0] * len(list(model.species))
    return np.asarray(charges, dtype=np.float64), float(getattr(model, "charge_width", 0.0))


def is_charged(model) -> bool:
    return bool(np.any(model_charges(model)[0] != 0.0))


def sheet_vectors(cell, pbc=(True, True, True)) -> np.ndarray:
    """The in-plane lattice vectors [2, 2] of a sheet in the xy plane; ValueError otherwise."""
    cell = np.asarray(cell, dtype=np.float64)
    if not (pbc[0] and pbc[1]):
        raise ValueError("the long-range Coulomb term needs a cell periodic along x and y (a sheet)")
    if abs(cell[0, 2]) > 1e-9 or abs(cell[1, 2]) > 1e-9:
        raise ValueError("the long-range Coulomb term needs the sheet in the xy plane: cell vectors a and b "
                         f"have z components {cell[0, 2]:g}, {cell[1, 2]:g} Å")
    ab = cell[:2, :2]
    if abs(np.linalg.det(ab)) < 1e-9:
        raise ValueError("the cell's a and b vectors span no area in the xy plane")
    return ab


def k_vectors(cell_ab: np.ndarray, width: float) -> np.ndarray:
    """In-plane reciprocal vectors [K, 2] of the half plane (n1 > 0, or n1 = 0 and n2 > 0)
    with |k| ≤ k_cut(σ) = √(2 ln(1/K_CUT_ACCURACY))/σ (sheet_mesh)."""
    kc = k_cut(width)
    rec = 2.0 * math.pi * np.linalg.inv(cell_ab).T  # rows b1, b2: a_i · b_j = 2π δ_ij
    # |n_i| ≤ k_cut |a_i| / 2π bounds every k inside the circle
    n1_max = int(math.floor(kc * np.linalg.norm(cell_ab[0]) / (2.0 * math.pi)))
    n2_max = int(math.floor(kc * np.linalg.norm(cell_ab[1]) / (2.0 * math.pi)))
    n1, n2 = np.meshgrid(np.arange(0, n1_max + 1), np.arange(-n2_max, n2_max + 1), indexing="ij")
    n1, n2 = n1.ravel(), n2.ravel()
    half = (n1 > 0) | ((n1 == 0) & (n2 > 0))
    k = np.outer(n1[half], rec[0]) + np.outer(n2[half], rec[1])  # [K, 2]
    return k[(k * k).sum(1) <= kc * kc]


METHODS = ("auto", "direct", "mesh")


def sheet_coulomb(positions, cell, charges, width: float, pbc=(True, True, True), method: str = "auto",
                  accuracy: float = sheet_mesh.DEFAULT_ACCURACY, order: int | None = None):
    """(energy, atom_energy [n], forces [n, 3], virial [3, 3]) of the smoothed sheet Coulomb.

    method "direct": the k-sum below (the reference); "mesh": the same energy on a 2D mesh
    (potential/sheet_mesh.py) to `accuracy` (RMS force error / k_e, as LAMMPS states PPPM's),
    B-spline order `order` or the cheapest; "auto" (every host's default): the mesh from
    sheet_mesh.MESH_ATOMS atoms on, the direct sum below (training cells).
    """
    positions = np.asarray(positions, dtype=np.float64)  # [n, 3]
    charges = np.asarray(charges, dtype=np.float64)  # [n]
    if not width > 0.0:
        raise ValueError(f"charge width {width} Å must be positive")
    if method not in METHODS:
        raise ValueError(f"sheet Coulomb method {method!r} is not one of {', '.join(METHODS)}")
    ab = sheet_vectors(cell, pbc)
    if method == "mesh" or (method == "auto" and len(positions) >= sheet_mesh.MESH_ATOMS):
        mesh = sheet_mesh.choose_mesh(ab, width, accuracy, len(positions), float(np.mean(charges ** 2)), order)
        return sheet_mesh.mesh_coulomb(positions, ab, charges, width, mesh)
    area = abs(float(np.linalg.det(ab)))
    k = k_vectors(ab, width)  # [K, 2]
    k2 = (k * k).sum(1)  # [K]
    k_norm = np.sqrt(k2)
    w = 2.0 * math.pi * np.exp(-0.5 * k2 * width * width) / k_norm  # [K]
    phase = positions[:, :2] @ k.T  # [n, K]
    cos, sin = np.cos(phase), np.sin(phase)
    s_re, s_im = charges @ cos, charges @ sin  # [K]
    scale = COULOMB / area
    self_energy = COULOMB * math.sqrt(math.pi / 2.0) / (2.0 * width) * charges * charges  # [n]
    atom_energy = scale * charges * ((cos * s_re + sin * s_im) @ w) - self_energy  # [n]
    forces = np.zeros_like(positions)
    forces[:, :2] = 2.0 * scale * charges[:, None] * (((sin * s_re - cos * s_im) * w) @ k)  # [n, 2]
    e_k = scale * w * (s_re * s_re + s_im * s_im)  # [K]
    virial = np.zeros((3, 3))
    virial[:2, :2] = e_k.sum() * np.eye(2) - np.einsum("k,ka,kb->ab", e_k * (width * width + 1.0 / k2), k, k)
    return float(atom_energy.sum()), atom_energy, forces, virial


def structure_coulomb(model, atoms):
    """sheet_coulomb of an ASE structure with a model's charges, or None for an uncharged model."""
    charges, width = model_charges(model)
    if not np.any(charges != 0.0):
        return None
    species = list(model.species)
    index = np.array([species.index(s) for s in atoms.get_chemical_symbols()])
    return sheet_coulomb(atoms.positions, atoms.cell.array, charges[index], width, atoms.pbc)
