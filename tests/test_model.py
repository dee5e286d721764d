"""Physics of the model itself: conservative forces, invariances, TorchScript = eager."""
import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from areanet.potential import AreaNetCalculator, export_model, load_model
from areanet.potential.neighbors import build_edges

from conftest import hbn_sheet, random_model

VARIANTS = [(order, dims) for order in ("high", "low") for dims in (2, 3)]


def energy(model, atoms):
    atoms = atoms.copy()
    atoms.calc = AreaNetCalculator(model)
    return atoms.get_potential_energy()


def rough_sheet(seed=0):
    # perturbed in and out of plane, strained with shear: no symmetry left to hide an error
    return hbn_sheet(perturb=0.04, z_perturb=0.05, strain=[[0.01, 0.005, 0], [0, -0.008, 0], [0, 0, 0]], seed=seed)


@pytest.mark.parametrize("order,dims", VARIANTS)
@pytest.mark.parametrize("scripted", [False, True])
def test_forces_are_minus_gradient(order, dims, scripted, tmp_path):
    model = random_model(order=order, dims=dims)
    if scripted:
        model = load_model(export_model(model, tmp_path / "m.pt"))
    atoms = rough_sheet()
    atoms.calc = AreaNetCalculator(model)
    forces = atoms.get_forces()
    h = 1e-5
    rng = np.random.default_rng(1)
    for i in rng.choice(len(atoms), 4, replace=False):
        for c in range(3):
            plus, minus = atoms.copy(), atoms.copy()
            plus.positions[i, c] += h
            minus.positions[i, c] -= h
            fd = -(energy(model, plus) - energy(model, minus)) / (2 * h)
            assert forces[i, c] == pytest.approx(fd, abs=1e-7, rel=1e-6)


@pytest.mark.parametrize("order,dims", VARIANTS)
def test_invariances(order, dims):
    model = random_model(order=order, dims=dims)
    atoms = rough_sheet(seed=3)
    e0 = energy(model, atoms)
    assert abs(e0) > 1e-3  # a non-trivial energy surface
    rng = np.random.default_rng(7)
    for seed in range(3):  # random 3D rotations (the sheet tilts out of the xy plane) + translation
        rot = Rotation.random(random_state=seed).as_matrix()
        moved = atoms.copy()
        moved.set_cell(atoms.cell.array @ rot.T)
        moved.positions = atoms.positions @ rot.T + rng.normal(size=3)
        assert energy(model, moved) == pytest.approx(e0, abs=1e-10)
    perm = rng.permutation(len(atoms))  # permutation of equal atoms (and of the atom order)
    assert energy(model, atoms[perm]) == pytest.approx(e0, abs=1e-10)
    mirrored = atoms.copy()  # the sheet's mirror plane z -> -z
    mirrored.positions[:, 2] *= -1
    assert energy(model, mirrored) == pytest.approx(e0, abs=1e-10)
    in_plane_mirror = atoms.copy()  # an improper operation in the plane: y -> -y
    in_plane_mirror.positions[:, 1] *= -1
    in_plane_mirror.cell[:, 1] *= -1
    assert energy(model, in_plane_mirror) == pytest.approx(e0, abs=1e-10)


def test_three_dimensional_mirror_needs_both_normal_signs():
    """6 frames per element (one sign of the normal) are not mirror-invariant in 3D; our 12 (both signs) are."""
    from areanet.potential import element

    model = random_model(dims=3)
    atoms = rough_sheet(seed=5)
    mirrored = atoms.copy()
    mirrored.positions[:, 2] *= -1
    e12 = energy(model, atoms), energy(model, mirrored)
    assert e12[0] == pytest.approx(e12[1], abs=1e-10)
    six = [k for k in range(model.frame_sz.shape[0]) if model.frame_sz[k] > 0]
    for name in ("frame_ref", "frame_sy", "frame_sz", "frame_order"):
        setattr(model, name, getattr(model, name)[six])
    e6 = energy(model, atoms), energy(model, mirrored)
    assert abs(e6[0] - e6[1]) > 1e-6


@pytest.mark.parametrize("centers", ["N", "B"])
def test_single_species_tiling(centers):
    model = random_model(centers=centers)
    atoms = rough_sheet()
    atoms.calc = AreaNetCalculator(model)
    per_atom = atoms.get_potential_energies()
    other = np.array(atoms.get_chemical_symbols()) != centers
    assert np.all(per_atom[other] == 0) and np.all(per_atom[~other] != 0)
    assert atoms.get_potential_energy() == pytest.approx(per_atom.sum())


def test_scripted_equals_eager(tmp_path):
    model = random_model()
    scripted = load_model(export_model(model, tmp_path / "m.pt"))
    atoms = rough_sheet(seed=2)
    edges = build_edges(atoms, model.cutoff, model.species)
    e1, g1 = model(edges.vec, edges.src, edges.edge_spec, edges.spec)
    e2, g2 = scripted(edges.vec, edges.src, edges.edge_spec, edges.spec)
    assert torch.allclose(e1, e2, rtol=0, atol=1e-12)
    assert torch.allclose(g1, g2, rtol=0, atol=1e-12)


def test_stress_is_strain_derivative():
    model = random_model()
    atoms = rough_sheet(seed=4)
    atoms.calc = AreaNetCalculator(model)
    stress = atoms.get_stress(voigt=False)
    volume = atoms.get_volume()
    h = 1e-6
    for a, b in [(0, 0), (1, 1), (0, 1), (2, 2), (0, 2)]:
        eps = np.zeros((3, 3))
        eps[a, b] = eps[b, a] = h / (1 if a == b else 2)
        values = []
        for sign in (1, -1):
            strained = atoms.copy()
            strained.set_cell(atoms.cell.array @ (np.eye(3) + sign * eps), scale_atoms=True)
            values.append(energy(model, strained))
        assert stress[a, b] == pytest.approx((values[0] - values[1]) / (2 * h) / volume, abs=1e-9)


def test_direct_force_model_cannot_be_exported(tmp_path):
    with pytest.raises(ValueError, match="non-conservative"):
        export_model(random_model(forces="direct"), tmp_path / "d.pt")
