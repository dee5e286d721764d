"""Layers: what keeps an area element inside one sheet (the ASE side of
lammps_plugin/areanet_layers.h; the same rules, the same threshold).

An area element is one sheet's: its 12 vertices are the nearest atoms by rank within
species, so in a bilayer squeezed below ~2.9 Å the atoms of the other sheet would outrank
the third shell, and at 3.3 Å they sit inside the 3.6 Å cutoff beside it.

* Layer labels come from ``atoms.arrays['mol-id']`` (what ASE's ``lammps-data`` reader
  writes for ``atom_style full``: the molecule ID is the layer, the convention of LAMMPS'
  ``ilp/graphene/hbn`` and ``coul/shield``) or else from the tags, when any is non-zero.
  A centre's edges then go to atoms of its own layer only, and a charged model's sheet
  Coulomb is summed per layer (the interlayer electrostatics belong to the interlayer
  potential). Without labels the structure is one sheet, as before.
* Whatever the labels, an edge i → j joins two sheets when i and j each lie in a flat sheet
  (the atom and its second shell within ``OFF_PLANE_HEIGHT``/2 of the plane of its first
  shell: through its 3 nearest other-species neighbours a, e, i, normal n ∝ a×e + e×i + i×a)
  and each lies more than ``OFF_PLANE_HEIGHT`` from the other's plane, the two planes
  parallel (normals within 30°): ValueError naming both atoms and the fix. Parallel, because
  one curved sheet whose neighbour j lies h above i's plane at a chord d has normals tilted
  by 2 asin(h/d) — more than 49° for h > 1.5 Å at d ≤ 3.6 Å (a compressed 60-atom cell at
  2000 K bends this far) — while the layers of a bilayer stay parallel. A lone atom leaving the sheet is far from its own plane, and its
  neighbours' planes tilt away from their second shells: neither is taken for another
  sheet, and the model names an incomplete element as before. 1.5 Å lies between what one sheet reaches inside
  the cutoff (< 0.25 Å in the 3D training data; 1.3 Å for a sheet bent to a 5 Å radius)
  and a bilayer squeezed to 2.8 Å.
"""
from __future__ import annotations

import numpy as np
import torch
from ase import Atoms

from .neighbors import Edges
from .sheet_coulomb import model_charges, sheet_coulomb, structure_coulomb

OFF_PLANE_HEIGHT = 1.5  # Å, as OFF_PLANE_HEIGHT in lammps_plugin/areanet_layers.h
PARALLEL_PLANES_COS = np.cos(np.radians(30.0))  # as PARALLEL_PLANES_COS there


def atom_layers(atoms: Atoms) -> tuple[np.ndarray | None, str]:
    """(layer label per atom [n] or None, where the labels come from)."""
    if "mol-id" in atoms.arrays:
        return np.asarray(atoms.arrays["mol-id"]).astype(np.int64).ravel(), "atoms.arrays['mol-id']"
    tags = atoms.get_tags()
    if np.any(tags != 0):
        return np.asarray(tags, dtype=np.int64), "the tags"
    return None, ""


def same_layer_edges(edges: Edges, layers: np.ndarray | None) -> Edges:
    """The edges whose two atoms carry the same layer label (all of them without labels)."""
    if layers is None:
        return edges
    label = torch.from_numpy(layers)
    keep = label[edges.src] == label[edges.dst]  # [E]
    return Edges(vec=edges.vec[keep], src=edges.src[keep], dst=edges.dst[keep], spec=edges.spec)


