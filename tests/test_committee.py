"""The model committee of pair_style areanet (issue 14): DeePMD-kit's model deviation in LAMMPS.

`pair_style areanet out_freq N out_file FILE [atomic]` with `pair_coeff * * a.pt b.pt ... B N`
runs MD with the first model and writes, every N steps, the deviation of all models' forces
and virials (lammps_plugin/areanet_committee.h). The file's numbers must equal the same
definitions computed independently here from the ASE calculators of the same model files on
the dumped frames (to 1e-10); one model and two identical models give exactly zero; two MPI
ranks give the one-rank file; `fix pair` exposes the per-atom deviation, and `fix halt` on it
stops at the first step past a threshold; inconsistent committees are refused by name.
The shipped committee (models/hbn-pbe.pt + models/hbn-pbe-committee/) is what runs.
"""
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from areanet.potential import AreaNet, AreaNetCalculator, ModelConfig, export_model
from ase import Atoms

from lammps_helpers import MPIEXEC, ROOT, make_sheet, run_lmp, setup_commands

TOL = 1e-10
FIRST = ROOT / "models" / "hbn-pbe.pt"
MEMBERS = sorted((ROOT / "models" / "hbn-pbe-committee").glob("seed*.pt"))
COMMITTEE = [FIRST, *MEMBERS]
HEADER = ("#       step         max_devi_v         min_devi_v         avg_devi_v"
          "         max_devi_f         min_devi_f         avg_devi_f")


def md_input(models, data: Path, *, out_freq: int = 10, steps: int = 40, extra: str = "",
             style_extra: str = "atomic", temperature: float = 800.0) -> str:
    files = " ".join(str(m) for m in models)
    return setup_commands(data, files, pair_style=f"areanet out_freq {out_freq} out_file devi.out {style_extra}") + f"""\
velocity all create {temperature} 4928 mom yes rot yes dist gaussian loop geom
fix nve all nve
fix devi all pair {out_freq} areanet model_devi 1
dump traj all custom {out_freq} traj.dump id type x y z f_devi
dump_modify traj sort id format float %.17g
{extra}
thermo {out_freq}
run {steps}
"""


def read_frames(path: Path) -> list[dict]:
    """Every snapshot of a dump custom file: step and {column: array} sorted by atom ID."""
    frames = []
    lines = path.read_text().splitlines()
    k = 0
    while k < len(lines):
        assert lines[k].startswith("ITEM: TIMESTEP")
        step, n = int(lines[k + 1]), int(lines[k + 3])
        names = lines[k + 8].split()[2:]
        rows = np.array([line.split() for line in lines[k + 9:k + 9 + n]], dtype=float)
        frame = {name: rows[:, j] for j, name in enumerate(names)}
        order = np.argsort(frame["id"])
        frames.append({"step": step, **{name: v[order] for name, v in frame.items()}})
        k += 9 + n
    return frames


def read_devi(path: Path) -> tuple[str, np.ndarray]:
    lines = path.read_text().splitlines()
    return lines[0], np.array([line.split() for line in lines[1:]], dtype=float)


def reference_deviation(models, atoms: Atoms, relative: float | None = None,
                        relative_v: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """DeePMD-kit's definitions from the ASE calculators: ([max_v, min_v, avg_v, max_f,
    min_f, avg_f], e_i per atom); ``relative``/``relative_v``: its relative deviations,
    e_i / (|<F_i>| + level) and s_ab / (|<W>|/N + level)."""
    forces, virials = [], []
    for model in models:
        a = atoms.copy()
        a.calc = AreaNetCalculator(str(model))
        forces.append(a.get_forces())
        virials.append(-a.get_stress(voigt=False).reshape(9) * a.get_volume())  # eV
    forces, virials = np.array(forces), np.array(virials)  # [M, n, 3], [M, 9]
    e_i = np.sqrt(((forces - forces.mean(0)) ** 2).sum(2).mean(0))  # [n]
    s_ab = np.sqrt(((virials - virials.mean(0)) ** 2).mean(0)) / len(atoms)  # [9]
    if relative is not None:
        e_i = e_i / (np.linalg.norm(forces.mean(0), axis=1) + relative)
    if relative_v is not None:
        s_ab = s_ab / (np.linalg.norm(virials.mean(0)) / len(atoms) + relative_v)
    summary = [s_ab.max(), s_ab.min(), np.linalg.norm(s_ab) / 3, e_i.max(), e_i.min(), e_i.mean()]
    return np.array(summary), e_i


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, plugin):
    assert len(MEMBERS) >= 2, "the shipped committee (models/hbn-pbe-committee/) is missing"
    return tmp_path_factory.mktemp("committee")


