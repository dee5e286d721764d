"""Writing and reading the one model file every host loads (README, "The model file").

A TorchScript module obeying the contract, with attributes ``format_version``, ``cutoff``,
``species`` and ``units`` (what the LAMMPS plugin checks) and an extra file
``metadata.json`` carrying everything else: order/dims/centers, the training-data hash,
test metrics, the training configuration.

A second extra file, ``areanet_native.bin``, holds what the LAMMPS plugin's native
evaluator needs (lammps_plugin/areanet_native.h, NativeSpec) so that it reads the model
without libtorch: the four contract attributes, the frame tables, normalisation and the
MLP weights, exactly (float64). It is written for the models the native evaluator runs
(conservative AreaNet); files without it still work through libtorch. Format, version 1,
every integer little-endian:

    magic    8 bytes   b"AREANETN"
    version  uint32    NATIVE_VERSION (1)
    count    uint32    number of arrays
    count times:
      name_len uint16, name (ASCII)
      dtype    uint8   1 = float64, 2 = int64, 3 = UTF-8 text
      ndim     uint8   0 for a scalar
      shape    ndim × uint64
      data     prod(shape) × 8 bytes (float64 / int64), or prod(shape) bytes (text)

Arrays of version 1 (S species, F frames, nf features):
    format_version i64[], cutoff f64[], species text (names joined by "\\n"), units text,
    dims i64[], low_order i64[], frame_ref i64[F], frame_sy f64[F], frame_sz f64[F],
    frame_order i64[F,12], low_order_matrix f64[6,12], is_centre i64[S],
    feature_mean f64[S,nf], feature_std f64[S,nf], ref_energy f64[S], energy_scale f64[],
    activation text (silu | tanh | leaky_relu), negative_slope f64[],
    mlp_layers i64[S] (Linear layers per species), and for species s, Linear layer k:
    mlp.{s}.{k}.weight f64[n_out,n_in] (torch.nn.Linear layout), mlp.{s}.{k}.bias f64[n_out].
A charged model (format_version 2, potential/sheet_coulomb.py) adds species_charges f64[S]
(e) and charge_width f64[] (Å); an old reader that ignored them would still refuse the
model's format_version. The training domain (potential/domain.py), when the export knew the
training data, adds domain_min f64[S,nf+3], domain_max f64[S,nf+3] (Å: the network inputs,
then the mean distance of each of the three shells) and domain_centres i64[S]: optional,
ignored by older readers, used by the LAMMPS plugin's domain guard.
Readers ignore arrays they do not know; a change that old readers would misread gets a
new version.
"""
from __future__ import annotations

import json
import os
import re
import struct
import warnings
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import torch

# TorchScript is what LAMMPS' C++ side loads (torch.export has no C++ loader for libtorch
# hosts), so its deprecation notice is noise for our users.
warnings.filterwarnings("ignore", message=r"`torch\.jit\.(save|load|script)` is deprecated")

from .config import FORMAT_VERSIONS_READ
from .domain import Domain
from .sheet_coulomb import model_charges
from .model import AreaNet

METADATA_FILE = "metadata.json"
NATIVE_FILE = "areanet_native.bin"
NATIVE_MAGIC = b"AREANETN"
NATIVE_VERSION = 1
_FLOAT64, _INT64, _TEXT = 1, 2, 3
_ACTIVATIONS = {"SiLU": "silu", "Tanh": "tanh", "LeakyReLU": "leaky_relu"}


# What a model raises for a bad structure: RuntimeError when eager, torch.jit.Error (not a
# RuntimeError subclass) when scripted.
MODEL_ERRORS = (RuntimeError, torch.jit.Error)


class ModelFileError(Exception):
    """A model file that is missing, corrupt or of another format version."""


def model_error_message(err: BaseException, atoms=None) -> str:
    """The one-line reason from an error raised inside a (scripted) model.

    Numbers come out as written (a scripted model prints 3.6 as 3.6000000000000001) with Å;
    given the structure, the atom of "centre index i" (atom i: every atom can be a centre)
    is named with its position.
    """
    text = str(err)
    if "areanet:" in text:
        text = text[text.rindex("areanet:"):].splitlines()[0].strip()  # the last: the raised message
    else:
        text = text.strip().splitlines()[-1] if text.strip() else repr(err)
    text = re.sub(r"\d+\.\d{9,}", lambda m: format(float(m.group()), ".10g"), text)
    text = re.sub(r"(\d) A\b", "\\1 Å", text)
    centre = re.search(r"centre index (\d+)", text)
    if atoms is not None and centre and int(centre.group(1)) < len(atoms):
        i = int(centre.group(1))
        where = ", ".join(f"{x:.4f}" for x in atoms.positions[i])
        text += f" [atom {i} ({atoms[i].symbol}) at {where} Å]"
    return text


