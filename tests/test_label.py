"""`areanet data label`: resumable, parallel labelling (ExTeP here; GPAW when installed)."""
import gzip
import importlib.util
import sys

import numpy as np
import pytest

from areanet.training.cli import main
from areanet.training.errors import UserError
from areanet.training.data.generate import generate, write_frames
from areanet.training.data.sheets import perfect_sheet
from areanet.training.data.label import KEY_HASH, KEY_INDEX, KEY_SECONDS, label_file, read_labelled, structure_hash
from areanet.training.data.labellers import LabelSettings, import_gpaw
from areanet.training.data.reference import LammpsReference

EXTEP = LabelSettings(reference="extep")


@pytest.fixture(scope="module")
def unlabelled(tmp_path_factory):
    """21 perturbed 3D cells (one per strength level), written without their labels."""
    frames = generate("3d", "extep", per_level=1, seed=5, show_progress=False)
    for atoms in frames:
        atoms.calc = None
    path = tmp_path_factory.mktemp("label") / "in.extxyz"
    write_frames(frames, path)
    return path


@pytest.fixture(scope="module")
def expected(unlabelled):
    """Energy and forces of every input structure, labelled directly."""
    from ase.io import read

    ref = LammpsReference("extep")
    try:
        return [ref.label(a) for a in read(unlabelled, ":")]
    finally:
        ref.close()


def _check_complete(path, expected, n):
    frames = read_labelled(path, repair=False)
    assert [f.info[KEY_INDEX] for f in frames] == list(range(n))  # all, once, in input order
    assert len({f.info[KEY_HASH] for f in frames}) == n
    for frame, (energy, forces) in zip(frames, expected):
        assert frame.get_potential_energy() == pytest.approx(energy, abs=1e-8)
        np.testing.assert_allclose(frame.get_forces(), forces, atol=1e-7)
        assert frame.info["reference"].startswith("LAMMPS")
        assert frame.info["set"] == "3d" and "perturb_strength_pct" in frame.info
    return frames


@pytest.mark.parametrize("suffix", [".extxyz", ".extxyz.gz"])
def test_interrupted_run_resumes_without_loss_or_duplicates(unlabelled, expected, tmp_path,
                                                            suffix):
    out = tmp_path / f"out{suffix}"

    def interrupt_after_7(count, frame):
        if count == 7:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        label_file(unlabelled, out, EXTEP, show_progress=False, on_written=interrupt_after_7)
    assert len(read_labelled(out)) == 7  # everything written before the interruption
    # a run killed while writing leaves half a frame: the rerun drops it and goes on
    half = "60\nLattice=\"1 0 0 0 1 0 0 0 1\" Properties=species:S:1:pos:R:3\nB 0 0 0\n"
    with open(out, "ab") as handle:
        data = half.encode()
        handle.write(gzip.compress(data)[:-12] if suffix.endswith(".gz") else data)
    summary = label_file(unlabelled, out, EXTEP, show_progress=False)
    assert summary["n_already_done"] == 7 and summary["n_labelled"] == 14
    _check_complete(out, expected, 21)
    # a third run has nothing to do
    again = label_file(unlabelled, out, EXTEP, show_progress=False)
    assert again["n_labelled"] == 0 and again["n_already_done"] == 21


def test_parallel_equals_serial(unlabelled, expected, tmp_path):
    serial, parallel = tmp_path / "serial.extxyz", tmp_path / "parallel.extxyz"
    label_file(unlabelled, serial, EXTEP, workers=1, show_progress=False)
    summary = label_file(unlabelled, parallel, EXTEP, workers=2, show_progress=False)
    assert summary["n_labelled"] == 21 and not summary["failed"]
    a = _check_complete(serial, expected, 21)
    b = _check_complete(parallel, expected, 21)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.positions, y.positions)
        assert x.get_potential_energy() == y.get_potential_energy()
        np.testing.assert_array_equal(x.get_forces(), y.get_forces())
        assert {k: v for k, v in x.info.items() if k != KEY_SECONDS} == \
            {k: v for k, v in y.info.items() if k != KEY_SECONDS}


def test_limit_and_reordered_input(unlabelled, tmp_path):
    from ase.io import read, write

    out = tmp_path / "out.extxyz"
    assert label_file(unlabelled, out, EXTEP, limit=4, show_progress=False)["n_labelled"] == 4
    # the same structures in another order are recognised by their fingerprint
    frames = read(unlabelled, ":")[::-1]
    shuffled = tmp_path / "reversed.extxyz"
    write(shuffled, frames)
    summary = label_file(shuffled, out, EXTEP, show_progress=False)
    assert summary["n_already_done"] == 4 and summary["n_labelled"] == 17
    labelled = read_labelled(out)
    assert sorted(f.info[KEY_HASH] for f in labelled) == sorted(structure_hash(a) for a in frames)


