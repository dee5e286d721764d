"""The shell finder: right vertices on distorted sheets, clear errors where none exists."""
import numpy as np
import pytest
import torch
from ase import Atoms
from ase.build import make_supercell
from scipy.spatial.transform import Rotation

from areanet.potential import AreaNetCalculator
from areanet.potential.neighbors import build_edges

from conftest import hbn_sheet, random_model


def frame_vertex_atoms(model, atoms):
    """For each centre the set of its frame-ordered vertex atom lists (A…L per frame)."""
    edges = build_edges(atoms, model.cutoff, model.species)
    centres, slots = model.element_slots(edges.vec, edges.src, edges.edge_spec, edges.spec)
    vertex_atom = edges.dst[slots]  # [m, 12]
    ordered = vertex_atom[:, model.frame_order]  # [m, F, 12]
    return {int(c): {tuple(row.tolist()) for row in ordered[k]} for k, c in enumerate(centres)}


def ideal_template(b):
    """A…L of a perfect sheet in the frame of A (counter-clockwise)."""
    points = []
    for k in range(3):
        phi = np.radians(120 * k)
        rot = np.array([[np.cos(phi), -np.sin(phi)], [np.sin(phi), np.cos(phi)]])
        local = [(b, 0), (np.sqrt(3) * b * np.cos(np.radians(30)), np.sqrt(3) * b * np.sin(np.radians(30))),
                 (2 * b * np.cos(np.radians(60)), 2 * b * np.sin(np.radians(60))),
                 (np.sqrt(3) * b * np.cos(np.radians(90)), np.sqrt(3) * b * np.sin(np.radians(90)))]
        points += [rot @ np.array(p) for p in local]
    return np.array(points)  # [12, 2]


def test_perfect_sheet_matches_paper_labelling():
    model = random_model(dims=3)
    atoms = hbn_sheet()
    edges = build_edges(atoms, model.cutoff, model.species)
    centres, slots = model.element_slots(edges.vec, edges.src, edges.edge_spec, edges.spec)
    coords = model.features(edges.vec[slots]).reshape(len(centres), -1, 12, 3)  # [m, F, 12, 3]
    template = ideal_template(2.505 / np.sqrt(3))
    assert np.allclose(coords[..., :2].numpy(), template[None, None], atol=1e-9)
    assert np.allclose(coords[..., 2].numpy(), 0, atol=1e-12)


def hexagonal_sheet(a=2.505, reps=((5, 1, 0), (2, 4, 0), (0, 0, 1))):
    """The 2-atom primitive (triclinic, 120°) cell, repeated by a general integer matrix."""
    b = a / np.sqrt(3)
    cell = [[a, 0, 0], [-a / 2, a * np.sqrt(3) / 2, 0], [0, 0, 12]]
    prim = Atoms("BN", positions=[[0, 0, 6], [0, b, 6]], cell=cell, pbc=True)
    return make_supercell(prim, np.array(reps))


@pytest.mark.parametrize("case", ["perturbed", "strained", "triclinic", "rotated"])
def test_labels_survive_distortion(case):
    model = random_model(dims=3)
    base = hexagonal_sheet() if case == "triclinic" else hbn_sheet()
    rng = np.random.default_rng(0)
    moved = base.copy()
    if case in ("perturbed", "triclinic"):
        bond = 2.505 / np.sqrt(3)
        moved.positions += rng.uniform(-1, 1, (len(base), 3)) * [0.075 * bond, 0.075 * bond, 0.075 * bond]
    elif case == "strained":
        moved.set_cell(base.cell.array @ np.array([[1.05, 0.02, 0], [0, 0.96, 0], [0, 0, 1]]), scale_atoms=True)
    else:
        rot = Rotation.from_euler("xyz", [40, -25, 70], degrees=True).as_matrix()
        moved.set_cell(base.cell.array @ rot.T)
        moved.positions = base.positions @ rot.T
    assert frame_vertex_atoms(model, moved) == frame_vertex_atoms(model, base)


