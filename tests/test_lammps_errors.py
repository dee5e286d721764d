"""Every error of pair_style areanet reaches the user through LAMMPS, with its reason.

Issue 3, point 3: a missing or corrupt model file, a model of another format version or
other units, LAMMPS units other than metal, species unknown to the model, a type left
unmapped, the wrong number of pair_coeff arguments, newton pair off, and an atom without a
complete area element (named by its atom ID) -- each stops LAMMPS with `ERROR...` and a
clear message, never a crash or an escaping C++ exception.

The model file is read without libtorch first (a zip reader and the native extra
areanet_native.bin): a file that is no zip, a truncated one, a compressed or corrupt extra
are refused with the reason; the format-version and units checks hold on both paths.
"""
import struct
import zipfile
from typing import List, Tuple

import numpy as np
import pytest
import torch

from lammps_helpers import (
    NATIVE_FILE,
    LammpsSession,
    StandInModel,
    make_sheet,
    perturb,
    resave_model,
    run_lmp,
    save_scripted,
    setup_commands,
    with_isolated_atom,
    write_model,
)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("errors")


@pytest.fixture(scope="module")
def model(workdir):
    path, _ = write_model(workdir / "areanet.pt", "auto")
    return path


@pytest.fixture(scope="module")
def sheet_data(workdir):
    path = workdir / "sheet.data"
    make_sheet.write_lammps_data(path, make_sheet.hbn_sheet(3, 2))
    return path


def lammps_error(plugin, commands: str) -> str:
    """Run ``commands`` in a fresh LAMMPS; return the message of the error they must raise."""
    session = LammpsSession(plugin)
    try:
        with pytest.raises(Exception) as info:
            session.commands(commands)
    finally:
        session.close()
    message = str(info.value)
    assert "ERROR" in message, message
    return message


def coeff_error(plugin, data, model_arg: str, *, species: str = "B N", units: str = "metal",
                newton: str = "on", extra: str = "", pair_style: str = "areanet") -> str:
    return lammps_error(plugin, setup_commands(data, model_arg, newton=newton, units=units,
                                               species=species, pair_style=pair_style) + extra)


# --- the model file ------------------------------------------------------------------------


def test_missing_model_file(plugin, sheet_data, workdir):
    msg = coeff_error(plugin, sheet_data, str(workdir / "no-such-model.pt"))
    assert "Pair areanet: cannot open model file" in msg
    assert "no-such-model.pt" in msg and "No such file" in msg