def test_cli(unlabelled, tmp_path, capsys):
    out = tmp_path / "cli.extxyz.gz"
    args = ["data", "label", str(unlabelled), str(out), "--reference", "extep", "--quiet"]
    assert main(args) == 0
    assert "labelled 21 structure(s)" in capsys.readouterr().out
    assert main(args) == 0
    resumed = capsys.readouterr().out
    assert "21 of 21 were already done" in resumed
    assert "nan" not in resumed and "per structure" not in resumed  # nothing was timed
    assert main(["data", "info", str(out)]) == 0  # the output is valid training data
    assert main(["data", "label", str(unlabelled), str(tmp_path / "x.txt"),
                 "--reference", "extep"]) == 2
    assert "extended XYZ" in capsys.readouterr().err
    assert main(["data", "label", str(tmp_path / "missing.xyz"), str(out),
                 "--reference", "extep"]) == 2


def test_gpaw_missing_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "gpaw", None)  # import gpaw raises ImportError
    with pytest.raises(UserError, match=r"pip install 'areanet\[dft\]'") as err:
        import_gpaw()
    assert "libxc-dev" in str(err.value)


def test_gpaw_defaults_are_the_data_settings():
    s = LabelSettings()
    assert (s.mode, s.basis, s.xc, s.h, s.kpts, s.smearing, s.symmetry, s.poisson) == \
        ("lcao", "dzp", "PBE", 0.15, (1, 1, 1), 0.01, "off", "fft")
    with pytest.raises(UserError):
        LabelSettings(h=-1).check()
    with pytest.raises(UserError, match="--poisson multigrid: choose one of fd, fft"):
        LabelSettings(poisson="multigrid").check()


def test_poisson_solver_reaches_gpaw():
    pytest.importorskip("gpaw")  # gpaw_kwargs builds GPAW's occupation object
    assert LabelSettings().gpaw_kwargs()["poissonsolver"] == {"name": "fft"}
    assert "poissonsolver" not in LabelSettings(poisson="fd").gpaw_kwargs()  # GPAW's FD default


def test_relabelling_a_labelled_file_keeps_its_source_hash(unlabelled, tmp_path):
    """Relabelling with other settings must not move a frame between the splits that draw
    from its ``source_hash`` (a hash carried from the candidate file, as for the strain set)."""
    from ase.io import write

    first = tmp_path / "first.extxyz"
    label_file(unlabelled, first, EXTEP, show_progress=False)
    old = read_labelled(first)
    old[0].info[KEY_HASH] = "c0ffee" * 4  # a hash its positions would not give
    write(first, old, format="extxyz")
    second = tmp_path / "second.extxyz"
    tersoff = LabelSettings(reference="tersoff")
    assert label_file(first, second, tersoff, show_progress=False)["n_labelled"] == 21
    new = read_labelled(second)
    assert [f.info[KEY_HASH] for f in new] == [f.info[KEY_HASH] for f in old]
    assert new[0].info[KEY_HASH] == "c0ffee" * 4
    assert new[0].get_potential_energy() != pytest.approx(old[0].get_potential_energy())
    assert label_file(first, second, tersoff, show_progress=False)["n_labelled"] == 0


@pytest.mark.skipif(importlib.util.find_spec("gpaw") is None,
                    reason="GPAW not installed (optional extra areanet[dft])")
def test_gpaw_labels_a_small_cell(tmp_path):
    """A 4-atom cell on a coarse grid: GPAW runs through the labeller, resumably."""
    from ase.io import write

    atoms = perfect_sheet(2.52, nx=1, ny=1)
    atoms.positions[0, 0] += 0.05
    src = tmp_path / "cell.extxyz"
    write(src, [atoms])
    settings = LabelSettings(h=0.2, kpts=(2, 1, 1))
    out = tmp_path / "gpaw.extxyz"
    summary = label_file(src, out, settings, show_progress=False)
    assert summary["n_labelled"] == 1
    (frame,) = read_labelled(out)
    assert frame.info["reference"].startswith("GPAW") and "PBE" in frame.info["reference"]
    e, f = frame.get_potential_energy(), frame.get_forces()
    assert -12.0 < e / len(frame) < -4.0  # -8.6 eV/atom at h = 0.15; the coarse grid shifts it
    assert f[0, 0] < -0.3  # the displaced B is pulled back
    assert np.abs(f.sum(axis=0)).max() < 0.3  # Newton's third law up to the grid's noise
    assert label_file(src, out, settings, show_progress=False)["n_labelled"] == 0