# --- the native extra ------------------------------------------------------------------------


def native_arrays(module: torch.nn.Module) -> dict[str, Any]:
    """The arrays of ``areanet_native.bin`` from an AreaNet module (eager or scripted).

    float64 / int64 numpy arrays and str values; raises ValueError, with the reason, for a
    module the native evaluator cannot run (read like the plugin's TorchScript fallback,
    lammps_plugin/areanet_model.cpp, does).
    """
    for name in ("format_version", "cutoff", "species", "units", "dims", "low_order", "conservative",
                 "frame_ref", "frame_sy", "frame_sz", "frame_order", "low_order_matrix", "is_centre",
                 "feature_mean", "feature_std", "ref_energy", "energy_scale", "mlps"):
        if not hasattr(module, name):
            raise ValueError(f"the model has no `{name}`: not an AreaNet module")
    if not bool(module.conservative):
        raise ValueError("a direct-force model")

    def f64(t) -> np.ndarray:
        return t.detach().to("cpu", torch.float64).contiguous().numpy().copy()

    def i64(t) -> np.ndarray:
        return t.detach().to("cpu", torch.int64).contiguous().numpy().copy()

    species = [str(s) for s in module.species]
    if any("\n" in s or not s for s in species):
        raise ValueError("species names must be non-empty and without newlines")
    arrays: dict[str, Any] = {
        "format_version": np.array(int(module.format_version), dtype=np.int64),
        "cutoff": np.array(float(module.cutoff), dtype=np.float64),
        "species": "\n".join(species),
        "units": str(module.units),
        "dims": np.array(int(module.dims), dtype=np.int64),
        "low_order": np.array(int(bool(module.low_order)), dtype=np.int64),
        "frame_ref": i64(module.frame_ref),
        "frame_sy": f64(module.frame_sy),
        "frame_sz": f64(module.frame_sz),
        "frame_order": i64(module.frame_order),
        "low_order_matrix": f64(module.low_order_matrix),
        "is_centre": i64(module.is_centre),
        "feature_mean": f64(module.feature_mean),
        "feature_std": f64(module.feature_std),
        "ref_energy": f64(module.ref_energy),
        "energy_scale": f64(module.energy_scale).reshape(()),
    }
    charges, width = model_charges(module)
    if np.any(charges != 0.0):  # optional keys: absent = uncharged (files before the term)
        arrays["species_charges"] = charges
        arrays["charge_width"] = np.array(width, dtype=np.float64)
    activation, slope = None, 0.01
    layers_per_species = []
    for s, (_, mlp) in enumerate(module.mlps.named_children()):
        n_linear = 0
        for k, (child_name, layer) in enumerate(mlp.named_children()):
            kind = getattr(layer, "original_name", type(layer).__name__)  # scripted or eager
            if k % 2 == 0:
                if kind != "Linear":
                    raise ValueError(f"MLP layer {child_name} ({kind}) is not a Linear layer")
                arrays[f"mlp.{s}.{n_linear}.weight"] = f64(layer.weight)
                arrays[f"mlp.{s}.{n_linear}.bias"] = f64(layer.bias)
                n_linear += 1
            else:
                if kind not in _ACTIVATIONS:
                    raise ValueError(f"activation {kind} has no native kernel")
                if activation is not None and activation != _ACTIVATIONS[kind]:
                    raise ValueError("mixed activations")
                activation = _ACTIVATIONS[kind]
                if kind == "LeakyReLU":
                    slope = float(layer.negative_slope)
        if n_linear == 0 or len(list(mlp.named_children())) % 2 == 0:
            raise ValueError("an MLP does not end with a Linear layer")
        layers_per_species.append(n_linear)
    if len(layers_per_species) != len(species):
        raise ValueError("one MLP per species expected")
    arrays["activation"] = activation or "silu"
    arrays["negative_slope"] = np.array(slope, dtype=np.float64)
    arrays["mlp_layers"] = np.array(layers_per_species, dtype=np.int64)
    return arrays


