"""The sheet Coulomb of potential/sheet_coulomb.py on a 2D mesh: smooth particle-mesh Ewald.

The same energy as the direct k-sum (the same k set, the same kernel w(k), the same self
term), with S(k) obtained from a grid instead of per (atom, k):

  * every charge is spread onto a K1 x K2 grid over the in-plane cell in fractional
    coordinates u_a = K_a s_a (s = fractional position) with the cardinal B-spline M_p of
    order p along each cell vector: Q(g) = sum_i q_i M_p(u_i1 - g1) M_p(u_i2 - g2);
  * S(m) ~ B(m) conj(FFT(Q)(m)) with |B(m)|^2 = |b1(m1)|^2 |b2(m2)|^2 and
    |b(m)|^-2 = |sum_{j=0}^{p-2} M_p(j+1) exp(2 pi i m j / K)|^2 (the Euler exponential
    spline of Essmann et al., J. Chem. Phys. 103, 8577 (1995)), so

        E = (k_e / 2A) sum_{m != 0, |k_m| <= k_cut} w(k_m) |B(m)|^2 |FFT(Q)(m)|^2 - self

    with k_m = m1 b1 + m2 b2 (b_a the reciprocal vectors; the Nyquist rows m_a = K_a/2 are
    left out: their k is ambiguous);
  * E = (1/2) sum_g Q(g) Phi(g), Phi = (k_e/A) IFFT(w |B|^2 FFT(Q)) (unnormalised), so the
    energy of atom i is (1/2) q_i sum_g theta_i(g) Phi(g) - self_i and its force is the exact
    gradient F_i = -q_i sum_g Phi(g) grad theta_i(g): the mesh energy is conserved in NVE
    as the direct one is;
  * a strain leaves the fractional coordinates, hence Q and B, unchanged, so the virial is
    the direct sum's formula over the mesh modes, sum_m E_m [delta_ab - (sigma^2 + 1/k^2)
    k_a k_b], exactly -dE_mesh/d eps.

Accuracy, as LAMMPS' kspace_modify/PPPM states it: the RMS force error of the mesh against
the direct sum, relative to the force between two unit charges 1 Å apart (k_e = 14.4 eV/Å);
the default 1e-7 is an RMS error of 1.4e-6 eV/Å. The B-spline interpolation of a mode with
x_a = k.h_a / 2π (h_a = a_a / K_a, the grid step along cell vector a) carries aliases of
relative size ε_a = Σ_{l≠0} |x_a/(x_a+l)|^p (1 for a mode the grid cannot hold); for
uncorrelated charges of mean square q² at density ρ the RMS force error is then
k_e q² (ρ ∫d²k e^{−k²σ²} (ε_1 + ε_2)²)^½. A crystal's errors are partly coherent (its
Bragg peaks): against the direct sum on perturbed, strained, triclinic and perfect sheets the
measured error was 0.01–4.7 times that figure, so `mesh_error` states SAFETY = 7 times it.
`choose_mesh` takes, for the requested accuracy, the cheapest (order, grid) whose estimate
is below it. The LAMMPS plugin (lammps_plugin/areanet_mesh.cpp) makes the same choice with
the same formulas (midpoint quadrature of the k disc, 256 radii × 128 angles).
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

# shared with the direct sum (sheet_coulomb imports them: this module sits below it)
COULOMB = 14.399645  # e²/(4πε₀) in eV·Å, LAMMPS' qqr2e for units metal
K_CUT_ACCURACY = 1e-10  # terms with exp(−k²σ²/2) below this are left out: the k disc
DEFAULT_ACCURACY = 1e-7  # RMS force error of the mesh against the direct sum / (k_e / 1 Å²)
SAFETY = 7.0  # mesh_error's factor over the uncorrelated-charge estimate (see above)
MESH_ATOMS = 2000  # method "auto": the mesh from this many atoms in a sheet, the direct sum below
ORDERS = range(5, 11)  # B-spline orders choose_mesh considers (4 … 10 may be asked for)
ALIASES = 3  # alias images l = ±1 … ±ALIASES counted in the error estimate


def k_cut(width: float) -> float:
    """Radius (1/Å) of the k disc: √(2 ln(1/K_CUT_ACCURACY))/σ."""
    return math.sqrt(2.0 * math.log(1.0 / K_CUT_ACCURACY)) / width


def nice_size(n: int) -> int:
    """The smallest m >= n whose only prime factors are 2, 3 and 5 (fast FFT sizes)."""
    m = max(int(n), 2)
    while True:
        r = m
        for f in (2, 3, 5):
            while r % f == 0:
                r //= f
        if r == 1:
            return m
        m += 1


def _alias_error(x: np.ndarray, order: int) -> np.ndarray:
    """Relative alias amplitude of a B-spline-interpolated mode at x = k.h/2π; 1 where |x| ≥ ½."""
    ax = np.abs(x)
    err = np.zeros_like(ax)
    for l in range(1, ALIASES + 1):
        err += (ax / (l - ax)) ** order + (ax / (l + ax)) ** order
    return np.where(ax < 0.5, err, 1.0)


# the midpoint quadrature of the k disc for mesh_error
QUAD_RADII, QUAD_ANGLES = 256, 128


def mesh_error(steps: np.ndarray, width: float, order: int, density: float, mean_q2: float) -> float:
    """Estimated RMS force error / k_e of a grid with steps h_1, h_2 (rows of [2, 2], Å).

    SAFETY q² (ρ ∫_{|k|≤k_cut} d²k e^{−k²σ²} (ε(x_1) + ε(x_2))²)^½ with x_a = k·h_a / 2π,
    ε the alias amplitude of _alias_error, ρ atoms per Å², q² their mean square charge (e²).
    """
    kc = k_cut(width)
    dr, dt = kc / QUAD_RADII, 2.0 * math.pi / QUAD_ANGLES
    r = (np.arange(QUAD_RADII) + 0.5) * dr  # [R]
    t = (np.arange(QUAD_ANGLES) + 0.5) * dt  # [T]
    radial = r * np.exp(-r * r * width * width) * dr * dt  # [R]
    kvec = r[:, None, None] * np.stack([np.cos(t), np.sin(t)], -1)[None]  # [R, T, 2]
    x = kvec @ np.asarray(steps, dtype=np.float64).T / (2.0 * math.pi)  # [R, T, 2]
    eps = _alias_error(x[..., 0], order) + _alias_error(x[..., 1], order)  # [R, T]
    return SAFETY * mean_q2 * math.sqrt(density * float((radial[:, None] * eps * eps).sum()))


@dataclass(frozen=True)
class Mesh:
    order: int
    k1: int
    k2: int
    error: float  # mesh_error of this grid

    def describe(self, cell_ab: np.ndarray) -> str:
        h1 = np.linalg.norm(cell_ab[0]) / self.k1
        h2 = np.linalg.norm(cell_ab[1]) / self.k2
        return (f"mesh {self.k1} x {self.k2} (spacing {h1:.3f} x {h2:.3f} A), order {self.order}, "
                f"estimated RMS force error {self.error:.2g} k_e ({self.error * COULOMB:.2g} eV/A)")


def grid_for_order(cell_ab: np.ndarray, width: float, order: int, accuracy: float, density: float,
                   mean_q2: float) -> Mesh | None:
    """The smallest nice K1 x K2 grid with equal steps along a and b meeting `accuracy` (None: none)."""
    lengths = np.linalg.norm(cell_ab, axis=1)  # [2]

    def grid(h: float) -> tuple[int, int, float]:
        k1, k2 = (nice_size(math.ceil(length / h)) for length in lengths)
        steps = cell_ab / np.array([[k1], [k2]])
        return k1, k2, mesh_error(steps, width, order, density, mean_q2)

    # the error grows with the step h: bisect in h between a fine step that meets it and a
    # coarse one that does not (fractional steps of σ; a grid needs k_cut h < π to hold the disc)
    fine, coarse = 0.02 * width, 2.0 * math.pi / k_cut(width)
    if grid(fine)[2] > accuracy:
        return None
    for _ in range(40):
        mid = 0.5 * (fine + coarse)
        if grid(mid)[2] <= accuracy:
            fine = mid
        else:
            coarse = mid
        if coarse - fine < 1e-2 * fine:
            break
    k1, k2, err = grid(fine)
    return Mesh(order, k1, k2, err)


def mesh_cost(mesh: Mesh, n_atoms: int) -> float:
    """Relative cost of a step: p² grid points per atom spread and read back (4 numbers each),
    a real FFT forward and back (~5 M log₂ M) and the kernel product on the grid."""
    m = mesh.k1 * mesh.k2
    return 4.0 * n_atoms * mesh.order ** 2 + m * (5.0 * math.log2(m) + 10.0)


def choose_mesh(cell_ab: np.ndarray, width: float, accuracy: float, n_atoms: int, mean_q2: float,
                order: int | None = None) -> Mesh:
    """The cheapest (order, grid) meeting `accuracy` for n_atoms of mean square charge mean_q2
    in the cell, or the grid for a given order (remembered: MD asks again every step)."""
    cell = tuple(float(v) for v in np.asarray(cell_ab, dtype=np.float64).ravel())
    return _choose_mesh(cell, float(width), float(accuracy), int(n_atoms), float(mean_q2), order)


@functools.lru_cache(maxsize=64)
def _choose_mesh(cell: tuple, width: float, accuracy: float, n_atoms: int, mean_q2: float,
                 order: int | None) -> Mesh:
    cell_ab = np.array(cell).reshape(2, 2)
    if not 0.0 < accuracy < 1.0:
        raise ValueError(f"mesh accuracy {accuracy:g} must lie between 0 and 1 (an RMS force error relative "
                         "to two unit charges 1 A apart)")
    orders = [order] if order is not None else list(ORDERS)
    for p in orders:
        if not 4 <= p <= 10:
            raise ValueError(f"mesh order {p} must be 4 … 10 (the B-spline order)")
    density = n_atoms / abs(float(np.linalg.det(cell_ab)))
    meshes = [m for m in (grid_for_order(cell_ab, width, p, accuracy, density, mean_q2) for p in orders)
              if m is not None]
    if not meshes:
        raise ValueError(f"no mesh of order {orders} reaches a relative force error of {accuracy:g}")
    return min(meshes, key=lambda m: mesh_cost(m, n_atoms))


def bspline_weights(frac: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray]:
    """M_p(frac + j) and its derivative for j = 0 … p−1: ([n, p], [n, p]); frac in [0, 1).

    The grid point of weight j is floor(u) − j.
    """
    n = frac.shape[0]
    m = np.zeros((n, order))  # [n, p], M_k(frac + j) built up from k = 2
    m[:, 0] = frac  # M_2(x) = 1 − |x − 1|
    m[:, 1] = 1.0 - frac
    # M_k(x) = x/(k−1) M_{k−1}(x) + (k−x)/(k−1) M_{k−1}(x−1), x = frac + j
    deriv = None
    for k in range(3, order + 1):
        if k == order:
            # M_p'(x) = M_{p−1}(x) − M_{p−1}(x−1)
            prev = m[:, : k - 1]
            deriv = np.zeros((n, order))
            deriv[:, : k - 1] += prev
            deriv[:, 1:k] -= prev
        new = np.zeros((n, order))
        for j in range(k):
            x = frac + j
            left = m[:, j] if j < k - 1 else 0.0
            right = m[:, j - 1] if j >= 1 else 0.0
            new[:, j] = (x * left + (k - x) * right) / (k - 1)
        m = new
    if order == 2:
        deriv = np.stack([np.ones(n), -np.ones(n)], 1)
    return m, deriv


def bspline_modulus(order: int, size: int) -> np.ndarray:
    """|b(m)|² for m = 0 … size−1 (FFT order); 0 where the Euler spline sum vanishes."""
    # M_p at the integers 1 … p−1
    knots = bspline_weights(np.zeros(1), order)[0][0]  # [p]: M_p(j), j = 0 … p−1
    j = np.arange(order - 1)
    m = np.arange(size)
    phase = 2.0 * math.pi * np.outer(m, j) / size  # [size, p−1]
    values = knots[1:order]  # M_p(1) … M_p(p−1)
    den = (values * np.cos(phase)).sum(1) ** 2 + (values * np.sin(phase)).sum(1) ** 2
    return np.where(den > 1e-30, 1.0 / np.maximum(den, 1e-300), 0.0)


def mesh_modes(cell_ab: np.ndarray, width: float, mesh: Mesh):
    """Per rfft2 mode [K1, K2//2+1]: kx, ky, w(k)|B|², σ²+1/k², and the multiplicity (1 or 2)."""
    rec = 2.0 * math.pi * np.linalg.inv(cell_ab).T  # rows b1, b2
    m1 = np.fft.fftfreq(mesh.k1, 1.0 / mesh.k1).astype(np.int64)  # [K1]: 0 … K1/2−1, −K1/2 … −1
    m2 = np.arange(mesh.k2 // 2 + 1)  # [K2h]
    n1, n2 = np.meshgrid(m1, m2, indexing="ij")  # [K1, K2h]
    kx = n1 * rec[0, 0] + n2 * rec[1, 0]
    ky = n1 * rec[0, 1] + n2 * rec[1, 1]
    k2 = kx * kx + ky * ky
    keep = (k2 > 0.0) & (k2 <= k_cut(width) ** 2)
    if mesh.k1 % 2 == 0:
        keep &= n1 != -(mesh.k1 // 2)
    if mesh.k2 % 2 == 0:
        keep &= n2 != mesh.k2 // 2
    safe = np.where(keep, k2, 1.0)
    b2 = np.outer(bspline_modulus(mesh.order, mesh.k1), bspline_modulus(mesh.order, mesh.k2)[: mesh.k2 // 2 + 1])
    kernel = np.where(keep, 2.0 * math.pi * np.exp(-0.5 * safe * width * width) / np.sqrt(safe) * b2, 0.0)
    vfac = np.where(keep, width * width + 1.0 / safe, 0.0)
    mult = np.where(n2 == 0, 1.0, 2.0)  # rfft2 keeps m2 ≥ 0: the other half by symmetry
    return kx, ky, kernel, vfac, mult


def mesh_coulomb(positions, cell_ab: np.ndarray, charges, width: float, mesh: Mesh):
    """(energy, atom_energy [n], forces [n, 3], virial [3, 3]) of the sheet Coulomb on `mesh`."""
    positions = np.asarray(positions, dtype=np.float64)  # [n, 3]
    charges = np.asarray(charges, dtype=np.float64)  # [n]
    n = len(positions)
    p = mesh.order
    sizes = np.array([mesh.k1, mesh.k2])
    area = abs(float(np.linalg.det(cell_ab)))
    rec = 2.0 * math.pi * np.linalg.inv(cell_ab).T  # [2, 2] rows b1, b2
    frac = positions[:, :2] @ rec.T / (2.0 * math.pi)  # [n, 2]
    u = (frac - np.floor(frac)) * sizes  # [n, 2] in [0, K)
    base = np.floor(u).astype(np.int64)  # [n, 2]
    w1, d1 = bspline_weights(u[:, 0] - base[:, 0], p)  # [n, p]
    w2, d2 = bspline_weights(u[:, 1] - base[:, 1], p)
    j = np.arange(p)
    g1 = (base[:, :1] - j) % mesh.k1  # [n, p]
    g2 = (base[:, 1:] - j) % mesh.k2
    flat = (g1[:, :, None] * mesh.k2 + g2[:, None, :]).ravel()  # [n p p]
    theta = w1[:, :, None] * w2[:, None, :]  # [n, p, p]
    grid = np.bincount(flat, (charges[:, None, None] * theta).ravel(), mesh.k1 * mesh.k2)
    q_hat = np.fft.rfft2(grid.reshape(mesh.k1, mesh.k2))  # [K1, K2h]

    kx, ky, kernel, vfac, mult = mesh_modes(cell_ab, width, mesh)
    scale = COULOMB / area
    phi = scale * mesh.k1 * mesh.k2 * np.fft.irfft2(kernel * q_hat, s=(mesh.k1, mesh.k2))  # [K1, K2]
    phi_at = phi.ravel()[flat].reshape(n, p, p)  # [n, p, p]

    self_energy = COULOMB * math.sqrt(math.pi / 2.0) / (2.0 * width) * charges * charges  # [n]
    atom_energy = 0.5 * charges * (theta * phi_at).sum((1, 2)) - self_energy  # [n]
    du1 = (d1[:, :, None] * w2[:, None, :] * phi_at).sum((1, 2))  # [n] dΦ/du1 (per unit charge)
    du2 = (w1[:, :, None] * d2[:, None, :] * phi_at).sum((1, 2))
    grad = (du1[:, None] * (mesh.k1 * rec[0]) + du2[:, None] * (mesh.k2 * rec[1])) / (2.0 * math.pi)  # [n, 2]
    forces = np.zeros_like(positions)
    forces[:, :2] = -charges[:, None] * grad

    e_m = 0.5 * scale * mult * kernel * (q_hat.real ** 2 + q_hat.imag ** 2)  # [K1, K2h]
    virial = np.zeros((3, 3))
    total = e_m.sum()
    virial[0, 0] = total - (e_m * vfac * kx * kx).sum()
    virial[1, 1] = total - (e_m * vfac * ky * ky).sum()
    virial[0, 1] = virial[1, 0] = -(e_m * vfac * kx * ky).sum()
    return float(atom_energy.sum()), atom_energy, forces, virial
