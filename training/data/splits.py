"""The wider-domain test split: frames of the strained and hot sets that never train.

Two rules. ``hash`` (the default): a quarter of the frames, drawn as below, across the whole
domain. ``outer``: train inside, test outside — a frame whose largest strain component
exceeds 6 % or whose MD temperature exceeds 1000 K is a test frame, the rest train: how far a
model carries beyond what it was fitted to.

A frame is in the test split when a number drawn from its own content hash (the labeller's
``source_hash`` of the unlabelled candidate, or the structure hash) falls below the test
fraction. The rule looks at nothing but the frame, so the split does not depend on the order
of the files, and a frame labelled later never moves an earlier one between the splits: a
test frame stays a test frame as the set grows. Each frame also has a stratum (strain mode
and range, or MD temperature) so that errors are reported where the domain was sampled.
"""
from __future__ import annotations

import hashlib

from .label import KEY_HASH, structure_hash

DOMAIN_TEST_FRACTION = 0.25
DOMAIN_SPLITS = ("hash", "outer")
# the inner domain of the ``outer`` rule: largest strain component (%), MD temperature (K)
INNER_STRAIN_PCT = 6.0
INNER_TEMPERATURE_K = 1000.0
# the strata of strained frames: ranges of the largest strain component, percent
STRAIN_BINS = ((-10.0, -6.0), (-6.0, -2.0), (-2.0, 2.0), (2.0, 6.0), (6.0, 10.0))


def frame_key(atoms) -> str:
    """The content hash the split draws from."""
    key = atoms.info.get(KEY_HASH)
    return str(key) if key else structure_hash(atoms)


def is_domain_test(atoms, fraction: float = DOMAIN_TEST_FRACTION) -> bool:
    """Whether ``atoms`` belongs to the wider-domain test split."""
    digest = hashlib.sha256(("areanet-domain-split:" + frame_key(atoms)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64 < fraction


def stratum(atoms) -> str:
    """Where in the domain a frame lies: ``"strain <range> %"`` for a strained cell (by the
    signed strain level of the generator, ``strain_pct``), ``"<T> K"`` for an MD snapshot,
    ``"other"`` otherwise."""
    info = atoms.info
    if "strain_pct" in info:
        pct = float(info["strain_pct"])
        for lo, hi in STRAIN_BINS:
            if lo <= pct < hi or (hi == STRAIN_BINS[-1][1] and pct == hi):
                return f"strain {lo:+.0f} … {hi:+.0f} %"
        return f"strain {pct:+.1f} %"
    if "temperature_K" in info:
        return f"{float(info['temperature_K']):.0f} K"
    return "other"


def largest_strain_pct(atoms) -> float:
    """The largest in-plane strain component of a frame, in %: the generator's signed level
    (``strain_pct``) for a strained cell, else the sampler's ``strain_xx/yy/xy`` (fractions) of
    a strained MD cell, else 0."""
    info = atoms.info
    if "strain_pct" in info:
        return abs(float(info["strain_pct"]))
    return 100.0 * max((abs(float(info.get(k, 0.0))) for k in ("strain_xx", "strain_yy", "strain_xy")),
                       default=0.0)


def is_outer(atoms, max_strain_pct: float = INNER_STRAIN_PCT,
             max_temperature_K: float = INNER_TEMPERATURE_K) -> bool:
    """Whether a frame lies beyond the inner domain (the test side of the ``outer`` rule)."""
    hot = float(atoms.info.get("temperature_K", 0.0)) > max_temperature_K
    return hot or largest_strain_pct(atoms) > max_strain_pct + 1e-9


def domain_split(frames, fraction: float = DOMAIN_TEST_FRACTION,
                 rule: str = "hash") -> tuple[list[int], list[int]]:
    """(train indices, test indices) of ``frames`` under the ``hash`` or ``outer`` rule."""
    if rule not in DOMAIN_SPLITS:
        raise ValueError(f"domain split {rule!r}: one of {DOMAIN_SPLITS}")
    if rule == "outer":
        test = [k for k, atoms in enumerate(frames) if is_outer(atoms)]
    else:
        test = [k for k, atoms in enumerate(frames) if is_domain_test(atoms, fraction)]
    chosen = set(test)
    return [k for k in range(len(frames)) if k not in chosen], test
