"""areanet.potential: the area-element model, its TorchScript contract and the ASE calculator."""
from .calculator import AreaNetCalculator
from .config import FORMAT_VERSION, SPECIES, ModelConfig
from .export import ModelFileError, export_model, load_model, read_metadata
from .model import AreaNet

__all__ = [
    "AreaNet", "AreaNetCalculator", "FORMAT_VERSION", "ModelConfig", "ModelFileError", "SPECIES",
    "export_model", "load_model", "read_metadata",
]
