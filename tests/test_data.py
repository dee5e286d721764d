"""Data reading, checking, splitting and hashing (areanet.training.data)."""
from pathlib import Path

import ase.db
import ase.io
import numpy as np
import pytest
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator

from areanet.training.cli import main

from areanet.training.errors import UserError
from areanet.training.data.structures import (DataError, data_hash, read_structures, split_by_strength,
                                   split_random, strengths)

REPO = Path(__file__).resolve().parents[1]


def cell4(a=2.5, shift=0.0, energy=-30.0, forces=None, symbols="BNBN", pbc=True,
          strength=1.0):
    """A 4-atom rectangular h-BN cell with attached energy/forces."""
    b = a / np.sqrt(3)
    pos = np.array([[0, 0, 6], [0, b, 6], [a / 2, 1.5 * b, 6], [a / 2, 2.5 * b, 6]]) + shift
    atoms = Atoms(symbols, positions=pos, cell=[a, 3 * b, 12.0], pbc=pbc)
    if forces is None:
        forces = np.arange(12.0).reshape(4, 3) * 0.01 + shift
    results = {}
    if energy is not None:
        results["energy"] = energy
    if forces is not False:
        results["forces"] = forces
    atoms.calc = SinglePointCalculator(atoms, **results)
    atoms.info.update(set="inplane", perturb_strength_pct=strength, index=0)
    return atoms


def frames(n=3):
    return [cell4(shift=0.01 * k, energy=-30.0 + 0.1 * k, strength=1.0 + 0.2 * k)
            for k in range(n)]


# -- reading ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["d.extxyz", "d.extxyz.gz", "d.xyz"])
def test_read_extxyz_keeps_energy_forces_info(tmp_path, name):
    src = frames()
    ase.io.write(tmp_path / name, src)
    got = read_structures(tmp_path / name)
    assert len(got) == 3
    for a, b in zip(src, got):
        assert b.get_potential_energy() == pytest.approx(a.get_potential_energy(), abs=1e-10)
        np.testing.assert_allclose(b.get_forces(), a.get_forces(), atol=1e-8)
        np.testing.assert_allclose(b.positions, a.positions, atol=1e-8)
        assert b.info["set"] == "inplane"
        assert b.info["perturb_strength_pct"] == pytest.approx(a.info["perturb_strength_pct"])
        assert b.get_forces().dtype == np.float64


def test_read_several_files_in_order(tmp_path):
    ase.io.write(tmp_path / "a.extxyz", frames(2))
    ase.io.write(tmp_path / "b.extxyz", frames(3))
    got = read_structures([tmp_path / "a.extxyz", str(tmp_path / "b.extxyz")])
    assert len(got) == 5
    np.testing.assert_allclose(strengths(got), [1.0, 1.2, 1.0, 1.2, 1.4])


def test_read_ase_db_with_key_value_pairs(tmp_path):
    path = tmp_path / "d.db"
    with ase.db.connect(path) as db:
        for atoms in frames():
            db.write(atoms, set="3d", perturb_strength_pct=atoms.info["perturb_strength_pct"])
    got = read_structures(path)
    assert len(got) == 3
    assert [g.info["set"] for g in got] == ["3d"] * 3
    np.testing.assert_allclose(strengths(got), [1.0, 1.2, 1.4])
    np.testing.assert_allclose(got[2].get_forces(), frames()[2].get_forces())
    assert got[1].get_potential_energy() == pytest.approx(-29.9)