def encode_native(arrays: dict[str, Any]) -> bytes:
    """``areanet_native.bin`` (format in the module docstring) from named arrays / str."""
    out = [NATIVE_MAGIC, struct.pack("<II", NATIVE_VERSION, len(arrays))]
    for name, value in arrays.items():
        key = name.encode("ascii")
        if isinstance(value, str):
            data, dtype, shape = value.encode("utf-8"), _TEXT, (len(value.encode("utf-8")),)
        else:
            value = np.asarray(value)
            if value.dtype.kind == "f":
                dtype, data = _FLOAT64, value.astype("<f8").tobytes()
            elif value.dtype.kind in "iub":
                dtype, data = _INT64, value.astype("<i8").tobytes()
            else:
                raise TypeError(f"{name}: cannot store dtype {value.dtype}")
            shape = value.shape
        out.append(struct.pack(f"<H{len(key)}sBB{len(shape)}Q", len(key), key, dtype, len(shape), *shape))
        out.append(data)
    return b"".join(out)


def decode_native(data: bytes) -> dict[str, Any]:
    """The arrays of ``areanet_native.bin`` bytes (the inverse of ``encode_native``)."""
    if data[:8] != NATIVE_MAGIC:
        raise ValueError(f"not an {NATIVE_FILE} (bad magic)")
    version, count = struct.unpack_from("<II", data, 8)
    if version != NATIVE_VERSION:
        raise ValueError(f"{NATIVE_FILE} version {version}, this reader reads {NATIVE_VERSION}")
    pos, arrays = 16, {}
    for _ in range(count):
        (n,) = struct.unpack_from("<H", data, pos)
        name = data[pos + 2:pos + 2 + n].decode("ascii")
        dtype, ndim = struct.unpack_from("<BB", data, pos + 2 + n)
        shape = struct.unpack_from(f"<{ndim}Q", data, pos + 4 + n)
        pos += 4 + n + 8 * ndim
        size = int(np.prod(shape, dtype=np.int64))
        if dtype == _TEXT:
            arrays[name] = data[pos:pos + size].decode("utf-8")
            pos += size
        elif dtype in (_FLOAT64, _INT64):
            arrays[name] = np.frombuffer(data, "<f8" if dtype == _FLOAT64 else "<i8", size, pos).reshape(shape).copy()
            pos += 8 * size
        else:
            raise ValueError(f"{NATIVE_FILE}: array {name} has unknown dtype {dtype}")
        if pos > len(data):
            raise ValueError(f"{NATIVE_FILE} is truncated (in array {name})")
    return arrays


def read_native(path: str | os.PathLike) -> dict[str, Any] | None:
    """The ``areanet_native.bin`` arrays of a model file, None if it has none."""
    with zipfile.ZipFile(check_model_file(path)) as archive:
        for name in archive.namelist():
            parts = name.split("/")
            if len(parts) == 3 and parts[1:] == ["extra", NATIVE_FILE]:
                return decode_native(archive.read(name))
    return None


# --- model files -----------------------------------------------------------------------------


def save_scripted(scripted: torch.jit.ScriptModule, path: str | os.PathLike, metadata_json: str,
                  domain: Domain | None = None) -> Path:
    """Write a scripted model with its metadata text and, when it can, the native extra
    (with the training domain's feature ranges when ``domain`` is given)."""
    extra = {METADATA_FILE: metadata_json}
    try:
        arrays = native_arrays(scripted)
        if domain is not None:
            arrays.update(domain.arrays())
        extra[NATIVE_FILE] = encode_native(arrays)
    except ValueError as err:
        warnings.warn(f"{path}: no {NATIVE_FILE} ({err}); the LAMMPS plugin will need libtorch for it")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.jit.save(scripted, str(tmp), _extra_files=extra)
    os.replace(tmp, path)
    return path


def export_model(model: AreaNet, path: str | os.PathLike, metadata: dict[str, Any] | None = None,
                 domain: Domain | None = None) -> Path:
    """Script a conservative model and save it with its metadata (and the native extra, with
    the training domain if given)."""
    if not model.conservative:
        raise ValueError(
            "a direct-force model cannot be exported: its forces are not the gradient of its "
            "energy (non-conservative), so it cannot drive MD; train with forces = \"conservative\""
        )
    meta = {
        "format_version": int(model.format_version),
        "species": list(model.species),
        "cutoff": model.cutoff,
        "units": "metal",
        **model.config.to_dict(),
        **(metadata or {}),
    }
    scripted = torch.jit.script(model.eval())
    return save_scripted(scripted, path, json.dumps(meta, indent=1, sort_keys=True), domain)


