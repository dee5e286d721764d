"""LAMMPS data files (``atom_style atomic``) of ASE structures, written exactly.

The cell is expressed in LAMMPS' restricted-triclinic frame (a along x, b in the xy plane;
``reference.lammps_cell``) and every number is written with Python's shortest round-trip
representation, so LAMMPS reads back the very same doubles. ``lammps_frame`` is the structure
in that frame: what LAMMPS computes on, and what its dumps come back in.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
from ase import Atoms

from .reference import MASSES, SPECIES, lammps_cell


def lammps_frame(atoms: Atoms) -> Atoms:
    """The same structure rotated into LAMMPS' restricted-triclinic frame: cell rows A, B, C
    become (lx,0,0), (xy,ly,0), (xz,yz,lz); positions follow through their fractional
    coordinates, so every distance is unchanged. A left-handed cell is an error."""
    lower, _ = lammps_cell(atoms.cell.array)  # [3, 3]
    frac = np.linalg.solve(atoms.cell.array.T, atoms.positions.T).T  # [n_atoms, 3]
    out = atoms.copy()
    out.set_cell(lower, scale_atoms=False)
    out.positions = frac @ lower
    out.pbc = True
    return out


def write_lammps_data(path: str | Path, atoms: Atoms, type_order: Sequence[str] = SPECIES,
                      title: str = "") -> Atoms:
    """Write ``atoms`` as an atom_style atomic data file (type k + 1 = ``type_order[k]``);
    returns the structure LAMMPS sees (``lammps_frame``)."""
    framed = lammps_frame(atoms)
    symbols = framed.get_chemical_symbols()
    unknown = sorted(set(symbols) - set(type_order))
    if unknown:
        raise ValueError(f"species {unknown} have no atom type (types: {list(type_order)})")
    (lx, _, _), (xy, ly, _), (xz, yz, lz) = (map(float, row) for row in framed.cell.array)
    lines = [title or f"h-BN ({len(framed)} atoms) written by areanet", "",
             f"{len(framed)} atoms", f"{len(type_order)} atom types", "",
             f"0.0 {lx!r} xlo xhi", f"0.0 {ly!r} ylo yhi", f"0.0 {lz!r} zlo zhi"]
    if any(abs(t) > 0.0 for t in (xy, xz, yz)):
        lines.append(f"{xy!r} {xz!r} {yz!r} xy xz yz")
    lines += ["", "Masses", ""]
    lines += [f"{k + 1} {MASSES.get(s, 1.0)!r}  # {s}" for k, s in enumerate(type_order)]
    lines += ["", "Atoms # atomic", ""]
    lines += [f"{i + 1} {type_order.index(s) + 1} {float(x)!r} {float(y)!r} {float(z)!r}"
              for i, (s, (x, y, z)) in enumerate(zip(symbols, framed.positions))]
    Path(path).write_text("\n".join(lines) + "\n")
    return framed
