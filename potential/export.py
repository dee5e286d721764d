"""Writing and reading the one model file every host loads (DESIGN §5).

A TorchScript module obeying the contract, with attributes ``format_version``, ``cutoff``,
``species`` and ``units`` (what the LAMMPS plugin checks) and an extra file
``metadata.json`` carrying everything else: order/dims/centers, the training-data hash,
test metrics, the training configuration.
"""
from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

import torch

# TorchScript is what LAMMPS' C++ side loads (torch.export has no C++ loader for libtorch
# hosts), so its deprecation notice is noise for our users.
warnings.filterwarnings("ignore", message=r"`torch\.jit\.(save|load|script)` is deprecated")

from .config import FORMAT_VERSION
from .model import AreaNet

METADATA_FILE = "metadata.json"


# What a model raises for a bad structure: RuntimeError when eager, torch.jit.Error (not a
# RuntimeError subclass) when scripted.
MODEL_ERRORS = (RuntimeError, torch.jit.Error)


class ModelFileError(Exception):
    """A model file that is missing, corrupt or of another format version."""


def model_error_message(err: BaseException) -> str:
    """The one-line reason from an error raised inside a (scripted) model."""
    text = str(err)
    if "areanet:" in text:
        return text[text.rindex("areanet:"):].splitlines()[0].strip()  # the last: the raised message
    return text.strip().splitlines()[-1] if text.strip() else repr(err)


def export_model(model: AreaNet, path: str | os.PathLike, metadata: dict[str, Any] | None = None) -> Path:
    """Script a conservative model and save it with its metadata."""
    if not model.conservative:
        raise ValueError(
            "a direct-force model cannot be exported: its forces are not the gradient of its "
            "energy (non-conservative), so it cannot drive MD; train with forces = \"conservative\""
        )
    meta = {
        "format_version": FORMAT_VERSION,
        "species": list(model.species),
        "cutoff": model.cutoff,
        "units": "metal",
        **model.config.to_dict(),
        **(metadata or {}),
    }
    scripted = torch.jit.script(model.eval())
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.jit.save(scripted, str(tmp), _extra_files={METADATA_FILE: json.dumps(meta, indent=1, sort_keys=True)})
    os.replace(tmp, path)
    return path


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    extra = {METADATA_FILE: ""}
    torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
    return json.loads(extra[METADATA_FILE]) if extra[METADATA_FILE] else {}


def load_model(path: str | os.PathLike) -> torch.jit.ScriptModule:
    """Load an exported model file, checking what every host relies on."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"model file {path} does not exist")
    try:
        module = torch.jit.load(str(path), map_location="cpu")
    except Exception as err:  # torch raises several types for a damaged archive
        raise ModelFileError(
            f"{path} is not an areanet TorchScript model (written by `areanet export`): {model_error_message(err)}"
        ) from None
    for attr in ("format_version", "cutoff", "species", "units"):
        if not hasattr(module, attr):
            raise ModelFileError(f"{path} lacks the attribute {attr!r}: not an areanet model file")
    if int(module.format_version) != FORMAT_VERSION:
        raise ModelFileError(
            f"{path} has format version {module.format_version}; this areanet reads version {FORMAT_VERSION}: re-export it"
        )
    return module