def test_corrupt_model_file(plugin, sheet_data, workdir, model):
    garbage = workdir / "garbage.pt"
    garbage.write_bytes(np.random.default_rng(0).bytes(4096))
    msg = coeff_error(plugin, sheet_data, str(garbage))
    assert "cannot read" in msg and "garbage.pt" in msg and "as a TorchScript model" in msg

    assert "not a zip archive, or truncated" in msg

    truncated = workdir / "truncated.pt"
    truncated.write_bytes(model.read_bytes()[: model.stat().st_size // 2])
    msg = coeff_error(plugin, sheet_data, str(truncated))
    assert "cannot read" in msg and "truncated.pt" in msg


def test_model_file_missing_its_middle(plugin, sheet_data, workdir, model):
    """The end-of-central-directory record is intact but points beyond the shortened file."""
    data = model.read_bytes()
    cut = workdir / "cut.pt"
    cut.write_bytes(data[:1000] + data[len(data) // 2:])
    msg = coeff_error(plugin, sheet_data, str(cut))
    assert "cannot read" in msg and "cut.pt" in msg
    assert "truncated" in msg or "corrupt" in msg


def native_entry(path):
    with zipfile.ZipFile(path) as archive:
        return next(i for i in archive.infolist() if i.filename.endswith("/extra/" + NATIVE_FILE))


def test_compressed_native_extra(plugin, sheet_data, workdir, model):
    packed = workdir / "deflated.pt"
    with zipfile.ZipFile(model) as src, zipfile.ZipFile(packed, "w") as dst:
        for info in src.infolist():
            deflate = info.filename.endswith("/extra/" + NATIVE_FILE)
            dst.writestr(info.filename, src.read(info),
                         compress_type=zipfile.ZIP_DEFLATED if deflate else info.compress_type)
    assert native_entry(packed).compress_type == zipfile.ZIP_DEFLATED
    msg = coeff_error(plugin, sheet_data, str(packed))
    assert f"Pair areanet: model file {packed}: cannot read its {NATIVE_FILE}" in msg
    assert "is compressed (method 8)" in msg


def test_corrupt_native_extra(plugin, sheet_data, workdir, model):
    data = bytearray(model.read_bytes())
    info = native_entry(model)
    name_len, extra_len = struct.unpack_from("<HH", data, info.header_offset + 26)
    data[info.header_offset + 30 + name_len + extra_len + 200] ^= 0x55
    corrupt = workdir / "flipped.pt"
    corrupt.write_bytes(bytes(data))
    msg = coeff_error(plugin, sheet_data, str(corrupt))
    assert f"flipped.pt is damaged: corrupt: archive entry {info.filename} fails its CRC-32 check" in msg


def test_inconsistent_native_extra(plugin, sheet_data, workdir, model):
    path = resave_model(model, workdir / "gelu.pt", native={"activation": "gelu"})
    msg = coeff_error(plugin, sheet_data, str(path))
    assert f"cannot read its {NATIVE_FILE}: unknown activation 'gelu'" in msg

    order = np.zeros((12, 12), dtype=np.int64)
    order[3, 4] = 20
    path = resave_model(model, workdir / "order.pt", native={"frame_order": order})
    msg = coeff_error(plugin, sheet_data, str(path))
    assert f"inconsistent {NATIVE_FILE}: frame order out of range" in msg


def test_native_extra_of_a_newer_version(plugin, sheet_data, workdir, model):
    """Not an error: libtorch reads the model instead, and the log says why."""
    data = bytearray(model.read_bytes())
    info = native_entry(model)
    name_len, extra_len = struct.unpack_from("<HH", data, info.header_offset + 26)
    start = info.header_offset + 30 + name_len + extra_len
    struct.pack_into("<I", data, start + 8, 2)  # the version after the magic
    payload = bytes(data[start:start + info.file_size])
    struct.pack_into("<I", data, info.header_offset + 14, zipfile.crc32(payload))  # local header
    central = bytes(data).rfind(info.filename.encode()) - 46  # and the central directory's copy
    struct.pack_into("<I", data, central + 16, zipfile.crc32(payload))
    newer = workdir / "newer.pt"
    newer.write_bytes(bytes(data))
    proc = run_lmp(f"plugin load {plugin}\n" + setup_commands(sheet_data, newer) + "run 0\n", workdir)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert f"because model file {newer}: {NATIVE_FILE} has version 2, this plugin reads version 1" in proc.stdout


class NotAreanet(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def test_torchscript_file_that_is_not_an_areanet_model(plugin, sheet_data, workdir):
    path = workdir / "identity.pt"
    torch.jit.save(torch.jit.script(NotAreanet()), str(path))
    msg = coeff_error(plugin, sheet_data, str(path))
    assert "not an areanet model" in msg and "format_version" in msg


@pytest.mark.parametrize("pair_style", ["areanet", "areanet torchscript"])
def test_format_version_mismatch(plugin, sheet_data, workdir, pair_style):
    path, _ = write_model(workdir / "version3.pt", "auto", format_version=3)
    msg = coeff_error(plugin, sheet_data, str(path), pair_style=pair_style)
    assert "format version 3" in msg and "reads format version 1" in msg


@pytest.mark.parametrize("pair_style", ["areanet", "areanet torchscript"])
def test_model_units_not_metal(plugin, sheet_data, workdir, pair_style):
    path, _ = write_model(workdir / "real-units.pt", "auto", units="real")
    msg = coeff_error(plugin, sheet_data, str(path), pair_style=pair_style)
    assert "declares units 'real'" in msg and "only 'metal'" in msg


def test_lammps_units_not_metal(plugin, sheet_data, model):
    msg = coeff_error(plugin, sheet_data, str(model), units="real")
    assert "requires 'units metal'" in msg and "'units real'" in msg


# --- pair_style / pair_coeff arguments -----------------------------------------------------


def test_unknown_species(plugin, sheet_data, model):
    msg = coeff_error(plugin, sheet_data, str(model), species="B C")
    assert "species 'C' given for atom type 2 is not in model" in msg
    assert "model species: B N" in msg


def test_wrong_number_of_species(plugin, sheet_data, model):
    msg = coeff_error(plugin, sheet_data, str(model), species="B")
    assert "followed by 2 species name(s), one per atom type, got 1" in msg
    msg = coeff_error(plugin, sheet_data, str(model), species="B N N")
    assert "got 3" in msg


def test_type_left_unmapped(plugin, sheet_data, model):
    msg = coeff_error(plugin, sheet_data, str(model), species="B NULL")
    assert "atom type 2 is left unmapped" in msg


def test_pair_coeff_must_be_star_star(plugin, sheet_data, model):
    commands = setup_commands(sheet_data, model).replace("pair_coeff * *", "pair_coeff 1 1")
    msg = lammps_error(plugin, commands)
    assert "Pair_coeff must start with * * for pair style areanet" in msg


def test_pair_style_takes_no_arguments(plugin, sheet_data, model):
    commands = setup_commands(sheet_data, model).replace("pair_style areanet", "pair_style areanet 3.6")
    msg = lammps_error(plugin, commands)
    assert "takes no arguments" in msg


def test_newton_pair_off(plugin, sheet_data, model):
    msg = coeff_error(plugin, sheet_data, str(model), newton="off", extra="run 0\n")
    assert "requires newton pair on" in msg


# --- atoms without a complete area element ---------------------------------------------------


def isolated_atom_first(n1: int = 3, n2: int = 2):
    """A sheet plus an atom in the vacuum that gets atom ID 1: LAMMPS' spatial sort then
    moves it away from local index 0, so an error naming a local index would name the wrong
    atom."""
    sheet = perturb(make_sheet.hbn_sheet(n1, n2), np.random.default_rng(3), 0.02, 0.02)
    atoms = with_isolated_atom(sheet)
    order = [len(atoms) - 1] + list(range(len(atoms) - 1))
    return atoms[order]


def test_incomplete_element_names_the_atom(plugin, workdir, model):
    data = workdir / "isolated.data"
    make_sheet.write_lammps_data(data, isolated_atom_first())
    msg = lammps_error(plugin, setup_commands(data, model) + "atom_modify sort 1 1.0\nrun 0\n")
    assert "Pair areanet:" in msg and "no complete area element" in msg
    assert "atom ID 1 " in msg or "atom ID 1:" in msg, msg
    assert "centre index" not in msg  # the local index never reaches the user


def test_vacancy_names_a_neighbour_of_the_vacancy(plugin, workdir, model):
    sheet = make_sheet.hbn_sheet(3, 3)
    removed = 17
    near = [k for k in range(len(sheet)) if k != removed and sheet.get_distance(removed, k, mic=True) < 3.6]
    del sheet[removed]
    ids_near = {k + 1 if k < removed else k for k in near}  # IDs after the deletion
    data = workdir / "vacancy.data"
    make_sheet.write_lammps_data(data, sheet)
    msg = lammps_error(plugin, setup_commands(data, model) + "run 0\n")
    assert "no complete area element" in msg
    named = int(msg.split("atom ID ")[1].split()[0].rstrip(":"))
    assert named in ids_near, (named, sorted(ids_near), msg)


class RaisesPlainError(StandInModel):
    def forward(self, edge_vec: torch.Tensor, edge_src: torch.Tensor, edge_spec: torch.Tensor,
                spec: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        if edge_vec.shape[0] > 0:
            raise RuntimeError("areanet: the model is out of its depth")
        return torch.zeros_like(spec, dtype=torch.float64), edge_vec


def test_other_model_errors_are_reported(plugin, workdir, sheet_data):
    path = save_scripted(RaisesPlainError(), workdir / "raises.pt")
    msg = lammps_error(plugin, setup_commands(sheet_data, path) + "run 0\n")
    assert "Pair areanet: model evaluation failed: the model is out of its depth" in msg


def test_error_through_lmp_executable(plugin, workdir, model):
    """The real `lmp`: the run stops with LAMMPS' ERROR line, not a C++ crash."""
    data = workdir / "isolated-lmp.data"
    make_sheet.write_lammps_data(data, isolated_atom_first())
    proc = run_lmp(f"plugin load {plugin}\n" + setup_commands(data, model) + "run 0\n", workdir)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "ERROR: Pair areanet: no complete area element at atom ID 1" in output, output
    assert "no complete area element at atom ID 1" in (workdir / "in.test.log").read_text()
    for crash in ("terminate called", "c10::Error", "Segmentation fault", "core dumped"):
        assert crash not in output
