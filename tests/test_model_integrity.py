"""Issue 11 item 2: a damaged model file is refused, by name, by every host.

A model file is a zip archive; TorchScript itself does not check the CRC-32 of the entries
it reads, so flipped bytes inside a weight tensor used to give wrong numbers in the ASE
calculator and in `pair_style areanet torchscript`. Every host now checks every entry
before anything is used: the Python loaders (potential/export.py, check_model_file), the
ASE calculator, and pair_style areanet's own zip reader on both of its paths. Here the
shipped model is damaged in one place at a time -- inside a weight tensor, the compiled
code (a deflated entry), the pickles, metadata.json, the native extra, and the central
directory -- and each host must refuse each copy with a message naming it.
"""
import shutil
import struct
import zipfile
from pathlib import Path

import pytest

from areanet.potential import AreaNetCalculator, ModelFileError, load_model, read_metadata
from areanet.potential.export import read_native

from conftest import hbn_sheet

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "models" / "hbn-extep.pt"

# (label, entry name under the archive's root folder)
DATA_SITES = [
    ("weights", "data/11"),  # a [32, 36] weight matrix (9216 bytes)
    ("code", "code/__torch__/areanet/potential/model.py"),  # deflated
    ("pickle", "data.pkl"),
    ("constants", "constants.pkl"),
    ("metadata", "extra/metadata.json"),
    ("native", "extra/areanet_native.bin"),
]
SITES = [label for label, _ in DATA_SITES] + ["directory-crc", "directory-name"]