def sheet_data(workdir: Path, name: str, nx: int = 5, ny: int = 3, strain: float = 0.0):
    atoms = make_sheet.hbn_sheet(nx, ny, a=make_sheet.A_PBE)
    atoms.set_cell(atoms.cell.array @ np.diag([1 + strain, 1 + strain, 1.0]), scale_atoms=True)
    return make_sheet.write_lammps_data(workdir / name, atoms)


def run_ok(text: str, where: Path, nprocs: int = 1):
    where.mkdir(parents=True, exist_ok=True)
    proc = run_lmp(text, where, nprocs=nprocs)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


# relative_v divides by the members' virial, which for a charged model is that of the local
# part (README): two local models make the reference the plain DeePMD-kit formula
LOCAL_PAIR = [ROOT / "models" / "hbn-pbe-local.pt", ROOT / "models" / "hbn-extep.pt"]


@pytest.mark.parametrize("relative, relative_v", [(None, None), (0.5, 0.02)])
def test_deviation_file_equals_ase_computation(workdir, relative, relative_v):
    framed = sheet_data(workdir, "sheet.data")
    where = workdir / f"md-{relative}"
    keywords = "atomic" + (f" relative {relative} relative_v {relative_v}" if relative else "")
    committee = LOCAL_PAIR if relative else COMMITTEE
    proc = run_ok(md_input(committee, workdir / "sheet.data", style_extra=keywords), where)
    if relative:
        assert "force deviations relative, level 0.5 eV/A; virial deviations relative, level 0.02 eV" in proc.stdout
    header, rows = read_devi(where / "devi.out")
    assert header.startswith(HEADER) and header.endswith("atm_devi_f(N)")
    frames = read_frames(where / "traj.dump")
    assert [f["step"] for f in frames] == [0, 10, 20, 30, 40] == rows[:, 0].astype(int).tolist()
    for row, frame in zip(rows, frames):
        atoms = framed.copy()
        atoms.positions = np.stack([frame["x"], frame["y"], frame["z"]], 1)
        summary, e_i = reference_deviation(committee, atoms, relative, relative_v)
        step = frame["step"]
        assert np.abs(row[1:7] - summary).max() <= TOL, (step, row[1:7], summary)
        assert np.abs(row[7:] - e_i).max() <= TOL, step  # `atomic`, in atom-ID order
        assert np.abs(frame["f_devi"] - e_i).max() <= TOL, step  # fix pair's model_devi
        if step > 0:  # the committee disagrees once the atoms move
            assert summary[3] > 1e-3 and summary[0] > 1e-6


def test_one_model_and_two_identical_models_give_zero(workdir):
    sheet_data(workdir, "sheet.data")
    for name, models in (("one", [FIRST]), ("same", [FIRST, FIRST]), ("copy", [MEMBERS[0], MEMBERS[0]])):
        where = workdir / name
        run_ok(md_input(models, workdir / "sheet.data", steps=20), where)
        header, rows = read_devi(where / "devi.out")
        assert header.startswith(HEADER) and len(rows) == 3
        assert np.all(rows[:, 1:] == 0.0), (name, rows)


@pytest.mark.skipif(not MPIEXEC.exists(), reason="mpiexec not in the venv")
def test_two_ranks_write_the_one_rank_file(workdir):
    sheet_data(workdir, "sheet240.data", 10, 6)
    files = {}
    for n in (1, 2):
        where = workdir / f"np{n}"
        proc = run_ok(md_input(COMMITTEE, workdir / "sheet240.data", steps=30), where, nprocs=n)
        assert n == 1 or "1 by 2 by 1 MPI processor grid" in proc.stdout or "2 by 1 by 1 MPI" in proc.stdout
        files[n] = read_devi(where / "devi.out")[1]
    one, two = files[1], files[2]
    assert one.shape == two.shape == (4, 7 + 240)
    scale = np.abs(one[:, 1:]).max()
    assert np.abs(one - two).max() <= TOL * scale
    assert one[1:, 4].min() > 1e-3


def test_fix_halt_stops_at_the_first_step_past_the_threshold(workdir):
    sheet_data(workdir, "sheet.data")
    where = workdir / "every-step"
    run_ok(md_input(COMMITTEE, workdir / "sheet.data", out_freq=1, steps=30, style_extra=""), where)
    max_f = read_devi(where / "devi.out")[1][:, 4]  # steps 0 .. 30
    first = next(k for k in range(5, 31) if max_f[k] > max_f[:k].max() * 1.001)  # a new maximum
    threshold = float(0.5 * (max_f[:first].max() + max_f[first]))
    halt = f"""
compute maxdevi all reduce max f_devi
variable maxdevi equal c_maxdevi
fix stop all halt 1 v_maxdevi > {threshold!r} error continue
"""
    where = workdir / "halt"
    proc = run_ok(md_input(COMMITTEE, workdir / "sheet.data", out_freq=1, steps=30, style_extra="",
                           extra=halt) + 'print "STOPPED AT $(step)"\n', where)
    stopped = int(re.search(r"STOPPED AT (\d+)", proc.stdout).group(1))
    assert stopped == first, (stopped, first, threshold, max_f[: first + 1])
    assert "Fix halt condition for fix-id stop met on step" in proc.stdout + proc.stderr


