"""Issue 11, "no silent numbers": inputs that used to give a number without a word (or a raw
traceback) now stop with a message that names what is wrong, in the ASE calculator and in
pair_style areanet. (The damaged model files of item 2 are in test_model_integrity.py.)
"""
import io
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from ase import Atoms, units
from ase.calculators.calculator import PropertyNotImplementedError
from ase.md.md import MDLogger
from ase.md.verlet import VelocityVerlet

from areanet.potential import AreaNetCalculator, ModelFileError, load_model
from areanet.potential.species import ATOMIC_WEIGHTS, mass_mismatch, nearest_element

from conftest import hbn_sheet

ROOT = Path(__file__).resolve().parents[1]
EXTEP = ROOT / "models" / "hbn-extep.pt"  # local model
PBE = ROOT / "models" / "hbn-pbe.pt"  # charged model (B +1.5 e, N -1.5 e)


@pytest.fixture(scope="module")
def extep():
    return load_model(EXTEP)


def calculate(atoms, model, **kwargs):
    atoms.calc = AreaNetCalculator(model, **kwargs)
    return atoms.get_potential_energy()


# --- 1. the species map: masses ----------------------------------------------------------


def test_nearest_element_rule():
    assert mass_mismatch("B", 10.811) is None and mass_mismatch("N", 14.0067) is None
    for isotope_mass, species in ((10.0129, "B"), (11.0093, "B"), (14.0031, "N"), (15.0001, "N")):
        assert mass_mismatch(species, isotope_mass) is None, (species, isotope_mass)
    assert mass_mismatch("N", 10.811) == "mass 10.811 is nearest to B (10.81), not to N (14.007)"
    assert mass_mismatch("B", 14.0067) == "mass 14.0067 is nearest to N (14.007), not to B (10.81)"
    assert mass_mismatch("Xx", 1.0) is None  # no tabulated weight: nothing to check
    assert nearest_element(1.0) == "H" and nearest_element(12.0) == "C"


def test_plugin_element_table_equals_python():
    """lammps_plugin/areanet_elements.h carries the same table (the two must agree)."""
    header = (ROOT / "lammps_plugin" / "areanet_elements.h").read_text()
    table = dict((s, float(w)) for s, w in re.findall(r'\{"([A-Z][a-z]?)",\s*([0-9.]+)\}', header))
    assert table == ATOMIC_WEIGHTS


# --- 3. the stress of a cell without a third vector --------------------------------------


def test_stress_of_a_2d_cell_is_refused(extep):
    sheet = hbn_sheet(3, 2)
    flat = sheet.copy()
    flat.cell[2] = [0.0, 0.0, 0.0]
    flat.pbc = [True, True, False]
    flat.calc = AreaNetCalculator(extep)
    assert flat.get_potential_energy() == pytest.approx(calculate(sheet, extep), abs=1e-9)  # energy is fine
    with pytest.raises(PropertyNotImplementedError, match=r"no stress for a cell with 2 cell vectors: "
                       r"ASE's stress is per volume \(eV/Å³\) and this cell has none; give it a third vector"):
        flat.get_stress()
    sheet.calc = AreaNetCalculator(extep)
    assert np.abs(sheet.get_stress()).max() > 0.0  # with a height the stress is there


# --- 4. bad coordinates ------------------------------------------------------------------


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_position_names_the_atom(extep, value):
    atoms = hbn_sheet(3, 2)
    atoms.positions[7, 1] = value
    text = "nan" if np.isnan(value) else "inf"
    with pytest.raises(ValueError, match=rf"areanet: atom 7 \(N\) has position \[[-0-9.]+, {text}, 6\]: "
                                         r"not finite \(NaN or inf\) \[calculation 1 of this calculator"):
        calculate(atoms, extep)


def test_non_finite_cell_names_the_vector(extep):
    atoms = hbn_sheet(3, 2)
    atoms.cell[1, 1] = np.nan
    with pytest.raises(ValueError, match=r"areanet: cell vector b \(atoms.cell\[1\]\) is \[0, nan, 0\]: not finite"):
        calculate(atoms, extep)


def test_zero_periodic_cell_vector(extep):
    atoms = hbn_sheet(3, 2)
    atoms.cell[2] = 0.0  # still pbc along c
    with pytest.raises(ValueError, match=r"cell vector c \(atoms.cell\[2\]\) is zero, but the structure is "
                                         r"periodic along it \(pbc\[2\] = True\)"):
        calculate(atoms, extep)


def test_overlapping_atoms_are_named(extep):
    atoms = hbn_sheet(3, 2)
    atoms.positions[9] = atoms.positions[4] + [0.01, 0.0, 0.0]
    with pytest.raises(ValueError, match=r"areanet: atoms (4 \(B\) and 9 \(N\)|9 \(N\) and 4 \(B\)) are 0.01 Å "
                                         r"apart \(< 0.8 Å\): they overlap"):
        calculate(atoms, extep)


# --- 5. the wrong kind of file -----------------------------------------------------------


def test_directory_instead_of_model(tmp_path):
    with pytest.raises(ModelFileError, match=rf"{tmp_path} is a directory, not a model file: pass the model "
                                             r"file that `areanet export` writes"):
        AreaNetCalculator(tmp_path)


