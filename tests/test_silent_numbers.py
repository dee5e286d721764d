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


# --- pair_style areanet ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def lammps_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("silent-lammps")


@pytest.fixture(scope="module")
def sheet_data(lammps_dir):
    from lammps_helpers import make_sheet

    path = lammps_dir / "sheet.data"  # type 1 = B (10.811), type 2 = N (14.0067)
    make_sheet.write_lammps_data(path, make_sheet.hbn_sheet(3, 2))
    return path


def lammps_run(plugin, commands: str):
    """Run ``commands`` in LAMMPS in this process: (None, session energy) or (the error, None)."""
    from lammps_helpers import LammpsSession

    session = LammpsSession(plugin)
    try:
        session.commands(commands)
        return None, session.lmp.get_thermo("pe")
    except Exception as err:  # noqa: BLE001 - LAMMPS' error, checked by the caller
        return str(err), None
    finally:
        session.close()


@pytest.mark.parametrize("pair_style", ["areanet", "areanet torchscript"])
def test_swapped_species_map_stops_the_run(plugin, sheet_data, pair_style):
    from lammps_helpers import setup_commands

    error, _ = lammps_run(plugin, setup_commands(sheet_data, EXTEP, species="N B", pair_style=pair_style) + "run 0\n")
    assert error is not None and (
        "ERROR: Pair areanet: atom type 1 is mapped to model species N by pair_coeff, but its mass 10.811 is "
        "nearest to B (10.81), not to N (14.007): the species of pair_coeff must follow the atom types in "
        "order. If the mass is deliberate (not an isotope of N), use pair_style areanet check_masses no") in error
    error, energy = lammps_run(plugin, setup_commands(sheet_data, EXTEP, species="N B",
                                                      pair_style=f"{pair_style} check_masses no") + "run 0\n")
    assert error is None and energy is not None  # the override runs (with the numbers of that map)


def test_masses_set_after_pair_coeff_are_checked(plugin, sheet_data):
    from lammps_helpers import setup_commands

    error, _ = lammps_run(plugin, setup_commands(sheet_data, EXTEP) + "mass 2 10.811\nrun 0\n")
    assert "atom type 2 is mapped to model species N by pair_coeff, but its mass 10.811 is nearest to B" in error


def test_isotope_masses_pass(plugin, sheet_data):
    from lammps_helpers import setup_commands

    error, right = lammps_run(plugin, setup_commands(sheet_data, EXTEP) + "run 0\n")
    assert error is None
    error, isotopes = lammps_run(plugin, setup_commands(sheet_data, EXTEP) + "mass 1 10.0129\nmass 2 15.0001\nrun 0\n")
    assert error is None and isotopes == pytest.approx(right, abs=1e-12)  # masses do not enter the energy


def test_lammps_md_error_names_the_timestep(plugin, sheet_data):
    """Atom 1 flies off the sheet at 400 Å/ps: the run stops at some step, named with the last thermo step."""
    from lammps_helpers import setup_commands

    error, _ = lammps_run(plugin, setup_commands(sheet_data, EXTEP) + """
group fly id 1
velocity fly set 0 0 400
fix nve all nve
timestep 0.001
thermo 2
run 50
""")
    assert error is not None and "Pair areanet: no complete area element at atom ID" in error, error
    found = re.search(r"\[timestep (\d+); the last thermo output is of step (\d+)\]", error)
    assert found, error
    step, thermo = int(found.group(1)), int(found.group(2))
    assert 2 < step < 50 and thermo == (step - 1) - (step - 1) % 2, error


@pytest.mark.parametrize("pair_style", ["areanet", "areanet torchscript"])
def test_lammps_error_at_setup_says_no_thermo_yet(plugin, lammps_dir, pair_style):
    from lammps_helpers import make_sheet, setup_commands

    sheet = make_sheet.hbn_sheet(3, 2)
    del sheet[5]
    data = lammps_dir / "vacancy.data"
    make_sheet.write_lammps_data(data, sheet)
    error, _ = lammps_run(plugin, setup_commands(data, EXTEP, pair_style=pair_style) + "run 0\n")
    assert "[timestep 0, at the set-up of the run, before any thermo output of it]" in error, error
    assert "within the 3.6 A cutoff" in error and "3.6000000000000001" not in error, error  # as written


