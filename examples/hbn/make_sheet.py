#!/usr/bin/env python
"""Write a LAMMPS data file of a flat h-BN monolayer for the examples (and the plugin tests).

    python examples/hbn/make_sheet.py --atoms 960 -o sheet-960.data
    python examples/hbn/make_sheet.py --nx 20 --ny 12 --a 2.52 -o sheet.data --xyz sheet.extxyz

The sheet is the orthorhombic 4-atom cell (a × √3·a, two B and two N, bond b = a/√3)
replicated nx × ny times in the xy plane, with vacuum along z; N = 4·nx·ny atoms. With
``--atoms N`` the replication closest to a square sheet is chosen (960 → 20 × 12,
15360 → 80 × 48). Lattice constant: 2.505 Å is the ExTeP minimum (the default), 2.5198 Å
our PBE one. Atom types: 1 = B, 2 = N (``pair_coeff * * model.pt B N``).

``write_lammps_data`` (areanet's ``training/data/lammps_data.py``) writes any ASE ``Atoms``
(any cell, triclinic included) exactly: the cell in LAMMPS' restricted-triclinic frame,
every number in Python's shortest round-trip form, so LAMMPS reads back the very same
doubles. ``lammps_frame`` returns the structure in that frame, which is what LAMMPS computes
on (tests compare against it).
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
from ase import Atoms

# the writer lives in areanet (the venv's package); re-exported for the examples and tests
from areanet.training.data.lammps_data import lammps_frame, write_lammps_data  # noqa: F401

A_EXTEP = 2.505  # Å, lattice constant at the ExTeP minimum
A_PBE = 2.5198  # Å, our PBE value


def hbn_sheet(nx: int, ny: int, a: float = A_EXTEP, vacuum: float = 20.0) -> Atoms:
    """Flat h-BN sheet of nx × ny orthorhombic 4-atom cells; the cell height is ``vacuum``."""
    if nx < 1 or ny < 1:
        raise ValueError("nx and ny must be at least 1")
    b = a / math.sqrt(3.0)  # bond length
    h = math.sqrt(3.0) * a  # height of the orthorhombic cell
    unit = np.array(
        [[0.0, 0.0, 0.0], [0.5 * a, 0.5 * h, 0.0], [0.0, b, 0.0], [0.5 * a, 0.5 * h + b, 0.0]]
    )  # B, B, N, N
    cell = Atoms("B2N2", positions=unit, cell=[a, h, vacuum], pbc=True)
    sheet = cell.repeat((nx, ny, 1))
    sheet.positions[:, 2] = 0.5 * vacuum
    return sheet


def square_replication(n_atoms: int) -> tuple[int, int]:
    """(nx, ny) with 4·nx·ny = n_atoms and nx·a as close as possible to ny·√3·a."""
    if n_atoms % 4 or n_atoms <= 0:
        raise ValueError(f"{n_atoms} atoms: the orthorhombic cell holds 4, so N must be a multiple of 4")
    cells = n_atoms // 4
    pairs = [(cells // ny, ny) for ny in range(1, cells + 1) if cells % ny == 0]
    return min(pairs, key=lambda p: abs(math.log(p[0] / (math.sqrt(3.0) * p[1]))))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    size = p.add_mutually_exclusive_group(required=True)
    size.add_argument("--atoms", type=int, help="number of atoms (multiple of 4)")
    size.add_argument("--nx", type=int, help="orthorhombic cells along x (with --ny)")
    p.add_argument("--ny", type=int, help="orthorhombic cells along y (with --nx)")
    p.add_argument("--a", type=float, default=A_EXTEP, help=f"lattice constant in Å (default {A_EXTEP})")
    p.add_argument("--vacuum", type=float, default=20.0, help="cell height along z in Å (default 20)")
    p.add_argument("-o", "--output", required=True, help="LAMMPS data file to write")
    p.add_argument("--xyz", help="also write the sheet as extended XYZ")
    args = p.parse_args(argv)
    if args.atoms is not None:
        try:
            nx, ny = square_replication(args.atoms)
        except ValueError as err:
            p.error(str(err))
    else:
        if args.ny is None:
            p.error("--nx needs --ny")
        nx, ny = args.nx, args.ny
    sheet = hbn_sheet(nx, ny, args.a, args.vacuum)
    write_lammps_data(args.output, sheet, title=f"h-BN ({len(sheet)} atoms) written by examples/hbn/make_sheet.py")
    if args.xyz:
        sheet.write(args.xyz, format="extxyz")
    lx, ly = sheet.cell[0, 0], sheet.cell[1, 1]
    print(f"{args.output}: {len(sheet)} atoms ({nx} x {ny} cells, a = {args.a} Å, {lx:.3f} x {ly:.3f} Å)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
