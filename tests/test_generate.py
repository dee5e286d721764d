"""Perturbed-structure generation and the LAMMPS reference labeller."""
import io
import math

import ase.io
import numpy as np
import pytest

from areanet.training.cli import main
from areanet.training.data.generate import (EXTRAP_LEVELS, PAPER_LEVELS, STRAIN_LEVELS, STRAIN_MODES,
                                       default_counts, frame_count, generate, level_counts,
                                       perfect_sheet)
from areanet.training.lammps_env import import_lammps, potentials_dir
from areanet.training.progress import progress
from areanet.training.data.reference import LammpsReference, lammps_cell, relaxed_lattice_constant

INFO_KEYS = {"set", "perturb_strength_pct", "index", "reference"}


@pytest.fixture(scope="module")
def a_extep():
    return relaxed_lattice_constant("extep")


@pytest.fixture(scope="module")
def paper_frames():
    return generate("paper", "extep", per_level=2, seed=0, show_progress=False)


@pytest.fixture(scope="module")
def frames_3d():
    return generate("3d", "extep", per_level=2, seed=0, show_progress=False)


@pytest.fixture(scope="module")
def extep():
    ref = LammpsReference("extep")
    yield ref
    ref.close()


def _strain_of(atoms, a):
    """Symmetric in-plane deformation (2×2) taking the perfect cell to the frame's cell."""
    base = perfect_sheet(a).cell.array[:2, :2]
    return np.linalg.solve(base, atoms.cell.array[:2, :2])


# -- environment --------------------------------------------------------------------------


def test_lammps_imports_without_ld_library_path():
    lammps = import_lammps()
    lmp = lammps.lammps(cmdargs=["-screen", "none", "-log", "none", "-nocite"])
    try:
        assert lmp.has_package("MANYBODY")
    finally:
        lmp.close()
    assert (potentials_dir() / "BN.extep").is_file()
    assert (potentials_dir() / "BNC.tersoff").is_file()


# -- counts and info ----------------------------------------------------------------------


def test_default_counts_are_the_papers_4450():
    counts = default_counts()
    assert len(counts) == 21 and sum(counts) == 4450
    assert counts == [212] * 19 + [211] * 2
    assert list(level_counts().values()) == counts
    assert list(level_counts().keys()) == list(PAPER_LEVELS)
    assert PAPER_LEVELS[0] == 1.0 and PAPER_LEVELS[-1] == 5.0
    assert np.allclose(np.diff(PAPER_LEVELS), 0.2)
    extrap = level_counts(extrap=True)
    assert extrap == {0.0: 1, 0.5: 2, 5.5: 2, 6.0: 2, 6.5: 2, 7.0: 2, 7.5: 2}


def test_paper_counts_per_level_and_info(paper_frames):
    assert len(paper_frames) == 42
    per = {}
    for atoms in paper_frames:
        assert set(atoms.info) == INFO_KEYS
        assert atoms.info["set"] == "inplane"
        assert "extep" in atoms.info["reference"]
        per.setdefault(atoms.info["perturb_strength_pct"], []).append(atoms.info["index"])
        assert len(atoms) == 60 and atoms.pbc.all()
        assert np.isfinite(atoms.get_potential_energy())
        assert atoms.get_forces().shape == (60, 3)
    assert sorted(per) == list(PAPER_LEVELS)
    assert all(sorted(v) == [0, 1] for v in per.values())


def test_perfect_sheet_geometry(a_extep):
    sheet = perfect_sheet(a_extep)
    assert len(sheet) == 60
    assert sheet.get_chemical_symbols()[:4] == ["B", "N", "B", "N"]
    assert sheet.cell.cellpar()[:3] == pytest.approx([5 * a_extep, 3 * math.sqrt(3) * a_extep, 12.0])
    assert np.allclose(sheet.positions[:, 2], 6.0)
    dist = sheet.get_all_distances(mic=True)
    np.fill_diagonal(dist, np.inf)
    # every atom: 3 nearest at b, all of the other species
    b = a_extep / math.sqrt(3)
    for i, row in enumerate(dist):
        near = np.argsort(row)[:3]
        assert row[near] == pytest.approx([b] * 3)
        assert all(sheet[j].symbol != sheet[i].symbol for j in near)
        assert np.sort(row)[3] == pytest.approx(a_extep)


# -- displacement protocols ---------------------------------------------------------------


