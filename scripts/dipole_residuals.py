"""Do a local model's force errors follow the long-range field of the ions' dipoles?

    python scripts/dipole_residuals.py MODEL [DATA]   (default data/hbn_pbe_inplane.extxyz.gz)

For every frame of the in-plane protocol (a perfect sheet at a = 2.5198 Å, atoms displaced by
u), charges ±1 on B/N make dipoles p = ±u; their field at every atom, Gaussian-filtered over σ
(only its long-wavelength part: a reciprocal-space Ewald sum in the 12 Å-periodic cell), times
the atom's charge, is fitted to the force residuals F_DFT − F_model by one least-squares scale.
Prints, per σ, that scale, the correlation and the residual RMS before and after. The numbers
behind README's "Why the model is charged": run it on an uncharged (local) model.
"""
import sys

import ase.io
import numpy as np

from areanet.potential.calculator import AreaNetCalculator
from areanet.training.data.sheets import perfect_sheet
from areanet.training.fit.predict import load_any


def main(model: str, data: str = "data/hbn_pbe_inplane.extxyz.gz") -> None:
    frames = ase.io.read(data, ":")
    ideal = perfect_sheet(2.5198, nx=5, ny=3)
    if ideal.get_chemical_symbols() != frames[0].get_chemical_symbols():
        sys.exit(f"{data}: not the 60-atom in-plane protocol cells")
    calc = AreaNetCalculator(load_any(model))
    cell = frames[0].cell.array
    volume = abs(np.linalg.det(cell))
    rec = 2 * np.pi * np.linalg.inv(cell).T
    n = np.arange(-4, 5)
    k = np.array([i * rec[0] + j * rec[1] + m * rec[2] for i in n for j in n for m in n])
    k = k[np.linalg.norm(k, axis=1) > 1e-9]  # [K, 3]
    charge = np.where(np.array(ideal.get_chemical_symbols()) == "B", 1.0, -1.0)  # [n]
    rows = []
    for atoms in frames:
        u = atoms.positions - ideal.positions
        u -= np.round(u @ np.linalg.inv(cell)) @ cell  # [n, 3] displacement from the site
        probe = atoms.copy()
        probe.calc = calc
        rows.append((atoms.positions, u, atoms.get_forces() - probe.get_forces()))
    for sigma in (1.5, 2.0, 3.0, 4.0, 6.0):
        weight = np.exp(-(k**2).sum(1) * sigma**2 / 2) / (k**2).sum(1)  # [K]
        field, residual = [], []
        for positions, u, r in rows:
            dipoles = charge[:, None] * u  # [n, 3]
            rho = (-1j * (dipoles @ k.T) * np.exp(-1j * positions @ k.T)).sum(0)  # [K]
            e = -(4 * np.pi / volume) * np.real((np.exp(1j * positions @ k.T) * (weight * rho) * 1j) @ k)
            field.append(charge[:, None] * e)
            residual.append(r)
        g = np.concatenate(field)[:, :2].ravel()
        res = np.concatenate(residual)[:, :2].ravel()
        scale = (g @ res) / (g @ g)
        print(f"sigma {sigma:3.1f} Å: scale {scale:9.3f}  correlation {np.corrcoef(g, res)[0, 1]:+.3f}  "
              f"residual RMS {res.std():.4f} -> {np.std(res - scale * g):.4f} eV/Å")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(*sys.argv[1:])