@pytest.mark.skipif(importlib.util.find_spec("gpaw") is None,
                    reason="GPAW not installed (optional extra areanet[dft])")
def test_gpaw_fft_poisson_energy_is_quadratic_in_shear():
    """The default (FFT) Poisson solver gives an energy analytic in the shear of the cell:
    E(2δ) − E(0) = 4 (E(δ) − E(0)). GPAW's FD stencil for a sheared cell does not (a rise
    nearly linear in |δ|, data/README.md "Sheared cells")."""
    from areanet.training.data.labellers import GpawLabeller

    labeller = GpawLabeller(LabelSettings(h=0.2, kpts=(3, 2, 1),
                                          extra={"convergence": {"energy": 1e-8}}))
    sheet = perfect_sheet(2.5198, nx=1, ny=1)

    def sheared(delta):
        atoms = sheet.copy()
        cell = atoms.cell.array.copy()
        cell[1, 0] += delta * cell[1, 1]  # x += δ y: engineering shear δ
        atoms.set_cell(cell, scale_atoms=True)
        return labeller.energy(atoms)

    e0, e1, e2 = sheared(0.0), sheared(0.003), sheared(0.006)
    assert e1 - e0 > 0
    assert (e2 - e0) / (e1 - e0) == pytest.approx(4.0, abs=0.3)


def test_reference_must_be_named(tmp_path, capsys, unlabelled):
    # a copied ExTeP line without --reference must not start hours of GPAW
    with pytest.raises(SystemExit) as exit_:
        main(["data", "label", str(unlabelled), str(tmp_path / "out.extxyz"), "--quiet"])
    assert exit_.value.code == 2
    assert "--reference" in capsys.readouterr().err
    assert not (tmp_path / "out.extxyz").exists()


def test_compare_matches_relabelled_frames_in_any_order(unlabelled, tmp_path, capsys):
    """`areanet data compare`: frame-by-frame differences of two labellings, matched by hash."""
    from ase.io import write

    from areanet.training.data.compare import compare_labels, summarise

    extep, tersoff = tmp_path / "extep.extxyz", tmp_path / "tersoff.extxyz"
    label_file(unlabelled, extep, EXTEP, show_progress=False)
    label_file(extep, tersoff, LabelSettings(reference="tersoff"), show_progress=False)
    old = read_labelled(extep)
    new = read_labelled(tersoff)[::-1]  # another order: matched by source_hash
    rows = compare_labels(old, new)
    for row, b in zip(rows, new):
        a = old[row["old_index"]]
        assert row["old_index"] == len(old) - 1 - row["new_index"]
        assert row["de_per_atom"] == pytest.approx(
            (b.get_potential_energy() - a.get_potential_energy()) / len(a), abs=1e-12)
        assert row["df_max"] == pytest.approx(np.abs(b.get_forces() - a.get_forces()).max())
        assert row["set"] == "3d" and abs(row["shear_cos"]) > 0  # 3d cells are sheared
    assert summarise(rows)["n"] == 21
    assert main(["data", "compare", str(extep), str(tersoff)]) == 0
    assert "21 frames" in capsys.readouterr().out

    moved = read_labelled(tersoff)
    moved[3].positions[0, 0] += 0.01  # the carried hash now names another structure
    write(tmp_path / "moved.extxyz", moved, format="extxyz")
    with pytest.raises(UserError, match="frame 3 of the new file is not the structure"):
        compare_labels(old, read_labelled(tmp_path / "moved.extxyz"))
    with pytest.raises(UserError, match="frame 0 of the new file .* is not a structure of the old"):
        compare_labels(old[1:], read_labelled(tersoff))


def test_labels_of_other_settings_are_never_appended(unlabelled, tmp_path):
    """OUT labelled by ExTeP, then a Tersoff run into the same OUT: refused before any work,
    OUT untouched (one file, one reference method)."""
    out = tmp_path / "out.extxyz"
    label_file(unlabelled, out, EXTEP, limit=5, show_progress=False)
    before = out.read_bytes()
    with pytest.raises(UserError, match="holds frames labelled by 'LAMMPS.*extep.*cannot be mixed"):
        label_file(unlabelled, out, LabelSettings(reference="tersoff"), show_progress=False)
    assert out.read_bytes() == before
    assert label_file(unlabelled, out, EXTEP, show_progress=False)["n_labelled"] == 16  # same settings resume