# --- bad committees --------------------------------------------------------------------------


def random_file(path: Path, **config) -> Path:
    torch.manual_seed(3)
    return export_model(AreaNet(ModelConfig(**config)).eval(), path)


def coeff_error(workdir: Path, name: str, models, species: str = "B N", keywords: str = "") -> str:
    where = workdir / name
    where.mkdir(exist_ok=True)
    files = " ".join(str(m) for m in models)
    text = setup_commands(workdir / "sheet.data", files, species=species,
                          pair_style=f"areanet out_freq 10 out_file devi.out {keywords}") + "run 0\n"
    proc = run_lmp(text, where)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "ERROR" in out and "Traceback" not in out, out[-2000:]
    return out


def test_bad_committees_are_refused_by_name(workdir):
    sheet_data(workdir, "sheet.data")
    local = random_file(workdir / "local.pt")
    other_species = random_file(workdir / "nb.pt", species=["N", "B"])
    other_cutoff = random_file(workdir / "cut35.pt", cutoff=3.5)
    charged_other = random_file(workdir / "q1.pt", charge=1.0)

    out = coeff_error(workdir, "species", [local, other_species])
    assert "committee model" in out and "nb.pt has species N B" in out and "same order" in out
    out = coeff_error(workdir, "cutoff", [local, other_cutoff])
    assert "cut35.pt has cutoff 3.5 A" in out and "same cutoff" in out
    out = coeff_error(workdir, "version", [FIRST, local])
    assert "local.pt has format version 1" in out and "format version 2" in out
    out = coeff_error(workdir, "charges", [FIRST, charged_other])
    assert "q1.pt has other species charges" in out
    damaged = workdir / "damaged.pt"
    data = bytearray(MEMBERS[0].read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside the weights: a CRC-32 mismatch
    damaged.write_bytes(bytes(data))
    out = coeff_error(workdir, "damaged", [FIRST, damaged])
    assert "committee member model file" in out and "damaged.pt is damaged" in out
    out = coeff_error(workdir, "missing", [FIRST, workdir / "no-such.pt"])
    assert "cannot open committee model file" in out and "no-such.pt" in out
    for keywords, needle in [("relative", "relative needs a level (eV/A, added to |<F_i>|)"),
                             ("relative 0", "relative 0 must be a positive level"),
                             ("relative_v -1", "relative_v -1 must be a positive level (eV per atom")]:
        out = coeff_error(workdir, keywords.replace(" ", ""), COMMITTEE, keywords=keywords)
        assert needle in out, out[-1500:]
    out = coeff_error(workdir, "species-count", [FIRST], species="B N N")
    assert "exactly 2 species name(s)" in out and "'B' is a species" in out
    out = coeff_error(workdir, "freq", [FIRST], species="B N\npair_style areanet out_freq 0")
    assert "out_freq 0 must be >= 1" in out
    out = coeff_error(workdir, "keyword", [FIRST], species="B N\npair_style areanet out_frq 10")
    assert "unknown argument 'out_frq'" in out and "out_freq N" in out


# --- the example and the benchmark ------------------------------------------------------------


def test_committee_example_runs_and_halts(workdir):
    where = workdir / "example"
    where.mkdir()
    make_sheet.main(["--atoms", "240", "--a", str(make_sheet.A_PBE), "-o", str(where / "sheet-240.data")])
    text = (ROOT / "examples" / "hbn" / "in.committee").read_text()
    variables = {"data": "sheet-240.data", "steps": 60, "T": 1500, "halt": 0.05,
                 **{f"m{k}": str(m) for k, m in enumerate(COMMITTEE[:4])}}
    proc = run_lmp(text, where, variables=variables)
    assert proc.returncode == 0, proc.stdout[-3000:]
    line = next(line for line in proc.stdout.splitlines() if line.startswith("committee MD at 1500 K"))
    stopped = int(re.search(r"stopped at step (\d+)", line).group(1))
    rows = read_devi(where / "committee-1500.devi")[1]
    first = next(int(r[0]) for r in rows if r[4] > 0.05 and r[0] > 0)  # fix halt skips step 0
    assert stopped == first < 60


def test_bench_committee_smoke(plugin, tmp_path):
    from areanet.training.cli import main

    assert main(["bench", "committee", str(FIRST), str(MEMBERS[0]), "--atoms", "60", "--steps", "20",
                 "--warmup", "2", "--freqs", "10", "--plugin", str(plugin), "--out", str(tmp_path)]) == 0
    text = (tmp_path / "committee.md").read_text()
    assert "| single | 1 |" in text and "| committee, out_freq 10 | 2 |" in text