def charge_data(atomic_data: Path, path: Path) -> Path:
    """The atom_style atomic data file as atom_style charge (q = 0 for every atom)."""
    lines, atoms = [], False
    for line in atomic_data.read_text().splitlines():
        if line.startswith("Atoms"):
            line, atoms = "Atoms # charge", True
        elif atoms and line.strip():
            fields = line.split()
            line = " ".join(fields[:2] + ["0.0"] + fields[2:])
        lines.append(line)
    path.write_text("\n".join(lines) + "\n")
    return path


def charged_run(plugin, workdir: Path, data: Path, model: Path, charges: str, name: str):
    from lammps_helpers import run_lmp

    return run_lmp(f"""plugin load {plugin}
units metal
atom_style charge
boundary p p p
read_data {data}
{charges}
pair_style areanet
pair_coeff * * {model} B N
run 0
run 0
""", workdir, name=name)


def test_atom_charges_with_a_local_model_are_noted_once(plugin, sheet_data, lammps_dir):
    data = charge_data(sheet_data, lammps_dir / "charge.data")
    proc = charged_run(plugin, lammps_dir, data, EXTEP, "set type 1 charge 0.7\nset type 2 charge -0.7", "in.local-q")
    assert proc.returncode == 0, proc.stdout[-2000:]
    note = f"areanet: the atoms' charges q are not used by pair_style areanet: model {EXTEP} is a local model, without charges"
    assert proc.stdout.count(note) == 1, proc.stdout[-3000:]


def test_atom_charges_that_disagree_with_a_charged_model_stop_the_run(plugin, sheet_data, lammps_dir):
    data = charge_data(sheet_data, lammps_dir / "charge.data")
    proc = charged_run(plugin, lammps_dir, data, PBE, "set type 1 charge 0.7", "in.bad-q")
    assert proc.returncode != 0
    assert (f"ERROR: Pair areanet: atom ID 1 (type 1) has charge q = +0.7 e, but model {PBE} is charged and its "
            "long-range sheet Coulomb uses its own charges (e): B +1.5 N -1.5; per-atom charges are not used") in proc.stdout
    proc = charged_run(plugin, lammps_dir, data, PBE, "set type 1 charge 1.5\nset type 2 charge -1.5", "in.own-q")
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert proc.stdout.count("areanet: the atoms' charges q equal the model's species charges and are not read") == 1


def test_copied_example_folder_runs_from_tmp(plugin, tmp_path):
    """examples/hbn copied out of the repository: the venv's lmp loads pair_style areanet at
    start-up (LAMMPS_PLUGIN_PATH from the venv's hook), so the inputs need no plugin path."""
    import os
    import shutil
    import subprocess
    import sys

    folder = tmp_path / "hbn"
    shutil.copytree(ROOT / "examples" / "hbn", folder)
    for path in folder.glob("in.*"):
        assert "plugin load" not in path.read_text(), path
    env = {k: v for k, v in os.environ.items() if k not in ("LAMMPS_PLUGIN_PATH", "OMP_NUM_THREADS")}
    bin_dir = Path(sys.prefix) / "bin"
    subprocess.run([str(bin_dir / "python"), "make_sheet.py", "--atoms", "240", "-o", "sheet-960.data"],
                   cwd=folder, check=True, env=env, capture_output=True)
    proc = subprocess.run([str(bin_dir / "lmp"), "-in", "in.nve", "-var", "model", str(EXTEP), "-var", "steps", "10",
                           "-var", "every", "5"], cwd=folder, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert f"Loaded 1 plugins from {plugin.parent}" in proc.stdout
    assert "NVE energy drift:" in proc.stdout