def test_training_checkpoint_instead_of_model(tmp_path, extep):
    """A training checkpoint is a torch.save zip (weights, optimiser state, config)."""
    checkpoint = tmp_path / "best.pt"
    torch.save({"model": {k: v.clone() for k, v in extep.state_dict().items()}, "epoch": 3,
                "config": {"data": ["x.extxyz"]}}, checkpoint)
    with pytest.raises(ModelFileError) as info:
        AreaNetCalculator(checkpoint)
    message = str(info.value)
    assert message == (f"{checkpoint} is a training checkpoint (torch.save), not an exported model: export "
                       f"it with `areanet export {checkpoint} -o model.pt` and use that file (`areanet "
                       "evaluate` reads either)")
    assert "corrupted" not in message


def test_missing_and_foreign_files(tmp_path):
    with pytest.raises(ModelFileError, match=r"model file .*nothing.pt does not exist"):
        AreaNetCalculator(tmp_path / "nothing.pt")
    text = tmp_path / "notes.pt"
    text.write_text("not a model\n")
    with pytest.raises(ModelFileError, match=r"notes.pt is not a readable model file \(File is not a zip file\)"):
        AreaNetCalculator(text)


# --- 6. where an MD run stops -------------------------------------------------------------


def leaving_sheet():
    """A sheet whose atom 0 flies off the plane at 0.4 Å/fs: the MD stops after a few steps."""
    atoms = hbn_sheet(3, 2)
    velocities = np.zeros((len(atoms), 3))
    velocities[0, 2] = 0.4 / units.fs
    atoms.set_velocities(velocities)
    return atoms


def test_ase_md_error_names_the_step(extep):
    atoms = leaving_sheet()
    log = io.StringIO()
    atoms.calc = AreaNetCalculator(extep)
    dyn = VelocityVerlet(atoms, timestep=1.0 * units.fs)
    atoms.calc.dynamics = dyn
    dyn.attach(MDLogger(dyn, atoms, log), interval=2)
    with pytest.raises(RuntimeError) as info:
        dyn.run(50)
    failed = dyn.nsteps + 1
    assert 2 < failed < 50
    message = str(info.value)
    assert "no complete area element at centre index" in message
    assert (f"[step {failed} of VelocityVerlet (step {failed - 1} was the last computed); the last MDLogger "
            f"line is of step {(failed - 1) - (failed - 1) % 2}; calculation {failed + 1} of this calculator, "
            f"{failed} succeeded before]") in message, message


def test_ase_md_error_without_dynamics_counts_calculations(extep):
    atoms = leaving_sheet()
    atoms.calc = AreaNetCalculator(extep)
    dyn = VelocityVerlet(atoms, timestep=1.0 * units.fs)
    with pytest.raises(RuntimeError) as info:
        dyn.run(50)
    assert (f"[calculation {dyn.nsteps + 2} of this calculator, {dyn.nsteps + 1} succeeded before; pass "
            "dynamics=dyn to AreaNetCalculator to have the MD step named]") in str(info.value)


# --- 7. per-atom charges ------------------------------------------------------------------


def test_charges_with_a_local_model_warn_once(extep):
    atoms = hbn_sheet(3, 2)
    reference = calculate(atoms.copy(), extep)
    atoms.set_initial_charges([0.3 if s == "B" else -0.3 for s in atoms.get_chemical_symbols()])
    atoms.calc = AreaNetCalculator(extep)
    with pytest.warns(UserWarning, match="the structure's initial charges are ignored: the model is a local one"):
        energy = atoms.get_potential_energy()
    assert energy == pytest.approx(reference, abs=1e-12)
    atoms.positions[0, 0] += 0.01
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per calculator
        atoms.get_potential_energy()


def test_charges_that_disagree_with_a_charged_model_are_refused():
    pbe = load_model(PBE)
    atoms = hbn_sheet(3, 2)
    reference = calculate(atoms.copy(), pbe)
    own = [1.5 if s == "B" else -1.5 for s in atoms.get_chemical_symbols()]
    atoms.set_initial_charges(own)  # the model's own charges: fine
    assert calculate(atoms, pbe) == pytest.approx(reference, abs=1e-12)
    own[3] = 0.8
    atoms.set_initial_charges(own)
    with pytest.raises(ValueError, match=r"areanet: atom 3 \(N\) has initial charge \+0.8 e, but the charged model "
                                         r"uses its own charges \(B \+1.5, N -1.5 e\) and ignores per-atom ones"):
        calculate(atoms, pbe)


# --- 9. messages ----------------------------------------------------------------------------


def test_numbers_in_messages_read_as_written(extep):
    atoms = hbn_sheet(3, 2)
    del atoms[5]
    with pytest.raises(RuntimeError) as info:
        calculate(atoms, extep)
    message = str(info.value)
    assert "within the 3.6 Å cutoff" in message and "3.6000000000000001" not in message
    assert re.search(r"\[atom \d+ \([BN]\) at [-0-9.]+, [-0-9.]+, [-0-9.]+ Å\]", message), message


def test_no_design_references():
    """The project stands alone: no pointers to a DESIGN document that is not in it."""
    for folder in ("potential", "lammps_plugin", "examples"):
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and path.suffix in (".py", ".h", ".cpp", ".md", ""):
                assert "DESIGN" not in path.read_text(errors="replace"), path