def test_inplane_displacements_within_disk(paper_frames, a_extep):
    sheet = perfect_sheet(a_extep)
    b = a_extep / math.sqrt(3)
    largest, u, angle = [], [], []
    for atoms in paper_frames:
        radius = atoms.info["perturb_strength_pct"] / 100 * b
        d = atoms.positions - sheet.positions
        np.testing.assert_allclose(d[:, 2], 0.0, atol=1e-12)
        np.testing.assert_allclose(atoms.cell.array, sheet.cell.array)
        r = np.linalg.norm(d[:, :2], axis=1)
        assert r.max() <= radius * (1 + 1e-12)
        largest.append(r.max() / radius)
        u.append((r / radius) ** 2)
        angle.append(np.arctan2(d[:, 1], d[:, 0]))
    # uniform in the disk's area: (r/R)² ~ U(0, 1), angle ~ U(-π, π); 2520 samples
    u, angle = np.concatenate(u), np.concatenate(angle)
    assert u.mean() == pytest.approx(0.5, abs=0.03)
    assert abs(np.cos(angle).mean()) < 0.06 and abs(np.sin(angle).mean()) < 0.06
    assert min(largest) > 0.8


def test_3d_strain_then_displacements_within_bounds(frames_3d, a_extep):
    sheet = perfect_sheet(a_extep)
    b = a_extep / math.sqrt(3)
    strains = []
    for atoms in frames_3d:
        assert atoms.info["set"] == "3d"
        deform = _strain_of(atoms, a_extep)
        eps = deform - np.eye(2)
        assert eps[0, 1] == pytest.approx(eps[1, 0], abs=1e-12)  # symmetric strain
        assert np.abs(eps).max() <= 0.01 + 1e-12
        strains.append(eps[[0, 1, 0], [0, 1, 1]])
        np.testing.assert_allclose(atoms.cell.array[2], [0, 0, 12.0])
        strained = sheet.positions[:, :2] @ deform
        radius = atoms.info["perturb_strength_pct"] / 100 * b
        r = np.linalg.norm(atoms.positions[:, :2] - strained, axis=1)
        dz = atoms.positions[:, 2] - 6.0
        assert r.max() <= radius * (1 + 1e-12)
        assert np.abs(dz).max() <= radius * (1 + 1e-12)
        assert np.abs(dz).max() > 0.5 * radius
    strains = np.array(strains)  # [42, 3]
    # each component really spans ±1 % and varies frame to frame
    assert (strains.max(axis=0) > 0.005).all() and (strains.min(axis=0) < -0.005).all()


def test_strain_protocol_modes_levels_and_stratified_order(a_extep):
    frames = generate("strain", "extep", per_level=2, seed=3, show_progress=False,
                      lattice_constant=2.5198)
    n_bins = len(STRAIN_MODES) * len(STRAIN_LEVELS)
    assert len(frames) == frame_count("strain", 2) == 2 * n_bins
    sheet = perfect_sheet(2.5198)
    b = 2.5198 / math.sqrt(3)
    for k, atoms in enumerate(frames):
        info = atoms.info
        assert info["set"] == "strain" and info["index"] == k // n_bins
        eps = _strain_of(atoms, 2.5198) - np.eye(2)
        np.testing.assert_allclose(eps[[0, 1, 0], [0, 1, 1]],
                                   [info["strain_xx"], info["strain_yy"], info["strain_xy"]],
                                   atol=1e-12)
        e = info["strain_pct"] / 100
        expected = {"biaxial": (e, e, 0), "zigzag": (e, 0, 0), "armchair": (0, e, 0),
                    "shear": (0, 0, e)}.get(info["strain_mode"])
        if expected is None:  # mixed: normal strains between 0 and ε, shear within ±|ε|
            assert all(0 <= x / e <= 1 for x in (info["strain_xx"], info["strain_yy"]))
            assert abs(info["strain_xy"]) <= abs(e)
        else:
            np.testing.assert_allclose(eps[[0, 1, 0], [0, 1, 1]], expected, atol=1e-12)
        radius = info["perturb_strength_pct"] / 100 * b
        strained = sheet.positions[:, :2] @ (np.eye(2) + eps)
        assert np.linalg.norm(atoms.positions[:, :2] - strained, axis=1).max() <= radius * (1 + 1e-12)
        assert info["perturb_strength_pct"] in PAPER_LEVELS
    # stratified: the first n_bins frames hold every (mode, ε) bin once
    first = {(f.info["strain_mode"], f.info["strain_pct"]) for f in frames[:n_bins]}
    assert len(first) == n_bins
    again = generate("strain", "extep", per_level=1, seed=3, show_progress=False,
                     lattice_constant=2.5198)
    for x, y in zip(again, frames[:n_bins]):  # a smaller run is a prefix
        np.testing.assert_array_equal(x.positions, y.positions)


def test_strain_protocol_has_no_extrap(tmp_path, capsys):
    rc = main(["data", "generate", "--protocol", "strain", "--extrap", "--out",
               str(tmp_path / "x.extxyz"), "--quiet"])
    assert rc == 2 and "no extrapolation points" in capsys.readouterr().err


