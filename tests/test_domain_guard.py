"""The domain guard (issue 14): no silent extrapolation in LAMMPS.

`areanet export` stores in the model file the range of every network input and of the
shells' mean distances over the training data (potential/domain.py); pair_style areanet
counts the atoms that leave it by more than guard_margin and says so once per run and in a
summary at its end, while MD goes on (lammps_plugin/areanet_guard.h). Checked here: the
shipped model's domain is that of its training data (re-export reproduces it, the training
structures lie inside); the guard fires on a strained sheet, with the atom count, first
atom and per-atom excess equal to an independent computation in Python, and stays silent
on a sheet inside the domain; where it cannot run, the log says why.
"""
import re
from pathlib import Path

import numpy as np
import torch
import pytest

from areanet.potential.domain import domain_excess
from areanet.potential.export import load_model, read_domain, read_metadata
from areanet.training.cli import main
from areanet.training.fit.config import TrainConfig
from areanet.training.fit.train import read_and_split

from lammps_helpers import ROOT, make_sheet, perturb, run_lmp, setup_commands

MODEL = ROOT / "models" / "hbn-pbe.pt"
MARGIN = 0.02  # Å, the default guard_margin


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, plugin):
    return tmp_path_factory.mktemp("guard")


def guard_input(data: Path, steps: int = 10, style: str = "areanet", model: Path = MODEL) -> str:
    return setup_commands(data, model, pair_style=style) + f"""\
fix dom all pair 1 areanet domain_excess 0
dump d all custom 100 step0.dump id type x y z f_dom
dump_modify d sort id format float %.17g
velocity all create 300 991 mom yes rot yes dist gaussian loop geom
fix nve all nve
thermo 5
run {steps}
"""


def test_the_shipped_model_stores_its_training_domain(tmp_path):
    domain = read_domain(MODEL)
    assert domain is not None and domain.minimum.shape == (2, 39) and list(domain.centres) == [3390, 3390]
    assert np.all(domain.maximum >= domain.minimum)
    # the training structures lie inside, and re-exporting computes the same ranges
    module, meta = load_model(MODEL), read_metadata(MODEL)
    structures, splits = read_and_split(TrainConfig.from_dict(meta["train_config"]))
    for k in splits["train"][:5]:
        assert domain_excess(module, domain, structures[k]).max() == 0.0
    out = tmp_path / "again.pt"
    assert main(["export", str(MODEL), "-o", str(out)]) == 0
    again = read_domain(out)
    assert np.array_equal(again.minimum, domain.minimum) and np.array_equal(again.maximum, domain.maximum)


def test_guard_fires_outside_and_matches_python(workdir):
    atoms = make_sheet.hbn_sheet(5, 3, a=make_sheet.A_PBE)
    atoms.set_cell(atoms.cell.array @ np.diag([1.045, 1.045, 1.0]), scale_atoms=True)  # 4.5 % biaxial
    atoms = perturb(atoms, np.random.default_rng(5), inplane=0.02, normal=0.02)
    framed = make_sheet.write_lammps_data(workdir / "strained.data", atoms)
    expected = domain_excess(load_model(MODEL), read_domain(MODEL), framed)
    outside = np.flatnonzero(expected > MARGIN)
    assert 0 < len(outside) < len(atoms)  # some atoms out, some in: the count is a real test

    proc = run_lmp(guard_input(workdir / "strained.data"), workdir)
    assert proc.returncode == 0, proc.stdout[-3000:]
    log = proc.stdout
    warnings = re.findall(r"WARNING: areanet domain guard: at step (\d+) (\d+) atom\(s\) are outside.*?"
                          r"atom ID (\d+) \(type \d\), (.+?) lies ([0-9.e+-]+) A outside", log)
    assert len(warnings) == 1, log[-3000:]  # once per run
    step, count, first, what, excess = warnings[0]
    assert (int(step), int(count), int(first)) == (0, len(outside), outside[0] + 1)
    assert abs(float(excess) - expected[outside[0]]) < 1e-3 * expected[outside[0]]
    summary = re.search(r"areanet domain guard summary: (\d+) of (\d+) steps had atoms outside.*?"
                        r"(\d+) distinct atom\(s\).*?first at step 0, atom ID (\d+)", log)
    assert summary, log[-2000:]
    assert int(summary.group(2)) == 11 and int(summary.group(1)) >= 1
    assert int(summary.group(3)) >= len(outside) and int(summary.group(4)) == outside[0] + 1
    # the per-atom excess (fix pair domain_excess) at step 0
    dumped = np.loadtxt(workdir / "step0.dump", skiprows=9)
    dumped = dumped[np.argsort(dumped[:, 0])]
    assert np.abs(dumped[:, 5] - expected).max() < 1e-10
    assert "Loop time" in log  # MD went on


def test_guard_is_silent_inside(workdir):
    atoms = perturb(make_sheet.hbn_sheet(5, 3, a=make_sheet.A_PBE), np.random.default_rng(6),
                    inplane=0.02, normal=0.02)
    framed = make_sheet.write_lammps_data(workdir / "inside.data", atoms)
    assert domain_excess(load_model(MODEL), read_domain(MODEL), framed).max() <= MARGIN
    where = workdir / "inside"
    where.mkdir()
    proc = run_lmp(guard_input(workdir / "inside.data", steps=50), where)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "areanet: domain guard on" in proc.stdout
    assert "WARNING" not in proc.stdout and "guard summary" not in proc.stdout


def test_the_log_says_why_the_guard_is_off(workdir):
    from areanet.potential import AreaNet, ModelConfig, export_model

    torch.manual_seed(5)
    no_domain = export_model(AreaNet(ModelConfig()).eval(), workdir / "no-domain.pt")  # no training data
    cases = [("areanet torchscript", MODEL, "off: it needs the native evaluator (pair_style areanet torchscript)"),
             ("areanet", no_domain, "stores no training domain"),
             ("areanet guard no", MODEL, "off (pair_style areanet guard no)")]
    for k, (style, model, said) in enumerate(cases):
        where = workdir / f"off{k}"
        where.mkdir()
        text = guard_input(workdir / "inside.data", steps=0, style=style, model=model)
        text = text.replace("fix dom all pair 1 areanet domain_excess 0\n", "").replace(" f_dom", "")
        proc = run_lmp(text, where)
        assert proc.returncode == 0, proc.stdout[-3000:]
        assert said in proc.stdout, proc.stdout[-2000:]
    # asking for the per-atom excess with the guard off is an error, not zeros
    where = workdir / "off-field"
    where.mkdir()
    proc = run_lmp(guard_input(workdir / "inside.data", steps=0, style="areanet guard no"), where)
    assert proc.returncode != 0 and "domain_excess needs the domain guard" in proc.stdout
