"""The structures everything starts from: the perfect h-BN monolayer in its rectangular cell.

Below the protocols (generate), the classical reference (its relaxed lattice constant), the
sampler and the validation, which all build on it.
"""
from __future__ import annotations

import math

from ase import Atoms

CELL_HEIGHT = 12.0  # Å
SHEET_Z = 6.0  # Å


def perfect_sheet(a: float, nx: int = 5, ny: int = 3, height: float = CELL_HEIGHT,
                  z: float = SHEET_Z):
    """The perfect h-BN monolayer of ``nx × ny`` rectangular 4-atom cells (4·nx·ny atoms)."""
    b = a / math.sqrt(3.0)
    motif = [("B", 0.0, 0.0), ("N", 0.0, b), ("B", a / 2, 1.5 * b), ("N", a / 2, 2.5 * b)]
    symbols, positions = [], []
    for i in range(nx):
        for j in range(ny):
            for s, x, y in motif:
                symbols.append(s)
                positions.append((x + i * a, y + j * 3.0 * b, z))
    cell = [[nx * a, 0.0, 0.0], [0.0, ny * 3.0 * b, 0.0], [0.0, 0.0, height]]
    return Atoms(symbols, positions=positions, cell=cell, pbc=True)
