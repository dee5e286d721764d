"""The long-range sheet Coulomb of charged models (potential/sheet_coulomb.py) and its hosts."""
import math

import numpy as np
import pytest
import torch
from ase import Atoms

from areanet.potential import AreaNet, AreaNetCalculator, ModelConfig, export_model
from areanet.potential.export import load_model, native_arrays
from areanet.potential.sheet_coulomb import COULOMB, model_charges, sheet_coulomb
from areanet.training.errors import UserError
from areanet.training.fit.config import TrainConfig

from conftest import hbn_sheet, random_model

WIDTH = 2.0


def charges_of(atoms, q=1.5):
    return np.where(np.array(atoms.get_chemical_symbols()) == "B", q, -q)


def rippled_sheet(**kw):
    return hbn_sheet(perturb=0.05, z_perturb=0.05, strain=[[0.01, 0.004, 0], [0.004, -0.008, 0], [0, 0, 0]], **kw)


def test_forces_are_minus_gradient():
    atoms = rippled_sheet(seed=1)
    q = charges_of(atoms)
    _, _, forces, _ = sheet_coulomb(atoms.positions, atoms.cell.array, q, WIDTH)
    assert np.abs(forces).max() > 0.05 and np.all(forces[:, 2] == 0.0)
    d = 1e-5
    for i, axis in [(0, 0), (7, 1), (31, 0), (44, 2)]:
        pos = atoms.positions.copy()
        pos[i, axis] += d
        plus = sheet_coulomb(pos, atoms.cell.array, q, WIDTH)[0]
        pos[i, axis] -= 2 * d
        minus = sheet_coulomb(pos, atoms.cell.array, q, WIDTH)[0]
        assert forces[i, axis] == pytest.approx(-(plus - minus) / (2 * d), abs=1e-8)


def test_virial_is_minus_strain_derivative():
    atoms = rippled_sheet(seed=2)
    atoms.set_cell(atoms.cell.array + [[0, 0, 0], [0.9, 0, 0], [0, 0, 0]], scale_atoms=True)  # xy tilt
    q = charges_of(atoms)
    _, _, _, virial = sheet_coulomb(atoms.positions, atoms.cell.array, q, WIDTH)

    def energy(strain):
        deform = np.eye(3) + strain
        return sheet_coulomb(atoms.positions @ deform, atoms.cell.array @ deform, q, WIDTH)[0]

    d = 1e-6
    for a, b in [(0, 0), (1, 1), (0, 1), (2, 2)]:
        strain = np.zeros((3, 3))
        strain[a, b] = strain[b, a] = d if a == b else d / 2
        numeric = -(energy(strain) - energy(-strain)) / (2 * d)
        assert 0.5 * (virial[a, b] + virial[b, a]) == pytest.approx(numeric, rel=1e-6, abs=1e-8)
    assert np.all(virial[2] == 0.0) and np.all(virial[:, 2] == 0.0)


def test_invariances_and_extensivity():
    atoms = rippled_sheet(seed=3)
    q = charges_of(atoms)
    energy, atom_energy, forces, _ = sheet_coulomb(atoms.positions, atoms.cell.array, q, WIDTH)
    assert atom_energy.sum() == pytest.approx(energy, rel=1e-14)
    # translation (heights play no part), rotation about z, mirror, permutation
    shifted = atoms.positions + [3.1, -1.7, 0.0] + np.outer(np.arange(len(atoms)) % 3, [0, 0, 0.2])
    assert sheet_coulomb(shifted, atoms.cell.array, q, WIDTH)[0] == pytest.approx(energy, rel=1e-12)
    t = 0.7
    rot = np.array([[math.cos(t), -math.sin(t), 0], [math.sin(t), math.cos(t), 0], [0, 0, 1]])
    e_rot, _, f_rot, _ = sheet_coulomb(atoms.positions @ rot.T, atoms.cell.array @ rot.T, q, WIDTH)
    assert e_rot == pytest.approx(energy, rel=1e-12)
    assert np.allclose(f_rot, forces @ rot.T, atol=1e-11)
    mirror = np.diag([-1.0, 1.0, 1.0])
    assert sheet_coulomb(atoms.positions @ mirror, atoms.cell.array @ mirror, q, WIDTH)[0] == pytest.approx(energy, rel=1e-12)
    perm = np.random.default_rng(0).permutation(len(atoms))
    e_perm, _, f_perm, _ = sheet_coulomb(atoms.positions[perm], atoms.cell.array, q[perm], WIDTH)
    assert e_perm == pytest.approx(energy, rel=1e-12) and np.allclose(f_perm, forces[perm], atol=1e-12)
    # a 2 × 3 supercell holds 6 times the energy: the k set and the area scale with the cell
    big = atoms.repeat((2, 3, 1))
    assert sheet_coulomb(big.positions, big.cell.array, charges_of(big), WIDTH)[0] == pytest.approx(6 * energy, rel=1e-10)


