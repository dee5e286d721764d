"""The model's hyper-parameters: a typed dataclass, stored in checkpoints and model files."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

SPECIES = ("B", "N")
FORMAT_VERSION = 1  # of the TorchScript contract (model.py, forward); the LAMMPS plugin checks it
# version 2 = contract 1 + the long-range sheet Coulomb (species_charges, charge_width), which
# the host adds: a charged model declares it, so that a host without the term refuses the file
CHARGED_FORMAT_VERSION = 2
FORMAT_VERSIONS_READ = (FORMAT_VERSION, CHARGED_FORMAT_VERSION)


@dataclass
class ModelConfig:
    order: str = "high"  # "high": 12 ring atoms; "low": A, E, I + ring centroids X, Y, Z
    dims: int = 3  # 2: the paper's in-plane inputs; 3: adds z for out-of-plane motion
    centers: str = "both"  # "both", or "N" / "B": the paper's single-species tiling
    forces: str = "conservative"  # or "direct": the paper's force head (not for MD)
    activation: str = ""  # "" = silu for conservative models, leaky_relu for direct ones
    hidden: list[int] = field(default_factory=lambda: [32, 64, 32])
    cutoff: float = 3.6  # Å; must keep the third shell (2b ≈ 2.9 Å) in, the next (3.8 Å) out
    # long-range sheet Coulomb (sheet_coulomb.py): +charge on B, −charge on N (e); 0 = none
    charge: float = 0.0
    charge_width: float = 2.0  # Å, Gaussian smoothing σ: the MLP keeps the range inside ~2σ
    species: list[str] = field(default_factory=lambda: list(SPECIES))

    def __post_init__(self) -> None:
        choices = {
            "order": ("high", "low"),
            "dims": (2, 3),
            "centers": ("both", *self.species),
            "forces": ("conservative", "direct"),
            "activation": ("", "silu", "tanh", "leaky_relu"),
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"model setting {name} = {getattr(self, name)!r}: choose one of {allowed}")
        if not self.activation:
            self.activation = "leaky_relu" if self.forces == "direct" else "silu"
        if not 2.9 < self.cutoff < 4.5:
            raise ValueError(f"cutoff = {self.cutoff} Å cannot hold exactly the three shells of h-BN")
        if not math.isfinite(self.charge):
            raise ValueError(f"charge = {self.charge} must be a finite number (e)")
        if not 0.5 <= self.charge_width <= 10.0:
            raise ValueError(f"charge_width = {self.charge_width} Å: choose a smoothing width in 0.5-10 Å")
        if self.charge != 0.0 and sorted(self.species) != ["B", "N"]:
            raise ValueError(f"charge needs the species B and N (+charge on B, -charge on N), not {self.species}")

    def format_version(self) -> int:
        return CHARGED_FORMAT_VERSION if self.charge != 0.0 else FORMAT_VERSION

    def species_charges(self) -> list[float]:
        """Fixed charge per species (e): +charge for B, −charge for N."""
        return [self.charge if s == "B" else -self.charge if s == "N" else 0.0 for s in self.species]

    @property
    def n_vertices(self) -> int:
        return 12 if self.order == "high" else 6

    @property
    def n_features(self) -> int:
        return self.n_vertices * self.dims

    def centre_species(self) -> list[int]:
        return list(range(len(self.species))) if self.centers == "both" else [self.species.index(self.centers)]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "ModelConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})
