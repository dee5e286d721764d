"""Number formats and verdicts of validation.md (the report and the comparison study)."""
from __future__ import annotations

import math


def _f(value, fmt="{:.4f}") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    return fmt.format(value)


def _pct(model_value, ref_value) -> str:
    if model_value is None or ref_value is None or not ref_value:
        return "—"
    return f"{100.0 * (model_value - ref_value) / ref_value:+.2f} %"


def _verdict(ok) -> str:
    return "—" if ok is None else ("pass" if ok else "**fail**")
