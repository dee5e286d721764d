"""pair_style areanet under MPI domain decomposition: `mpiexec -np 2 lmp` equals one rank.

Two ranks split the sheet in the plane, so area elements straddle the sub-domain boundary
and their edges reach ghost atoms whose forces LAMMPS sends back (newton on). Energy,
per-atom energy, forces, per-atom virial and pressure must equal the one-rank run to 1e-10,
also after a few MD steps; an incomplete element on either rank stops the run through
error->one with the atom's ID; the NVE example runs on two ranks; every rank loads the
TorchScript library on demand for `pair_style areanet torchscript`.
"""
import re

import numpy as np
import pytest

import lammps_helpers
from lammps_helpers import (
    MPIEXEC,
    ROOT,
    make_sheet,
    perturb,
    plugin_library,
    read_dump,
    run_lmp,
    two_rank_input,
    with_isolated_atom,
    write_model,
)

TOL = 1e-10

@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    if not MPIEXEC.exists():
        pytest.skip(f"{MPIEXEC} not found (install lammps[mpi] in the venv)")
    workdir = tmp_path_factory.mktemp("mpi")
    model, _ = write_model(workdir / "areanet.pt", "auto")
    return plugin_library(), model, workdir


def run_ranks(setup, nprocs: int, atoms, tag: str, pair_style: str = "areanet"):
    plugin, model, base = setup
    lines, step0, step10, _ = lammps_helpers.run_ranks(plugin, model, base / f"{tag}-np{nprocs}", atoms, nprocs,
                                                       pair_style=pair_style)
    return lines, step0, step10


def assert_close(a, b, what):
    scale = max(np.abs(b).max(), 1e-12)
    err = np.abs(np.asarray(a) - np.asarray(b)).max()
    assert err <= TOL * scale, f"{what}: two ranks differ from one by {err:.3e} (scale {scale:.3e})"


def test_two_ranks_equal_one(setup):
    atoms = perturb(make_sheet.hbn_sheet(10, 6), np.random.default_rng(11))  # 240 atoms
    one = run_ranks(setup, 1, atoms, "sheet")
    two = run_ranks(setup, 2, atoms, "sheet")
    (lines1, step0_1, step10_1), (lines2, step0_2, step10_2) = one, two
    assert_close(lines2["STEP0"][0], lines1["STEP0"][0], "energy")
    assert_close(lines2["STEP0"][1:], lines1["STEP0"][1:], "pressure tensor")
    xyz, force = ["x", "y", "z"], ["fx", "fy", "fz"]
    virial = [f"c_vir[{k}]" for k in range(1, 7)]

    def table(dump, names):
        return np.stack([dump[name] for name in names], axis=1)

    assert np.array_equal(step0_1["id"], step0_2["id"]) and np.array_equal(step0_1["type"], step0_2["type"])
    assert_close(table(step0_2, force), table(step0_1, force), "forces")
    assert_close(step0_2["c_pea"], step0_1["c_pea"], "per-atom energy")
    assert_close(table(step0_2, virial), table(step0_1, virial), "per-atom virial")
    assert np.abs(table(step0_1, force)).max() > 1e-6
    # after 10 NVE steps (atoms crossing between ranks, ghosts rebuilt)
    assert_close(lines2["STEP10"], lines1["STEP10"], "energies after 10 steps")
    assert_close(table(step10_2, xyz), table(step10_1, xyz), "positions after 10 steps")
    assert_close(table(step10_2, force), table(step10_1, force), "forces after 10 steps")


def test_torchscript_on_two_ranks_equals_native(setup):
    atoms = perturb(make_sheet.hbn_sheet(6, 4), np.random.default_rng(17))  # 96 atoms
    lines1, step0_1, _ = run_ranks(setup, 1, atoms, "native")
    lines2, step0_2, _ = run_ranks(setup, 2, atoms, "torchscript", pair_style="areanet torchscript")
    force = ["fx", "fy", "fz"]
    assert_close(lines2["STEP0"], lines1["STEP0"], "energy and pressure")
    assert_close(np.stack([step0_2[k] for k in force], 1), np.stack([step0_1[k] for k in force], 1), "forces")
    assert_close(lines2["STEP10"], lines1["STEP10"], "energies after 10 steps")


def test_incomplete_element_on_two_ranks(setup):
    """The rank that owns the atom finds it; every rank stops through error->all with its ID,
    and the message reaches the screen and the log file (written by rank 0)."""
    plugin, model, base = setup
    workdir = base / "isolated-np2"
    workdir.mkdir()
    sheet = perturb(make_sheet.hbn_sheet(6, 4), np.random.default_rng(5), 0.02, 0.02)
    atoms = with_isolated_atom(sheet)
    data = workdir / "sheet.data"
    make_sheet.write_lammps_data(data, atoms)
    proc = run_lmp(two_rank_input(plugin, data, model), workdir, nprocs=2, timeout=120)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    pattern = r"ERROR: Pair areanet: no complete area element at atom ID (\d+) .*\(on proc (\d)\)"
    for text in (output, (workdir / "in.test.log").read_text()):
        match = re.search(pattern, text)
        assert match, text[-3000:]
        assert int(match.group(1)) == len(atoms)
    assert "terminate called" not in output and "c10::Error" not in output


def test_nve_example_on_two_ranks(setup):
    plugin, model, base = setup
    workdir = base / "example-nve"
    workdir.mkdir()
    make_sheet.write_lammps_data(workdir / "sheet.data", make_sheet.hbn_sheet(10, 6))
    example = (ROOT / "examples" / "hbn" / "in.nve").read_text()
    variables = {"plugin": plugin, "model": model, "data": "sheet.data", "steps": 20, "every": 10}
    drift = {}
    for nprocs in (1, 2):
        variables["name"] = f"nve-np{nprocs}"
        proc = run_lmp(example, workdir, nprocs=nprocs, variables=variables, name=f"in.nve{nprocs}")
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        line = next(l for l in proc.stdout.splitlines() if l.startswith("NVE energy drift:"))
        drift[nprocs] = float(line.split()[3])
        assert (workdir / f"nve-np{nprocs}.log.lammps").is_file()
        dump = read_dump(workdir / f"nve-np{nprocs}.dump")
        assert len(dump["id"]) == 240 and set(dump["element"]) == {"B", "N"}
    assert drift[2] == pytest.approx(drift[1], rel=1e-6, abs=1e-9)
