"""The repository this package runs from (an editable install): models/, data/, scripts/, ..."""
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]

DEFAULT_DFT_REFERENCE = REPOSITORY / "validation" / "dft_reference.json"  # `areanet validate`
DEFAULT_EXTRAP = REPOSITORY / "data" / "hbn_pbe_extrap.extxyz.gz"  # the PBE extrapolation points