@pytest.mark.parametrize("r", [1.45, 3.0, 12.0])
def test_two_charges_in_a_wide_cell_follow_the_smoothed_kernel(r):
    """+q and −q at distance r in a cell 40 r wide: E = −k_e q² φ(r), φ the 2D Gaussian-smoothed
    1/r, φ(r) = √(π/2)/σ exp(−x) I0(x) with x = r²/4σ² (→ 1/r far away); the periodic images of
    the dipole add ~(r/L)³ ≈ 2e-5 of it."""
    q, length = 1.3, max(40.0 * r, 100.0)
    cell = np.diag([length, length, 15.0])
    pos = np.array([[10.0, 20.0, 7.0], [10.0 + r, 20.0, 7.3]])
    energy = sheet_coulomb(pos, cell, [q, -q], WIDTH)[0]
    x = r * r / (4 * WIDTH * WIDTH)
    phi = math.sqrt(math.pi / 2) / WIDTH * math.exp(-x) * float(np.i0(x))
    assert energy == pytest.approx(-COULOMB * q * q * phi, rel=2e-4)
    if r > 10:
        assert phi == pytest.approx(1 / r, rel=0.02)  # 1.5 % above 1/r at 12 Å = 6σ


def test_cell_must_be_a_sheet():
    atoms = hbn_sheet()
    q = charges_of(atoms)
    with pytest.raises(ValueError, match="periodic along x and y"):
        sheet_coulomb(atoms.positions, atoms.cell.array, q, WIDTH, pbc=(True, False, False))
    tilted = atoms.cell.array.copy()
    tilted[0, 2] = 0.3
    with pytest.raises(ValueError, match="xy plane"):
        sheet_coulomb(atoms.positions, tilted, q, WIDTH)


def charged_pair(charge=1.2):
    """A charged model and the same weights without charge."""
    local = random_model(seed=5)
    charged = AreaNet(ModelConfig(charge=charge, charge_width=WIDTH))
    charged.load_state_dict(local.state_dict())
    return charged.eval(), local