def test_extrap_points(a_extep):
    frames = generate("paper", "extep", seed=0, extrap=True, show_progress=False)
    assert len(frames) == 13
    assert {f.info["set"] for f in frames} == {"extrap"}
    levels = [f.info["perturb_strength_pct"] for f in frames]
    assert sorted(set(levels)) == list(EXTRAP_LEVELS)
    zero = [f for f in frames if f.info["perturb_strength_pct"] == 0.0]
    assert len(zero) == 1
    np.testing.assert_allclose(zero[0].positions, perfect_sheet(a_extep).positions, atol=1e-12)


def test_same_seed_same_frames_other_seed_differs(paper_frames):
    again = generate("paper", "extep", per_level=2, seed=0, show_progress=False)
    other = generate("paper", "extep", per_level=2, seed=1, show_progress=False)
    for a, b in zip(paper_frames, again):
        np.testing.assert_array_equal(a.positions, b.positions)
        assert a.get_potential_energy() == b.get_potential_energy()
        np.testing.assert_array_equal(a.get_forces(), b.get_forces())
    assert all(not np.allclose(a.positions, c.positions) for a, c in zip(paper_frames, other))
    # fewer frames per level: a prefix of each level of the larger run
    one = generate("paper", "extep", per_level=1, seed=0, show_progress=False)
    firsts = [f for f in paper_frames if f.info["index"] == 0]
    for a, b in zip(one, firsts):
        np.testing.assert_array_equal(a.positions, b.positions)


# -- the reference labeller ---------------------------------------------------------------


def test_extep_lattice_constant_is_a_minimum(a_extep, extep):
    assert a_extep == pytest.approx(2.504, abs=0.002)  # ExTeP's h-BN minimum is a ≈ 2.505 Å
    e0 = extep.energy_of_lattice_constant(a_extep)
    assert extep.energy_of_lattice_constant(a_extep - 0.01) > e0
    assert extep.energy_of_lattice_constant(a_extep + 0.01) > e0
    energy, forces = extep.label(perfect_sheet(a_extep))
    assert np.abs(forces).max() < 1e-8
    assert energy / 60 == pytest.approx(-6.69, abs=0.01)


def test_tersoff_reference_works():
    a = relaxed_lattice_constant("tersoff")
    assert 2.45 < a < 2.55
    ref = LammpsReference("tersoff")
    try:
        _, forces = ref.label(perfect_sheet(a))
        assert np.abs(forces).max() < 1e-8
        frames = generate("3d", "tersoff", per_level=1, seed=2, show_progress=False)
        assert all("tersoff" in f.info["reference"] for f in frames)
        assert np.abs(frames[-1].get_forces()).max() > 0.1
    finally:
        ref.close()


def test_forces_are_minus_energy_gradient(frames_3d, extep):
    """Central finite differences of the reference's own energy on a strained 3d frame."""
    atoms = frames_3d[-1].copy()  # 5 %, strained triclinic cell
    _, forces = extep.label(atoms)
    np.testing.assert_allclose(forces, frames_3d[-1].get_forces(), atol=1e-10)
    rng = np.random.default_rng(0)
    h = 1e-5
    for i, k in zip(rng.choice(60, 8, replace=False), rng.integers(0, 3, 8)):
        plus, minus = atoms.copy(), atoms.copy()
        plus.positions[i, k] += h
        minus.positions[i, k] -= h
        numeric = -(extep.label(plus)[0] - extep.label(minus)[0]) / (2 * h)
        assert numeric == pytest.approx(forces[i, k], abs=1e-5 + 1e-5 * abs(forces[i, k]))


def test_labels_follow_rotation_and_do_not_depend_on_reuse(frames_3d):
    ref = LammpsReference("extep")
    try:
        atoms = frames_3d[20]
        energy, forces = ref.label(atoms)
        rotated = atoms.copy()
        rotated.rotate(37, "x", rotate_cell=True)
        rotated.rotate(-71, (1, 2, 3), rotate_cell=True)
        rot = np.linalg.solve(atoms.cell.array, rotated.cell.array)
        e2, f2 = ref.label(rotated)
        assert e2 == pytest.approx(energy, abs=1e-9)
        np.testing.assert_allclose(f2, forces @ rot, atol=1e-9)
    finally:
        ref.close()
    # one instance reused across changing cells == a fresh instance per structure
    for atoms in (frames_3d[3], frames_3d[30]):
        fresh = LammpsReference("extep")
        try:
            e, f = fresh.label(atoms)
        finally:
            fresh.close()
        assert e == atoms.get_potential_energy()
        np.testing.assert_array_equal(f, atoms.get_forces())