def _outcar(images):
    """A minimal VASP OUTCAR (the blocks ASE's parser reads) for 4-atom B2N2 images."""
    lines = [" POTCAR:    PAW_PBE B 06Sep2000", " POTCAR:    PAW_PBE N 08Apr2002",
             " POTCAR:    PAW_PBE B 06Sep2000", " POTCAR:    PAW_PBE N 08Apr2002",
             "   ions per type =               2   2",
             "   ISPIN  =      1    spin polarized calculation?"]
    for k, (cell, pos, forces, energy) in enumerate(images):
        lines.append(f"---------------------- Iteration {k + 1:6d}(   1)  ----------------------")
        lines.append("      direct lattice vectors                 reciprocal lattice vectors")
        lines += [" " + " ".join(f"{x:13.9f}" for x in v) + "    0.0 0.0 0.0" for v in cell]
        lines.append(" POSITION                                       TOTAL-FORCE (eV/Angst)")
        lines.append(" " + "-" * 83)
        lines += [" " + " ".join(f"{x:12.5f}" for x in p) + "    "
                  + " ".join(f"{x:13.6f}" for x in f) for p, f in zip(pos, forces)]
        lines.append(" " + "-" * 83)
        lines += ["  FREE ENERGIE OF THE ION-ELECTRON SYSTEM (eV)",
                  "  ---------------------------------------------------",
                  f"  free  energy   TOTEN  =     {energy + 0.001:.8f} eV", "",
                  f"  energy  without entropy=     {energy + 0.002:.8f}"
                  f"  energy(sigma->0) =     {energy:.8f}"]
    return "\n".join(lines) + "\n"


def test_read_vasp_outcar(tmp_path):
    a, b = 2.5, 2.5 / np.sqrt(3)
    cell = np.array([[a, 0, 0], [0, 3 * b, 0], [0, 0, 12.0]])
    pos = np.array([[0, 0, 6], [a / 2, 1.5 * b, 6], [0, b, 6], [a / 2, 2.5 * b, 6]])
    forces = np.arange(12.0).reshape(4, 3) * 0.1
    path = tmp_path / "OUTCAR"
    path.write_text(_outcar([(cell, pos, forces, -30.0), (cell, pos + 0.01, -forces, -29.5)]))
    got = read_structures(path)
    assert len(got) == 2
    assert got[0].get_chemical_symbols() == ["B", "B", "N", "N"]
    assert got[1].get_potential_energy() == pytest.approx(-29.5)  # energy(sigma->0)
    np.testing.assert_allclose(got[1].get_forces(), -forces, atol=1e-6)
    np.testing.assert_allclose(got[1].positions, pos + 0.01, atol=1e-5)


# -- clear errors -------------------------------------------------------------------------


def _write_bad(tmp_path, bad, name="bad.extxyz"):
    images = frames(3)
    images[1] = bad
    path = tmp_path / name
    ase.io.write(path, images)
    return path


def _error(path, **kw) -> str:
    with pytest.raises(DataError) as info:
        read_structures(path, **kw)
    return str(info.value)


def test_missing_forces_names_file_and_frame(tmp_path):
    path = _write_bad(tmp_path, cell4(forces=False))
    msg = _error(path)
    assert str(path) in msg and "frame 1" in msg and "missing forces" in msg


def test_missing_energy_names_file_and_frame(tmp_path):
    path = _write_bad(tmp_path, cell4(energy=None))
    msg = _error(path)
    assert str(path) in msg and "frame 1" in msg and "missing energy" in msg


def test_nan_force_named(tmp_path):
    forces = np.zeros((4, 3))
    forces[2, 1] = np.nan
    path = _write_bad(tmp_path, cell4(forces=forces))
    msg = _error(path)
    assert str(path) in msg and "frame 1" in msg and "NaN" in msg and "atom 2" in msg


def test_inf_energy_named(tmp_path):
    path = _write_bad(tmp_path, cell4(energy=np.inf))
    msg = _error(path)
    assert "frame 1" in msg and "energy is inf" in msg


def test_unknown_species_named(tmp_path):
    path = _write_bad(tmp_path, cell4(symbols="BNCN"))
    msg = _error(path)
    assert str(path) in msg and "frame 1" in msg and "unknown species C" in msg
    # the same file is fine for a model that knows carbon
    assert len(read_structures(path, species=("B", "C", "N"))) == 3


def test_unknown_species_in_db_names_row(tmp_path):
    path = tmp_path / "bad.db"
    with ase.db.connect(path) as db:
        db.write(cell4())
        db.write(cell4(symbols="BNBO"))
    msg = _error(path)
    assert str(path) in msg and "frame 1" in msg and "unknown species O" in msg


def test_non_periodic_cell_refused(tmp_path):
    path = _write_bad(tmp_path, cell4(pbc=[True, False, True]))
    msg = _error(path)
    assert "frame 1" in msg and "not periodic in the sheet's plane" in msg