def test_calculator_adds_the_term_to_the_local_model(tmp_path):
    charged, local = charged_pair()
    path = export_model(charged, tmp_path / "charged.pt")
    module = load_model(path)
    assert int(module.format_version) == 2 and list(module.species_charges) == [1.2, -1.2]
    assert model_charges(module)[1] == WIDTH
    arrays = native_arrays(module)
    assert arrays["species_charges"].tolist() == [1.2, -1.2] and float(arrays["charge_width"]) == WIDTH
    assert "species_charges" not in native_arrays(local)
    atoms = rippled_sheet(seed=4)
    with_term, without = atoms.copy(), atoms.copy()
    with_term.calc, without.calc = AreaNetCalculator(path), AreaNetCalculator(local)
    energy, atom_energy, forces, virial = sheet_coulomb(atoms.positions, atoms.cell.array, charges_of(atoms, 1.2), WIDTH)
    assert with_term.get_potential_energy() == pytest.approx(without.get_potential_energy() + energy, rel=1e-12)
    assert np.allclose(with_term.get_potential_energies(), without.get_potential_energies() + atom_energy, atol=1e-10)
    assert np.allclose(with_term.get_forces(), without.get_forces() + forces, atol=1e-10)
    volume = atoms.get_volume()
    expected = without.get_stress(voigt=False) - virial / volume  # ASE stress = +∂E/∂ε / V, W = −∂E/∂ε
    assert np.allclose(with_term.get_stress(voigt=False), expected, atol=1e-12)
    # ... and the in-plane stress is the strain derivative of the total energy
    def total_energy(strain):
        probe = atoms.copy()
        probe.set_cell(atoms.cell.array @ (np.eye(3) + strain), scale_atoms=True)
        probe.calc = AreaNetCalculator(path)
        return probe.get_potential_energy()

    for a, b in [(0, 0), (1, 1), (0, 1)]:
        strain = np.zeros((3, 3))
        strain[a, b] = strain[b, a] = 1e-6 if a == b else 5e-7
        numeric = (total_energy(strain) - total_energy(-strain)) / 2e-6 / volume
        assert with_term.get_stress(voigt=False)[a, b] == pytest.approx(numeric, rel=1e-5, abs=1e-9)
    # ... and the total forces are the gradient of the total energy
    d = 1e-5
    probe = atoms.copy()
    probe.calc = AreaNetCalculator(path)
    probe.positions[9, 1] += d
    plus = probe.get_potential_energy()
    probe.positions[9, 1] -= 2 * d
    minus = probe.get_potential_energy()
    assert with_term.get_forces()[9, 1] == pytest.approx(-(plus - minus) / (2 * d), abs=1e-7)


def test_training_learns_the_labels_minus_the_term_and_predictions_add_it_back(tmp_path):
    from areanet.training.fit.dataset import structure_elements
    from areanet.training.fit.predict import predict

    charged, local = charged_pair()
    atoms = rippled_sheet(seed=6)
    atoms.calc = AreaNetCalculator(charged)
    atoms.get_forces()
    labelled = atoms.copy()
    from ase.calculators.singlepoint import SinglePointCalculator

    labelled.calc = SinglePointCalculator(labelled, energy=atoms.get_potential_energy(), forces=atoms.get_forces())
    items = structure_elements(charged, labelled, "frame")
    reference = atoms.copy()
    reference.calc = AreaNetCalculator(local)
    assert items.energy == pytest.approx(reference.get_potential_energy(), rel=1e-12)
    assert np.allclose(items.forces.numpy(), reference.get_forces(), atol=1e-10)
    (energy, forces, _), = predict(charged, [labelled])
    assert energy == pytest.approx(labelled.get_potential_energy(), rel=1e-12)
    assert np.allclose(forces, labelled.get_forces(), atol=1e-10)


def test_charged_model_is_refused_where_the_term_cannot_run(tmp_path):
    from areanet.potential.mliap import write_mliap

    charged, _ = charged_pair()
    path = export_model(charged, tmp_path / "charged.pt")
    # ML-IAP: the pickle is the local part, which refuses to run without areanet/coulomb
    import pickle

    with open(write_mliap(path, tmp_path / "charged.mliap"), "rb") as handle:
        local_part = pickle.load(handle)
    with pytest.raises(RuntimeError, match="charged model .* areanet/coulomb"):
        local_part.compute_forces(None)
    molecule = Atoms("BN", positions=[[0, 0, 0], [1.45, 0, 0]], pbc=False)
    molecule.calc = AreaNetCalculator(path)
    with pytest.raises(RuntimeError):
        molecule.get_potential_energy()


def test_charge_settings_are_checked():
    with pytest.raises(UserError, match="charge_width"):
        TrainConfig.from_dict({"data": ["x.extxyz"], "charge": 1.0, "charge_width": 0.1}).check()
    with pytest.raises(ValueError, match="species B and N"):
        ModelConfig(charge=1.0, species=["C", "N"], centers="both")
    assert ModelConfig().format_version() == 1 and ModelConfig(charge=0.5).format_version() == 2