def _nearest(vec: np.ndarray, src: np.ndarray, mask: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(centres with at least k edges in ``mask``, [C, k] their k nearest such edges)."""
    edges = np.nonzero(mask)[0]
    if len(edges) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros((0, k), dtype=np.int64)
    dist2 = np.einsum("ec,ec->e", vec[edges], vec[edges])
    order = edges[np.lexsort((dist2, src[edges]))]  # by centre, then distance
    centres, first = np.unique(src[order], return_index=True)
    full = np.diff(np.append(first, len(order))) >= k
    centres, first = centres[full], first[full]
    return centres, order[first[:, None] + np.arange(k)[None, :]]


def first_shell_planes(vec: np.ndarray, src: np.ndarray, other: np.ndarray,
                       n_centres: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(unit normal [n, 3], plane [n], flat [n]) of each centre's first shell: the plane
    through its 3 nearest other-species neighbours a, e, i with n ∝ a×e + e×i + i×a, at signed
    distance plane = a·n from the centre; flat = the largest distance from it of the centre
    and its second shell (6 nearest of its species). inf (and a zero normal) without 3 + 6.

    ``vec`` [E, 3] r_j − r_i, ``src`` [E] centre index in [0, n_centres), ``other`` [E] True
    where j is of the other species.
    """
    unit = np.zeros((n_centres, 3))
    plane = np.full(n_centres, np.inf)
    flat = np.full(n_centres, np.inf)
    centres, first = _nearest(vec, src, other, 3)
    if len(centres):
        a, e, i = vec[first[:, 0]], vec[first[:, 1]], vec[first[:, 2]]  # [C, 3] each
        normal = np.cross(a, e) + np.cross(e, i) + np.cross(i, a)  # [C, 3]
        norm = np.linalg.norm(normal, axis=1)
        good = norm > 0.0
        unit[centres[good]] = normal[good] / norm[good, None]
        plane[centres[good]] = np.einsum("cx,cx->c", a[good], unit[centres[good]])
    with_second, second = _nearest(vec, src, ~other, 6)
    if len(with_second):
        heights = np.abs(np.einsum("ckx,cx->ck", vec[second], unit[with_second]) - plane[with_second, None])
        flat[with_second] = np.maximum(np.abs(plane[with_second]), heights.max(axis=1))  # inf stays inf
    return unit, plane, flat


def off_plane_edge(vec: np.ndarray, src: np.ndarray, normal: np.ndarray, plane: np.ndarray, flat: np.ndarray,
                   neighbour_normal: np.ndarray, neighbour_plane: np.ndarray, neighbour_flat: np.ndarray,
                   height: float = OFF_PLANE_HEIGHT) -> tuple[int, float]:
    """(first edge of the lowest centre joining two sheets, the distance of its neighbour from
    the centre's plane), or (−1, 0.0). Two sheets: centre and neighbour each flat (``flat`` ≤
    height/2), each more than ``height`` from the other's plane, their planes parallel.
    ``neighbour_*`` [E]: j's (a zero normal skips the reverse and parallel tests: j unknown but
    taken to be flat)."""
    in_sheet = 0.5 * height
    h = np.abs(np.einsum("ec,ec->e", vec, normal[src]) - plane[src])  # [E] j from i's plane
    back = np.abs(-np.einsum("ec,ec->e", vec, neighbour_normal) - neighbour_plane)  # [E] i from j's
    parallel = np.abs(np.einsum("ec,ec->e", normal[src], neighbour_normal)) >= PARALLEL_PLANES_COS  # [E]
    known = np.any(neighbour_normal != 0.0, axis=1)
    with np.errstate(invalid="ignore"):
        bad = np.nonzero((flat[src] <= in_sheet) & (neighbour_flat <= in_sheet) & (h > height)
                         & (~known | ((back > height) & parallel)))[0]
    if len(bad) == 0:
        return -1, 0.0
    k = int(bad[np.lexsort((bad, src[bad]))[0]])
    return k, float(h[k])


def check_sheets(atoms: Atoms, edges: Edges, layers: np.ndarray | None, source: str, cutoff: float) -> None:
    """ValueError naming two atoms when an edge joins two sheets (see the module docstring)."""
    spec, src, dst, vec = edges.spec.numpy(), edges.src.numpy(), edges.dst.numpy(), edges.vec.numpy()
    normal, plane, flat = first_shell_planes(vec, src, spec[src] != spec[dst], len(atoms))
    k, h = off_plane_edge(vec, src, normal, plane, flat, normal[dst], plane[dst], flat[dst])
    if k < 0:
        return
    i, j = int(edges.src[k]), int(edges.dst[k])
    d = float(torch.linalg.norm(edges.vec[k]))
    where = (f"atom {j} ({atoms[j].symbol}) lies {h:.3f} Å off the local plane of atom {i} ({atoms[i].symbol}; "
             f"the plane of its first shell), {d:.3f} Å apart, inside the {cutoff:g} Å cutoff, and each lies in "
             "a flat sheet of its own, off the other's")
    fix = ("give each layer its own label in atoms.arrays['mol-id'] (what ASE's lammps-data reader writes "
           "from atom_style full) or in the tags (atoms.set_tags)")
    if layers is not None:
        raise ValueError(f"areanet: atoms {i} and {j} share layer {int(layers[i])} (from {source}) but belong to "
                         f"different sheets: {where}, so the area element of atom {i} would take atoms of two "
                         f"layers; {fix}")
    raise ValueError(f"areanet: {where}: the structure holds more than one sheet, and an area element must not "
                     f"mix layers; {fix}")


def layered_coulomb(model, atoms: Atoms, layers: np.ndarray | None):
    """structure_coulomb summed layer by layer (energy, atom_energy, forces, virial), or None
    for an uncharged model: each layer's sheet Coulomb is that of an isolated sheet."""
    if layers is None:
        return structure_coulomb(model, atoms)
    charges, width = model_charges(model)
    if not np.any(charges != 0.0):
        return None
    species = list(model.species)
    q = charges[np.array([species.index(s) for s in atoms.get_chemical_symbols()])]  # [n]
    energy, atom_energy = 0.0, np.zeros(len(atoms))
    forces, virial = np.zeros((len(atoms), 3)), np.zeros((3, 3))
    for label in np.unique(layers):
        members = np.nonzero(layers == label)[0]
        e, ea, f, w = sheet_coulomb(atoms.positions[members], atoms.cell.array, q[members], width, atoms.pbc)
        energy += e
        atom_energy[members] = ea
        forces[members] = f
        virial += w
    return energy, atom_energy, forces, virial