def expect_error(atoms, pattern, model=None):
    atoms.calc = AreaNetCalculator(model or random_model())
    with pytest.raises(RuntimeError, match=pattern):
        atoms.get_potential_energy()


def test_vacancy_names_the_atom():
    atoms = hbn_sheet()
    del atoms[5]  # an N atom: its B neighbours lose a first-shell atom
    expect_error(atoms, r"centre index \d+ \([BN]\): found [56] other-species and [56] same-species")


def test_edge_atoms_have_no_element():
    atoms = hbn_sheet()
    atoms.pbc = [False, True, True]
    expect_error(atoms, r"no complete area element at centre index \d+")


def test_isolated_atom():
    atoms = Atoms("BN", positions=[[0, 0, 0], [1.45, 0, 0]], cell=[20, 20, 20], pbc=True)
    expect_error(atoms, r"centre index 0 \(B\): found 1 other-species and 0 same-species")


def test_wrong_species_map():
    atoms = hbn_sheet()
    atoms.set_chemical_symbols(["B"] * len(atoms))
    expect_error(atoms, r"centre index 0 \(B\): found 0 other-species and 12 same-species")


def test_unknown_species():
    atoms = hbn_sheet()
    atoms[0].symbol = "C"
    with pytest.raises(ValueError, match=r"species \['C'\]"):
        expect_error(atoms, "never")


def single_element(child_angles=None, third_angles=None, b=1.446):
    """Edges of one B centre (index 0) whose 12 neighbours sit at the given angles (degrees)."""
    child_angles = child_angles or [a + d for a in (0, 120, 240) for d in (-30, 30)]
    third_angles = third_angles or [60, 180, 300]
    polar = [(b, a) for a in (0, 120, 240)] + [(np.sqrt(3) * b, a) for a in child_angles] + \
            [(2 * b, a) for a in third_angles]
    vec = torch.tensor([[r * np.cos(np.radians(a)), r * np.sin(np.radians(a)), 0.0] for r, a in polar])
    spec = torch.tensor([0] + [1] * 3 + [0] * 6 + [1] * 3)  # atom 0 = centre, then its neighbours
    return vec, torch.zeros(12, dtype=torch.long), spec[1:], spec


@pytest.mark.parametrize("shell,kwargs", [
    ("6 second-shell", {"child_angles": [20, 40, 90, 150, 210, 270]}),
    ("3 third-shell", {"third_angles": [50, 70, 300]}),
])
def test_overlapping_shells(shell, kwargs):
    from areanet.potential.element import find_element_slots

    vec, src, edge_spec, spec = single_element(**kwargs)
    ok_vec, *_ = single_element()
    centre = torch.tensor([0])
    slots = find_element_slots(ok_vec, src, edge_spec, spec, centre, ["B", "N"], 3.6)  # regular: passes
    assert sorted(slots[0].tolist()) == list(range(12))
    with pytest.raises(RuntimeError, match=rf"centre index 0 \(B\): the {shell} atoms .* overlap"):
        find_element_slots(vec, src, edge_spec, spec, centre, ["B", "N"], 3.6)


@pytest.mark.parametrize("make", [
    lambda: hbn_sheet(perturb=0.04, z_perturb=0.04),
    lambda: hbn_sheet(nx=1, ny=1, perturb=0.05),  # a 4-atom cell: atoms meet their own images
    lambda: hexagonal_sheet(),  # triclinic
    lambda: hbn_sheet(nx=1, ny=1, vacuum=3.0),  # images along z inside the cutoff too
])
def test_small_cell_neighbours_equal_ase(make):
    from ase.neighborlist import neighbor_list

    from areanet.potential.neighbors import image_pairs

    atoms = make()
    ours = image_pairs(atoms, 3.6)
    ase = neighbor_list("ijD", atoms, 3.6)

    def rows(i, j, d):
        return sorted(zip(i.tolist(), j.tolist(), np.round(d, 9).tolist()))

    assert len(ours[0]) > 0 and rows(*ours) == rows(*ase)