def reexport_model(source: str | os.PathLike, path: str | os.PathLike | None = None,
                   domain: Domain | None = None) -> Path:
    """Write an exported model file again through ``save_scripted`` (adding the native extra
    to files written before it existed, or the training domain): the same TorchScript
    module, state and metadata text, so its predictions are bit-identical. ``path`` defaults
    to ``source``; without ``domain`` the file's own training domain, if any, is kept."""
    extra = {METADATA_FILE: ""}
    if domain is None:
        domain = read_domain(source)
    scripted = torch.jit.load(str(check_model_file(source)), map_location="cpu", _extra_files=extra)
    return save_scripted(scripted, path if path is not None else source, extra[METADATA_FILE], domain)


def read_domain(path: str | os.PathLike) -> Domain | None:
    """The training domain stored in a model file (potential/domain.py), None if it has none."""
    arrays = read_native(path)
    return Domain.from_arrays(arrays) if arrays is not None else None


def verified_zip_entries(path: Path, kind: str, writer: str, redo: str, hint: str) -> list[str]:
    """The entry names of the zip archive ``path`` after reading every entry, so that
    zipfile checks each CRC-32; ModelFileError naming the file (a ``kind`` written by
    ``writer``; ``redo``: how to make it again, ``hint``: what to pass instead) and the
    damaged entry otherwise. Checkpoints (``torch.save``) are zip
    archives too and go through here as well."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            for name in names:
                try:
                    with archive.open(name) as entry:
                        while entry.read(1 << 20):
                            pass
                except (zipfile.BadZipFile, zlib.error, EOFError) as err:
                    raise ModelFileError(
                        f"{kind} {path} is damaged: its zip entry {name} does not read back as "
                        f"written ({err}): the file changed after {writer}; copy it again or "
                        f"{redo}") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, NotImplementedError) as err:
        raise ModelFileError(
            f"{path} is not a readable {kind} ({err}): truncated, damaged, or not written by "
            f"{writer}; {hint}") from None
    return names


def check_model_file(path: str | os.PathLike) -> Path:
    """``path`` if it is an intact TorchScript model file; ModelFileError naming it otherwise.

    Intact: a zip archive whose every entry (weights, code, constants, metadata, the native
    extra) passes its CRC-32 check, so that a damaged copy is refused before any number comes
    from it (TorchScript itself does not check). A directory, a training checkpoint
    (``torch.save``: no ``code/``) and a file that is no zip at all are told apart, with what
    to do. Every Python loader of model files goes through here; the LAMMPS plugin does the
    same check in its own zip reader (lammps_plugin/areanet_archive.cpp).
    """
    path = Path(path)
    export_hint = "pass the model file that `areanet export` writes"
    if path.is_dir():
        raise ModelFileError(
            f"{path} is a directory, not a model file: {export_hint} (a training run directory "
            f"holds checkpoints: `areanet export {path / 'best.pt'} -o model.pt` makes one)")
    if not path.exists():
        raise ModelFileError(f"model file {path} does not exist")
    names = verified_zip_entries(path, "model file", "`areanet export`", "export it again",
                                 export_hint)
    if not any("/code/" in name for name in names):
        if any(name.endswith("data.pkl") for name in names):
            raise ModelFileError(
                f"{path} is a training checkpoint (torch.save), not an exported model: export it "
                f"with `areanet export {path} -o model.pt` and use that file (`areanet evaluate` "
                "reads either)")
        raise ModelFileError(f"{path} is a zip file but not a TorchScript model (no code/ entries); {export_hint}")
    return path


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    extra = {METADATA_FILE: ""}
    torch.jit.load(str(check_model_file(path)), map_location="cpu", _extra_files=extra)
    return json.loads(extra[METADATA_FILE]) if extra[METADATA_FILE] else {}


def load_model(path: str | os.PathLike) -> torch.jit.ScriptModule:
    """Load an exported model file, checking what every host relies on."""
    path = check_model_file(path)
    try:
        module = torch.jit.load(str(path), map_location="cpu")
    except Exception as err:  # torch raises several types for a damaged archive
        raise ModelFileError(
            f"{path} is not an areanet TorchScript model (written by `areanet export`): {model_error_message(err)}"
        ) from None
    for attr in ("format_version", "cutoff", "species", "units"):
        if not hasattr(module, attr):
            raise ModelFileError(f"{path} lacks the attribute {attr!r}: not an areanet model file")
    if int(module.format_version) not in FORMAT_VERSIONS_READ:
        raise ModelFileError(
            f"{path} has format version {module.format_version}; this areanet reads versions "
            f"{', '.join(map(str, FORMAT_VERSIONS_READ))}: re-export it"
        )
    return module