def test_missing_and_unreadable_files(tmp_path):
    msg = _error(tmp_path / "nope.extxyz")
    assert "nope.extxyz" in msg and "no such file" in msg
    junk = tmp_path / "junk.extxyz"
    junk.write_text("this is not\na structure file\n")
    assert "junk.extxyz" in _error(junk)


def test_data_error_is_a_user_error_and_cli_prints_one_line(tmp_path, capsys):
    assert issubclass(DataError, UserError)
    path = _write_bad(tmp_path, cell4(forces=False))
    assert main(["data", "info", str(path)]) == 2
    err = capsys.readouterr().err
    assert "frame 1" in err and "Traceback" not in err


# -- helpers, splits, hash ----------------------------------------------------------------


def test_strengths_nan_where_missing():
    images = frames(2)
    del images[1].info["perturb_strength_pct"]
    values = strengths(images)
    assert values[0] == 1.0 and np.isnan(values[1])


def test_split_random_reproducible_disjoint_complete():
    train, val, test = split_random(4450, (0.8, 0.1, 0.1), seed=3)
    assert (len(train), len(val), len(test)) == (3560, 445, 445)
    union = np.concatenate([train, val, test])
    assert len(np.unique(union)) == 4450 and union.min() == 0 and union.max() == 4449
    again = split_random(4450, (0.8, 0.1, 0.1), seed=3)
    for a, b in zip((train, val, test), again):
        np.testing.assert_array_equal(a, b)
    other = split_random(4450, (0.8, 0.1, 0.1), seed=4)
    assert not np.array_equal(other[2], test)
    # not simply the first 80 %
    assert test.max() > 4000 and test.min() < 500


@pytest.mark.parametrize("fractions", [(0.8, 0.1), (0.9, 0.2, -0.1), ()])
def test_split_random_bad_fractions(fractions):
    with pytest.raises(DataError):
        split_random(10, fractions)


def test_split_by_strength():
    values = np.array([0.0, 0.5, 1.0, 3.0, 5.0, 5.5, 7.5, 1.2])
    inside, outside = split_by_strength(values, (1.0, 5.0))
    np.testing.assert_array_equal(inside, [2, 3, 4, 7])
    np.testing.assert_array_equal(outside, [0, 1, 5, 6])
    images = frames(3)  # strengths 1.0, 1.2, 1.4
    inside, outside = split_by_strength(images, (1.1, 2.0))
    np.testing.assert_array_equal(inside, [1, 2])
    np.testing.assert_array_equal(outside, [0])
    del images[2].info["perturb_strength_pct"]
    with pytest.raises(DataError, match="structure 2"):
        split_by_strength(images)


def test_data_hash_sensitive_and_stable(tmp_path):
    images = frames()
    h = data_hash(images)
    assert len(h) == 64 and h == data_hash(frames())
    ase.io.write(tmp_path / "d.extxyz", images)
    assert data_hash(read_structures(tmp_path / "d.extxyz")) == h
    changed = frames()
    changed[1].calc.results["forces"][0, 0] += 1e-6
    assert data_hash(changed) != h
    changed = frames()
    changed[2].calc.results["energy"] += 1e-6
    assert data_hash(changed) != h
    assert data_hash(frames()[::-1]) != h
    assert data_hash(frames(2)) != h


# -- the shipped DFT data -----------------------------------------------------------------


def test_shipped_pbe_data_reads_with_expected_counts():
    counts = {}
    for name, expected in (("inplane", 68), ("3d", 54), ("extrap", 13)):
        got = read_structures(REPO / "data" / f"hbn_pbe_{name}.extxyz.gz")
        counts[name] = len(got)
        assert {g.info["set"] for g in got} == {name}
        assert all(len(g) == 60 for g in got)
        assert all("GPAW" in g.info["reference"] for g in got)
    assert counts == {"inplane": 68, "3d": 54, "extrap": 13}
    extrap = read_structures(REPO / "data" / "hbn_pbe_extrap.extxyz.gz")
    perfect = [g for g in extrap if g.info["perturb_strength_pct"] == 0.0]
    assert len(perfect) == 1
    # the perfect cell's forces are only the grid's noise (README: 0.0185 eV/Å RMS)
    assert np.sqrt(np.mean(perfect[0].get_forces() ** 2)) < 0.03
    assert perfect[0].cell.cellpar()[0] == pytest.approx(5 * 2.5198, abs=1e-6)
