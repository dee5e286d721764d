"""The growing wider-domain GPAW files parse, and hold what data/README.md says they hold."""
import re
from pathlib import Path

import pytest

from areanet.training.data.generate import STRAIN_LEVELS, STRAIN_MODES, generate
from areanet.training.data.label import KEY_HASH, structure_hash
from areanet.training.data.structures import data_hash, read_structures

DATA = Path(__file__).resolve().parents[1] / "data"


def _documented(heading: str) -> tuple[int, str]:
    """(frame count, data hash) stated under the README section whose heading holds ``heading``."""
    text = DATA.joinpath("README.md").read_text()
    section = text.split(heading, 1)[1].split("\n## ", 1)[0]
    count = re.search(r"Labelled so far[^*]*\*\*(\d+) frames\*\*", section)
    digest = re.search(r"data hash\s+`([0-9a-f]{64})`", section)
    assert count and digest, f"data/README.md: no count or hash under {heading!r}"
    return int(count.group(1)), digest.group(1)


@pytest.mark.parametrize("name, heading", [("strain", "strained cells (`hbn_pbe_strain"),
                                           ("md_hot", "hot MD snapshots (`hbn_pbe_md_hot")])
def test_counts_and_hashes_as_documented(name, heading):
    frames = read_structures(DATA / f"hbn_pbe_{name}.extxyz.gz")
    count, digest = _documented(heading)
    assert len(frames) == count
    assert data_hash(frames) == digest
    sizes = {60} if name == "strain" else {60, 120}  # round a1 adds 120-atom rectangular cells
    assert all(len(f) in sizes and "GPAW" in f.info["reference"] for f in frames)


def test_strain_frames_are_the_documented_candidates():
    # the labelled frames are candidates of `data generate --protocol strain --per-level 6
    # --seed 2027 --lattice-constant 2.5198` (data/README.md), taken from the front of its
    # stratified order; the file is in the order they finished (two workers; a stopped run
    # can leave a structure that was in flight for the next one)
    frames = read_structures(DATA / "hbn_pbe_strain.extxyz.gz")
    candidates = generate("strain", "extep", per_level=6, seed=2027, show_progress=False,
                          lattice_constant=2.5198)
    keys = [structure_hash(c) for c in candidates]
    indices = [int(f.info["source_index"]) for f in frames]
    assert [str(f.info[KEY_HASH]) for f in frames] == [keys[k] for k in indices]
    assert len(set(indices)) == len(indices) and max(indices) < len(frames) + 4
    bins = {(f.info["strain_mode"], float(f.info["strain_pct"])) for f in frames}
    assert bins <= {(m, e) for m in STRAIN_MODES for e in STRAIN_LEVELS}


def test_a_closed_pipe_is_no_traceback():
    # `areanet data info FILE | head -1`: the reader leaves early, the command says nothing more
    import subprocess
    import sys

    command = (f"{Path(sys.executable).parent / 'areanet'} data info "
               f"{DATA / 'hbn_pbe_md_hot.extxyz.gz'} | head -c 10")
    proc = subprocess.run(["bash", "-c", f"set -o pipefail; {command}"], capture_output=True,
                          text=True, timeout=300)
    assert len(proc.stdout) == 10
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr
    assert proc.returncode == 141


def test_module_entry_point_is_the_command():
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "areanet.training.cli", "data", "info",
                           str(DATA / "hbn_pbe_md_hot.extxyz.gz")], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"{_documented('hot MD snapshots (`hbn_pbe_md_hot')[0]} structures")


def _fft_table() -> dict[str, tuple[int, str]]:
    """{file: (frames, data hash)} of the FFT-relabel table in data/README.md."""
    text = DATA.joinpath("README.md").read_text()
    block = text.split("<!-- fft-table", 1)[1].split("<!-- /fft-table -->", 1)[0]
    rows = re.findall(r"^\| `(hbn_pbe_\w+\.extxyz\.gz)` \| (\d+) of .*`([0-9a-f]{64})` \|$", block, re.M)
    return {name: (int(n), digest) for name, n, digest in rows}


def test_fft_relabels_as_documented():
    table = _fft_table()
    assert table and set(table) == {p.name for p in (DATA / "fft").glob("*.extxyz.gz")}
    for name, (count, digest) in table.items():
        frames = read_structures(DATA / "fft" / name)
        assert len(frames) == count, name
        assert data_hash(frames) == digest, name
        assert all("poisson=fft" in f.info["reference"] for f in frames), name


def test_fft_relabels_move_the_energy_and_keep_the_forces():
    """The FFT relabel of a frame is its FD frame's structure; the forces agree far below the
    grid noise; the energy moves by an offset that depends on the cell only (one value for
    every frame of one orthogonal cell), never by what the atoms do inside it."""
    from areanet.training.data.compare import compare_labels
    from areanet.training.data.label import source_key

    for name in _fft_table():
        old = read_structures(DATA / name)
        keys = {source_key(a) for a in old}
        new = [f for f in read_structures(DATA / "fft" / name) if source_key(f) in keys]
        rows = compare_labels(old, new)
        assert len(rows) == len(new) > 0
        assert max(r["df_max"] for r in rows) < 0.01, name
        assert all(-0.030 < r["de_per_atom"] < -0.015 for r in rows), name
        by_cell: dict[tuple, list[float]] = {}
        for r, atoms in zip(rows, new):
            if abs(r["shear_cos"]) < 1e-9:
                cell = tuple(round(x, 6) for x in atoms.cell.array.ravel())
                by_cell.setdefault(cell, []).append(r["de_per_atom"])
        for offsets in by_cell.values():
            assert max(offsets) - min(offsets) < 1e-6, name  # eV/atom
