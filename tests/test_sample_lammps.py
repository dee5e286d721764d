"""`areanet data sample --engine lammps` (issue 14): active learning driven by LAMMPS MD.

The shipped committee runs in pair_style areanet under fix nvt / fix npt; the candidates are
the stored steps with the largest max_devi_f inside the trust window, written for
`areanet data label`. Checked: the written frames, their info, the disagreement equal to
the ensemble's force spread recomputed from the ASE calculators on the written frames; the
trust window; NPT; the refusals.
"""
import re
from pathlib import Path

import numpy as np
import pytest
from ase.io import read

from areanet.potential import AreaNetCalculator
from areanet.training.cli import main

from lammps_helpers import ROOT

MODELS = [ROOT / "models" / "hbn-pbe.pt", *sorted((ROOT / "models" / "hbn-pbe-committee").glob("seed*.pt"))]


def sample(out: Path, *extra: str) -> int:
    return main(["data", "sample", *map(str, MODELS), "--engine", "lammps", "--steps", "200",
                 "--interval", "20", "--quiet", "--out", str(out), *extra])


def spread(atoms) -> float:
    forces = []
    for model in MODELS:
        a = atoms.copy()
        a.calc = AreaNetCalculator(str(model))
        forces.append(a.get_forces())
    forces = np.array(forces)
    return float(np.sqrt(((forces - forces.mean(0)) ** 2).sum(2).mean(0)).max())


def test_lammps_sampler_writes_the_most_disagreeing_frames(plugin, tmp_path, capsys):
    out = tmp_path / "cand.extxyz"
    assert sample(out, "--temperature", "300", "900", "--select", "4", "--strain", "1", "0", "0.5") == 0
    printed = capsys.readouterr().out
    assert "stored" in printed and "md900" in printed
    frames = read(out, ":")
    assert len(frames) == 4
    for atoms in frames:
        assert atoms.info["set"] in ("md300", "md900") and atoms.info["step"] > 20  # after equilibration
        assert atoms.info["strain_xy"] == pytest.approx(0.005)
        assert len(atoms) == 60 and "forces" not in atoms.arrays  # unlabelled
        # the disagreement is the LAMMPS committee's max_devi_f of that step
        assert atoms.info["disagreement_ev_per_a"] == pytest.approx(spread(atoms), rel=1e-5)
    by_set = [a.info["disagreement_ev_per_a"] for a in frames if a.info["set"] == "md300"]
    assert by_set == sorted(by_set, reverse=True)


def test_trust_window_and_npt(plugin, tmp_path, capsys):
    out = tmp_path / "npt.extxyz"
    assert sample(out, "--temperature", "600", "--select", "9", "--ensemble", "npt",
                  "--trust-lo", "0.04", "--trust-hi", "0.5") == 0
    frames = read(out, ":")
    assert all(0.04 <= a.info["disagreement_ev_per_a"] < 0.5 for a in frames)
    assert 2 <= len(frames) <= 9
    cells = {round(float(a.cell[0, 0]), 6) for a in frames}
    assert len(cells) == len(frames)  # the barostat moves the cell


def test_a_breakdown_keeps_the_steps_before_it(plugin, tmp_path, capsys):
    # 3 fs steps at 4000 K tear the sheet within ~100 steps: the model names the first atom
    # whose element breaks, and the dumped steps before it are the candidates
    out = tmp_path / "broken.extxyz"
    assert sample(out, "--temperature", "4000", "--timestep", "3", "--steps", "400", "--interval", "10",
                  "--select", "36") == 0
    err = capsys.readouterr().err
    m = re.search(r"warning: LAMMPS MD at 4000 K: Pair areanet: (.*)\[timestep (\d+);.*Kept the (\d+) snapshot", err)
    assert m, err[-2000:]
    broke, kept = int(m.group(2)), int(m.group(3))
    frames = read(out, ":")
    assert len(frames) == kept >= 1
    assert max(a.info["step"] for a in frames) < broke


def test_refusals(tmp_path, capsys):
    out = str(tmp_path / "x.extxyz")
    assert main(["data", "sample", *map(str, MODELS), "--ensemble", "npt", "--out", out]) == 2
    assert "settings of --engine lammps" in capsys.readouterr().err
    assert main(["data", "sample", *map(str, MODELS), "--engine", "lammps", "--trust-lo", "0.3",
                 "--trust-hi", "0.1", "--out", out]) == 2
    assert "0 <= trust-lo < trust-hi" in capsys.readouterr().err
