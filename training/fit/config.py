"""Training configuration: one typed dataclass, read from TOML (stdlib tomllib).

Keys are flat, so that ``--set key=value`` reaches every one of them. The resolved
configuration is written next to the checkpoints (``config.toml``) and stored inside them.
"""
from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from areanet.potential.config import ModelConfig

from ..errors import UserError


@dataclass
class TrainConfig:
    data: list[str] = field(default_factory=list)  # ASE-readable files with energies and forces
    # files whose frames always train (active-learning snapshots, ...): appended after `data`
    # is split, so that the validation and test splits of `data` stay what they were
    train_only_data: list[str] = field(default_factory=list)
    # wider-domain files (strained, hot): their frames train, except those of the wider-domain
    # test split (areanet.training.data.splits), which never train and are scored at the end
    domain_data: list[str] = field(default_factory=list)
    # which domain frames never train: "hash" (a quarter, across the domain) or "outer" (train
    # inside |strain| <= 6 % and T <= 1000 K, test outside: areanet.training.data.splits)
    domain_split: str = "hash"
    split: str = "random"  # "random" (fractions below) or "strength" (train inside train_range)
    split_fractions: list[float] = field(default_factory=lambda: [0.8, 0.1, 0.1])  # train/val/test
    train_range: list[float] = field(default_factory=lambda: [1.0, 5.0])  # % (split = "strength")
    seed: int = 0  # split, initial weights and batch order
    epochs: int = 100
    batch_size: int = 8  # structures per optimiser step
    lr: float = 3e-3  # Adam, cosine decay to lr_final
    lr_final: float = 1e-5
    energy_weight: float = 1.0  # × (ΔE per atom in meV)²
    force_weight: float = 30.0  # × (ΔF component in eV/Å)²
    # the model (areanet.potential.ModelConfig)
    order: str = "high"
    dims: int = 3
    centers: str = "both"
    forces: str = "conservative"
    activation: str = ""
    hidden: list[int] = field(default_factory=lambda: [32, 64, 32])
    cutoff: float = 3.6
    charge: float = 0.0  # long-range sheet Coulomb: +charge (e) on B, −charge on N; 0 = none
    charge_width: float = 2.0  # Å, its Gaussian smoothing (potential/sheet_coulomb.py)
    precision: str = "float64"  # MLP arithmetic while training: "float64" or "float32" (geometry,
    # energies and the saved model stay float64; float32 is ~1.5x faster at batch 8)
    device: str = "auto"  # "auto" = cuda when present, else cpu
    threads: int = 0  # torch intra-op threads; 0 = torch's default

    def model_config(self) -> ModelConfig:
        names = {f.name for f in fields(ModelConfig)} - {"species"}
        try:
            return ModelConfig(**{k: getattr(self, k) for k in names})
        except ValueError as err:
            raise UserError(str(err)) from None

    def check(self) -> "TrainConfig":
        if not self.data:
            raise UserError("no training data: set `data = [\"file.extxyz\", ...]` in the config or --set data=...")
        if self.domain_split not in ("hash", "outer"):
            raise UserError(f"domain_split = {self.domain_split!r}: choose \"hash\" or \"outer\"")
        if self.split not in ("random", "strength"):
            raise UserError(f"split = {self.split!r}: choose \"random\" or \"strength\"")
        if len(self.split_fractions) != 3 or abs(sum(self.split_fractions) - 1) > 1e-6 or min(self.split_fractions) < 0:
            raise UserError(f"split_fractions = {self.split_fractions}: three non-negative numbers summing to 1")
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise UserError(f"{name} = {getattr(self, name)} must be at least 1")
        if self.precision not in ("float64", "float32"):
            raise UserError(f"precision = {self.precision!r}: choose \"float64\" or \"float32\"")
        if self.lr <= 0 or self.lr_final < 0:
            raise UserError("lr must be positive and lr_final non-negative")
        self.model_config()
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_toml(self) -> str:
        def value(v: Any) -> str:
            if isinstance(v, bool):
                return "true" if v else "false"
            if isinstance(v, str):
                return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
            if isinstance(v, list):
                return "[" + ", ".join(value(x) for x in v) + "]"
            return repr(v)

        return "".join(f"{k} = {value(v)}\n" for k, v in self.to_dict().items())

    @classmethod
    def from_dict(cls, values: dict[str, Any], source: str = "config") -> "TrainConfig":
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise UserError(f"{source}: unknown key(s) {unknown}; known keys: {sorted(known)}")
        defaults = cls()
        converted = {}
        for key, v in values.items():
            default = getattr(defaults, key)
            converted[key] = _coerce(key, v, default, source)
        return cls(**converted)

    @classmethod
    def load(cls, path: str | Path | None, overrides: list[str] = ()) -> "TrainConfig":
        values: dict[str, Any] = {}
        if path is not None:
            path = Path(path)
            try:
                values = tomllib.loads(path.read_text())
            except FileNotFoundError:
                raise UserError(f"{path}: no such config file") from None
            except tomllib.TOMLDecodeError as err:
                raise UserError(f"{path}: not valid TOML: {err}") from None
            base = path.parent
            for key in ("data", "train_only_data", "domain_data"):  # data paths in a config file: relative to it
                if key in values:
                    data = values[key] if isinstance(values[key], list) else [values[key]]
                    values[key] = [str(p if Path(p).is_absolute() else (base / p)) for p in data]
        for item in overrides:
            key, sep, text = item.partition("=")
            if not sep:
                raise UserError(f"--set {item!r}: expected key=value")
            key = key.strip()
            try:
                values[key] = tomllib.loads(f"v = {text}")["v"]
            except tomllib.TOMLDecodeError:
                values[key] = text  # a bare word: a string
        return cls.from_dict(values, source=str(path) if path else "--set")


def _coerce(key: str, value: Any, default: Any, source: str) -> Any:
    if isinstance(default, list):
        if not isinstance(value, list):
            value = [value] if isinstance(default[0] if default else "", str) or isinstance(value, str) else [value]
        elem = type(default[0]) if default else str
        try:
            return [elem(v) for v in value]
        except (TypeError, ValueError):
            raise UserError(f"{source}: {key} = {value!r}: expected a list of {elem.__name__}") from None
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise UserError(f"{source}: {key} = {value!r}: expected true or false")
        return value
    if isinstance(default, (int, float)) and not isinstance(value, bool):
        try:
            converted = type(default)(value)
        except (TypeError, ValueError):
            raise UserError(f"{source}: {key} = {value!r}: expected a number") from None
        if isinstance(default, int) and converted != value:
            raise UserError(f"{source}: {key} = {value!r}: expected a whole number")
        return converted
    if isinstance(default, str) and not isinstance(value, str):
        return str(value)
    return value