def test_lammps_cell_is_lower_triangular_rotation():
    cell = np.array([[3.0, 0.4, 0.2], [-1.0, 2.5, 0.3], [0.1, -0.2, 9.0]])
    lower, rot = lammps_cell(cell)
    assert lower[0, 1] == lower[0, 2] == lower[1, 2] == 0.0
    np.testing.assert_allclose(cell @ rot, lower, atol=1e-12)
    np.testing.assert_allclose(rot @ rot.T, np.eye(3), atol=1e-12)
    with pytest.raises(ValueError):
        lammps_cell(cell[[1, 0, 2]])  # left-handed


def test_reference_rejects_other_species(a_extep, extep):
    atoms = perfect_sheet(a_extep)
    atoms[0].symbol = "C"
    with pytest.raises(ValueError, match="C"):
        extep.label(atoms)
    with pytest.raises(ValueError):
        LammpsReference("sw")


# -- command line and progress ------------------------------------------------------------


def test_cli_generate_end_to_end(tmp_path, capsys, frames_3d):
    out = tmp_path / "sub" / "d3.extxyz.gz"
    rc = main(["data", "generate", "--protocol", "3d", "--reference", "extep",
               "--per-level", "2", "--seed", "0", "--out", str(out), "--quiet"])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "wrote 42 structures" in printed and " s " in printed
    frames = ase.io.read(out, ":")
    assert len(frames) == 42
    for a, b in zip(frames, frames_3d):
        assert set(a.info) >= INFO_KEYS
        assert a.info["set"] == "3d"
        assert a.get_potential_energy() == pytest.approx(b.get_potential_energy(), abs=1e-9)
        np.testing.assert_allclose(a.get_forces(), b.get_forces(), atol=1e-7)
        np.testing.assert_allclose(a.positions, b.positions, atol=1e-7)
    assert not list(tmp_path.glob("sub/*.part"))


@pytest.mark.parametrize("args", [["--per-level", "0"], ["--seed", "-1"],
                                  ["--lattice-constant", "4.1"], ["--out-name", "x.db"]])
def test_cli_generate_bad_input(tmp_path, capsys, args):
    if args[0] == "--out-name":
        args = []
        out = tmp_path / "x.db"
    else:
        out = tmp_path / "x.extxyz"
    rc = main(["data", "generate", "--out", str(out), "--quiet", *args])
    assert rc == 2
    assert "error" in capsys.readouterr().err
    assert not out.exists()


def test_lattice_constant_option_scales_the_sheet(a_extep):
    """Candidates at another labeller's a0: same random stream, every length scaled."""
    own = generate("3d", "extep", per_level=1, seed=4, show_progress=False)
    pbe = generate("3d", "extep", per_level=1, seed=4, show_progress=False, lattice_constant=2.5198)
    scale = 2.5198 / a_extep
    assert abs(scale - 1) > 1e-3
    for a, b in zip(own, pbe):
        np.testing.assert_allclose(b.cell.array[:2, :2], a.cell.array[:2, :2] * scale, atol=1e-9)
        np.testing.assert_allclose(b.positions[:, :2], a.positions[:, :2] * scale, atol=1e-9)
        assert "a0=2.51980A" in b.info["reference"]


def test_progress_log_style_is_coarse():
    stream = io.StringIO()
    assert list(progress(range(1000), desc="x", stream=stream)) == list(range(1000))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 10
    assert lines[-1].startswith("x: 100.0%") and "1000/1000" in lines[-1] and "it/s" in lines[-1]
    stream = io.StringIO()
    list(progress(iter(range(5)), stream=stream))  # unknown total: one summary line
    assert stream.getvalue().count("\n") == 1 and stream.getvalue().startswith("5 [")
    stream = io.StringIO()
    list(progress(range(50), desc="t", stream=stream, interactive=True))
    assert "\r" in stream.getvalue() and "50/50" in stream.getvalue()


def test_readme_data_commands_write_what_the_extep_config_reads():
    # following README's Data section, then `areanet train models/hbn-extep.toml` must work
    import re
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    readme = root.joinpath("README.md").read_text()
    section = readme.split("### Data", 1)[1].split("###", 1)[0]
    written = {(root / p).resolve() for p in re.findall(r"--out (\S+\.extxyz\.gz)", section)}
    config = tomllib.loads(root.joinpath("models", "hbn-extep.toml").read_text())
    wanted = {(root / "models" / p).resolve() for p in config["data"]}
    assert wanted <= written
    for line in section.splitlines():  # the same seeds as the config's documented data
        if "paper.extxyz.gz" in line:
            assert "--seed 1" in line
        if "3d.extxyz.gz" in line:
            assert "--seed 2" in line and "--per-level 95" in line