def damaged_copy(source: Path, site: str, folder: Path) -> Path:
    """A copy of ``source`` with 64 bytes (fewer for small entries) inverted at ``site``."""
    data = bytearray(source.read_bytes())
    with zipfile.ZipFile(source) as archive:
        infos = {info.filename.split("/", 1)[1]: info for info in archive.infolist()}
    if site.startswith("directory"):
        info = infos["data/11"]
        central = bytes(data).rfind(info.filename.encode()) - 46  # its central directory record
        assert data[central:central + 4] == b"PK\x01\x02"
        at = central + (16 if site == "directory-crc" else 46 + len(info.filename) - 1)
        data[at] ^= 0x01  # one bit of the CRC, or of the entry name's last character
    else:
        info = infos[dict(DATA_SITES)[site]]
        name_len, extra_len = struct.unpack_from("<HH", data, info.header_offset + 26)
        start = info.header_offset + 30 + name_len + extra_len
        size = min(64, info.compress_size // 2)
        begin = start + info.compress_size // 2 - size // 2
        for k in range(begin, begin + size):
            data[k] ^= 0xFF
    path = folder / f"{site}-{source.name}"
    path.write_bytes(bytes(data))
    return path


@pytest.fixture(scope="module")
def damaged(tmp_path_factory):
    folder = tmp_path_factory.mktemp("damaged")
    return {site: damaged_copy(SOURCE, site, folder) for site in SITES}


def test_shipped_models_are_intact():
    for path in (ROOT / "models").glob("*.pt"):
        load_model(path)
    with zipfile.ZipFile(SOURCE) as archive:
        assert archive.testzip() is None


@pytest.mark.parametrize("site", SITES)
def test_python_hosts_refuse_a_damaged_file(damaged, site):
    path = damaged[site]
    for host in (load_model, AreaNetCalculator, read_metadata, read_native):
        with pytest.raises(ModelFileError) as info:
            host(path)
        message = str(info.value)
        assert str(path) in message, (host, message)
        assert "is damaged" in message or "is not a readable model file" in message, (host, message)
    expected = {"code": "Error -3 while decompressing data", "directory-name": "File name in directory"}
    with pytest.raises(ModelFileError, match=rf"is damaged: its zip entry \S+ does not read back as written "
                                             rf"\({expected.get(site, 'Bad CRC-32 for file')}.*\): the file changed "
                                             r"after `areanet export`; copy it again or export it again"):
        load_model(path)


def test_the_weights_copy_would_give_wrong_numbers(damaged, tmp_path):
    """The damage the check catches is real: read past the check, the energy changes."""
    import torch

    atoms = hbn_sheet(3, 2)
    atoms.calc = AreaNetCalculator(torch.jit.load(str(damaged["weights"])))  # an already loaded module
    wrong = atoms.get_potential_energy()
    atoms.calc = AreaNetCalculator(SOURCE)
    assert abs(wrong - atoms.get_potential_energy()) > 1e-3


def test_a_copy_of_an_intact_file_loads(tmp_path):
    copy = tmp_path / "copy.pt"
    shutil.copyfile(SOURCE, copy)
    atoms = hbn_sheet(3, 2)
    atoms.calc = AreaNetCalculator(copy)
    assert atoms.get_potential_energy() / len(atoms) == pytest.approx(-6.69, abs=0.01)


# --- pair_style areanet: the native path and the torchscript path ---------------------------


@pytest.fixture(scope="module")
def sheet_data(tmp_path_factory):
    from lammps_helpers import make_sheet

    path = tmp_path_factory.mktemp("integrity-lammps") / "sheet.data"
    make_sheet.write_lammps_data(path, make_sheet.hbn_sheet(3, 2))
    return path


def lammps_refusal(plugin, data, model, pair_style) -> str:
    from lammps_helpers import LammpsSession, setup_commands

    session = LammpsSession(plugin)
    try:
        with pytest.raises(Exception) as info:
            session.commands(setup_commands(data, model, pair_style=pair_style) + "run 0\n")
    finally:
        session.close()
    return str(info.value)


@pytest.mark.parametrize("pair_style", ["areanet", "areanet torchscript"])
def test_pair_style_refuses_a_damaged_file(plugin, sheet_data, damaged, pair_style):
    for site in SITES:
        path = damaged[site]
        message = lammps_refusal(plugin, sheet_data, path, pair_style)
        assert f"ERROR: Pair areanet: model file {path} is damaged: " in message, (site, message)
        assert ("fails its CRC-32 check" in message or "does not decompress" in message
                or "has another name in its local header" in message), (site, message)
        assert "(the file changed after `areanet export`; copy it again or export it again)" in message


@pytest.mark.parametrize("pair_style", ["areanet", "areanet torchscript"])
def test_pair_style_reads_the_intact_file(plugin, sheet_data, pair_style):
    from lammps_helpers import LammpsSession, setup_commands

    with LammpsSession(plugin) as session:
        session.commands(setup_commands(sheet_data, SOURCE, pair_style=pair_style) + "run 0\n")
        assert session.lmp.get_thermo("pe") / session.lmp.get_natoms() == pytest.approx(-6.69, abs=0.01)


@pytest.mark.parametrize("level", [1, 9])
def test_pair_style_inflates_every_deflated_entry(plugin, sheet_data, tmp_path, level):
    """The plugin's own inflater (for the CRC check of deflated entries) on a file whose every
    entry but the native extra is deflated: stored, fixed and dynamic Huffman blocks all
    occur (float data barely compresses). It reads as the original; one flipped bit in a
    deflated weight is refused."""
    from lammps_helpers import LammpsSession, setup_commands

    packed = tmp_path / f"deflated-{level}.pt"
    with zipfile.ZipFile(SOURCE) as src, zipfile.ZipFile(packed, "w") as dst:
        for info in src.infolist():
            deflate = not info.filename.endswith("/extra/areanet_native.bin")
            dst.writestr(info.filename, src.read(info), compress_type=zipfile.ZIP_DEFLATED if deflate
                         else zipfile.ZIP_STORED, compresslevel=level if deflate else None)
    energies = []
    for model in (SOURCE, packed):
        with LammpsSession(plugin) as session:
            session.commands(setup_commands(sheet_data, model) + "run 0\n")
            energies.append(session.lmp.get_thermo("pe"))
    assert energies[1] == energies[0]

    data = bytearray(packed.read_bytes())
    with zipfile.ZipFile(packed) as archive:
        info = next(i for i in archive.infolist() if i.filename.endswith("/data/11"))
    name_len, extra_len = struct.unpack_from("<HH", data, info.header_offset + 26)
    data[info.header_offset + 30 + name_len + extra_len + info.compress_size // 2] ^= 0x10
    broken = tmp_path / f"deflated-{level}-broken.pt"
    broken.write_bytes(bytes(data))
    message = lammps_refusal(plugin, sheet_data, broken, "areanet")
    assert f"Pair areanet: model file {broken} is damaged: corrupt: archive entry {info.filename}" in message, message
