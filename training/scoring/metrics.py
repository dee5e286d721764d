"""The paper's error metrics (Tables I-III and Figs. 5-7), in plain numpy.

Every function takes the reference and predicted quantities of a set of structures in one
flat layout, the same one the data and prediction code produce:

* ``e_ref``, ``e_pred``  -- total energies, eV, shape [S] (S structures);
* ``n_atoms``            -- atoms per structure, shape [S];
* ``f_ref``, ``f_pred``  -- forces of all structures concatenated in order, eV/Å, [N, 3]
  with N = sum(n_atoms);
* ``force_mask``         -- optional bool [N]: the atoms whose forces are counted (a
  direct-force model predicts forces on its centre atoms only; the paper's tables count
  "force on centre atom" of one species). Energy metrics never depend on it.

Definitions (Δ = prediction − reference)
----------------------------------------
``energy_rmse_ev``            sqrt(mean ΔE²) over structures, eV.
``energy_per_atom_rmse_mev``  sqrt(mean (ΔE/n)²) · 1000, meV/atom. (0.06 eV on a 60-atom cell
                              is 1 meV/atom; the paper's 0.029873 eV ↔ 0.497883 meV.)
``energy_mape``               mean |ΔE| / |E_ref|, a fraction (the paper's "(100%)" column:
                              0.000040 means 0.004 %).
``force_rmse_{x,y,z}``        sqrt(mean ΔF_c²) over the counted atoms, eV/Å.
``force_{x,y,z}_mape``        mean |ΔF_c| / |F_ref,c|, a fraction, over counted atoms with
                              |F_ref,c| ≥ ``mape_floor`` (see below).
``force_magnitude_rmse``      sqrt(mean (|F_pred| − |F_ref|)²), eV/Å.
``force_magnitude_mape``      mean ||F_pred| − |F_ref|| / |F_ref| over |F_ref| ≥ ``mape_floor``.
``force_angle_mae_deg``       mean angle between F_pred and F_ref, degrees, in [0, 180]; the
                              cosine is clipped to [−1, 1] (rounding can push it past 1).
                              Atoms with a zero reference force (|F_ref| ≤ ``zero_force_tol``)
                              have no direction and are left out; their number is
                              ``n_force_excluded``. A zero *predicted* force on an atom with a
                              real reference force counts as 90° (no directional
                              information), so a model cannot improve its angle by
                              predicting nothing.

Near-zero references and MAPE
-----------------------------
A percentage error is undefined at a zero reference and explodes near one: a force component
of 0.001 eV/Å predicted with a typical 0.05 eV/Å error alone contributes 5000 %. Force
components cross zero all the time (in-plane perturbations of h-BN give |F_x| ≈ 1 eV/Å on
average, but components of every size down to zero), and out-of-plane components of an
in-plane data set are exactly zero. So each MAPE leaves out the references with
|ref| < ``mape_floor`` (default 0.01 eV/Å for forces, i.e. about 0.5 % of the components of
the PBE in-plane set; energies only exclude an exact zero) and reports how many it left out
in ``n_mape_excluded`` (keys ``energy``, ``x``, ``y``, ``z``, ``magnitude``). A MAPE whose
every reference was left out (e.g. z of a flat sheet) is NaN; ``evaluate`` writes it as
``null`` in JSON. Note that the paper's force "MAPE" values sit at 0.75-0.95 of its force
RMSEs, which is what a mean absolute error in eV/Å (mean |F_c| ≈ 1 eV/Å) would give, not a
true percentage error; our numbers are the true MAPE defined above and are not expected to
match those columns.

Returned numbers are Python floats/ints (NaN where a metric has no atoms), so the dicts
serialise to JSON directly once NaN is mapped to null.
"""
from __future__ import annotations

import numpy as np

#: Keys of :func:`compute_metrics`, in the paper's table order.
METRIC_KEYS = (
    "n_structures",
    "energy_rmse_ev",
    "energy_per_atom_rmse_mev",
    "energy_mape",
    "force_rmse_x",
    "force_x_mape",
    "force_rmse_y",
    "force_y_mape",
    "force_rmse_z",
    "force_z_mape",
    "force_magnitude_rmse",
    "force_magnitude_mape",
    "force_angle_mae_deg",
    "n_force_atoms",
    "n_force_excluded",
    "n_mape_excluded",
)

#: Keys of each level in :func:`rmse_by_strength`.
STRENGTH_KEYS = (
    "strength_pct",
    "n_structures",
    "n_force_atoms",
    "n_force_excluded",
    "energy_rmse_ev",
    "energy_per_atom_rmse_mev",
    "force_magnitude_rmse",
    "force_angle_mae_deg",
)

DEFAULT_MAPE_FLOOR = 1e-2      # eV/Å: force references below this are left out of MAPEs
DEFAULT_ZERO_FORCE_TOL = 1e-6  # eV/Å: |F_ref| at or below this has no direction
SPECIES_NUMBERS = {5: "B", 7: "N"}

_AXES = "xyz"


# ---------------------------------------------------------------------------------------
# input checking
# ---------------------------------------------------------------------------------------

def _as_arrays(e_ref, e_pred, n_atoms, f_ref, f_pred, force_mask):
    e_ref = np.asarray(e_ref, dtype=np.float64).reshape(-1)     # [S]
    e_pred = np.asarray(e_pred, dtype=np.float64).reshape(-1)   # [S]
    n_atoms = np.asarray(n_atoms).reshape(-1)                   # [S]
    f_ref = np.asarray(f_ref, dtype=np.float64)                 # [N, 3]
    f_pred = np.asarray(f_pred, dtype=np.float64)               # [N, 3]
    if not (len(e_ref) == len(e_pred) == len(n_atoms)):
        raise ValueError(
            f"energies and atom counts disagree: {len(e_ref)} reference, "
            f"{len(e_pred)} predicted, {len(n_atoms)} atom counts"
        )
    if len(e_ref) == 0:
        raise ValueError("no structures to evaluate")
    if not np.issubdtype(n_atoms.dtype, np.integer):
        if not np.all(n_atoms == np.round(n_atoms)):
            raise ValueError("n_atoms must be integers")
        n_atoms = n_atoms.astype(np.int64)
    if np.any(n_atoms <= 0):
        raise ValueError("every structure needs at least one atom (n_atoms > 0)")
    n_total = int(n_atoms.sum())
    for name, f in (("f_ref", f_ref), ("f_pred", f_pred)):
        if f.ndim != 2 or f.shape[1] != 3:
            raise ValueError(f"{name} must have shape [N_atoms, 3], got {f.shape}")
        if f.shape[0] != n_total:
            raise ValueError(
                f"{name} has {f.shape[0]} rows but the structures hold {n_total} atoms"
            )
    if force_mask is None:
        force_mask = np.ones(n_total, dtype=bool)
    else:
        force_mask = np.asarray(force_mask)
        if force_mask.dtype != bool:
            raise ValueError(f"force_mask must be boolean, got {force_mask.dtype}")
        force_mask = force_mask.reshape(-1)
        if force_mask.shape[0] != n_total:
            raise ValueError(
                f"force_mask has {force_mask.shape[0]} entries but the structures hold "
                f"{n_total} atoms"
            )
    for name, arr in (("e_ref", e_ref), ("e_pred", e_pred)):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} holds non-finite values")
    for name, f in (("f_ref", f_ref), ("f_pred", f_pred)):
        if not np.all(np.isfinite(f[force_mask])):
            raise ValueError(f"{name} holds non-finite values on counted atoms")
    return e_ref, e_pred, n_atoms, f_ref, f_pred, force_mask


def _rmse(d: np.ndarray) -> float:
    return float(np.sqrt(np.mean(d * d))) if d.size else float("nan")


def _mape(delta: np.ndarray, ref: np.ndarray, floor: float) -> tuple[float, int]:
    """mean |delta|/|ref| over |ref| >= floor (an exact zero is always left out)."""
    absref = np.abs(ref)
    keep = (absref >= floor) & (absref > 0.0)
    n_excluded = int(delta.size - keep.sum())
    if not keep.any():
        return float("nan"), n_excluded
    return float(np.mean(np.abs(delta[keep]) / absref[keep])), n_excluded


# ---------------------------------------------------------------------------------------
# the metrics
# ---------------------------------------------------------------------------------------

def energy_metrics(e_ref, e_pred, n_atoms) -> dict:
    """Structure-level energy errors: the energy part of :func:`compute_metrics`."""
    e_ref = np.asarray(e_ref, dtype=np.float64).reshape(-1)
    e_pred = np.asarray(e_pred, dtype=np.float64).reshape(-1)
    n_atoms = np.asarray(n_atoms, dtype=np.float64).reshape(-1)
    de = e_pred - e_ref                                          # [S] eV
    mape, n_exc = _mape(de, e_ref, 0.0)
    return {
        "n_structures": int(de.size),
        "energy_rmse_ev": _rmse(de),
        "energy_per_atom_rmse_mev": _rmse(de / n_atoms) * 1000.0,
        "energy_mape": mape,
        "_n_energy_mape_excluded": n_exc,
    }


def force_metrics(
    f_ref,
    f_pred,
    *,
    mape_floor: float = DEFAULT_MAPE_FLOOR,
    zero_force_tol: float = DEFAULT_ZERO_FORCE_TOL,
) -> dict:
    """Force errors over the rows given (already masked): the force part of
    :func:`compute_metrics`."""
    f_ref = np.asarray(f_ref, dtype=np.float64).reshape(-1, 3)   # [M, 3]
    f_pred = np.asarray(f_pred, dtype=np.float64).reshape(-1, 3)  # [M, 3]
    df = f_pred - f_ref                                           # [M, 3]
    out: dict = {}
    n_mape_excluded: dict = {}
    for c, axis in enumerate(_AXES):
        out[f"force_rmse_{axis}"] = _rmse(df[:, c])
        out[f"force_{axis}_mape"], n_mape_excluded[axis] = _mape(
            df[:, c], f_ref[:, c], mape_floor
        )

    mag_ref = np.linalg.norm(f_ref, axis=1)                       # [M]
    mag_pred = np.linalg.norm(f_pred, axis=1)                     # [M]
    dmag = mag_pred - mag_ref                                     # [M]
    out["force_magnitude_rmse"] = _rmse(dmag)
    out["force_magnitude_mape"], n_mape_excluded["magnitude"] = _mape(
        dmag, mag_ref, mape_floor
    )

    directional = mag_ref > zero_force_tol                        # [M]
    if directional.any():
        dot = np.einsum("ij,ij->i", f_pred[directional], f_ref[directional])
        denom = mag_pred[directional] * mag_ref[directional]
        # zero predicted force: cos = 0, i.e. 90 degrees
        cos = np.divide(dot, denom, out=np.zeros_like(dot), where=denom > 0.0)
        angles = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
        out["force_angle_mae_deg"] = float(np.mean(angles))
    else:
        out["force_angle_mae_deg"] = float("nan")
    out["n_force_atoms"] = int(f_ref.shape[0])
    out["n_force_excluded"] = int((~directional).sum())
    out["_n_mape_excluded"] = n_mape_excluded
    return out


def compute_metrics(
    e_ref,
    e_pred,
    n_atoms,
    f_ref,
    f_pred,
    force_mask=None,
    *,
    mape_floor: float = DEFAULT_MAPE_FLOOR,
    zero_force_tol: float = DEFAULT_ZERO_FORCE_TOL,
) -> dict:
    """All the paper's metrics for one set of structures (see the module docstring).

    Returns a dict with the keys of :data:`METRIC_KEYS`: ``n_structures``,
    ``energy_rmse_ev``, ``energy_per_atom_rmse_mev``, ``energy_mape``,
    ``force_rmse_{x,y,z}``, ``force_{x,y,z}_mape``, ``force_magnitude_rmse``,
    ``force_magnitude_mape``, ``force_angle_mae_deg`` plus the counts ``n_force_atoms``
    (atoms counted in force metrics), ``n_force_excluded`` (counted atoms left out of the
    angle for a zero reference force) and ``n_mape_excluded`` (dict: references left out
    of each MAPE). Force metrics are NaN when no atom is counted.
    Raises ValueError on inconsistent shapes or non-finite values.
    """
    e_ref, e_pred, n_atoms, f_ref, f_pred, force_mask = _as_arrays(
        e_ref, e_pred, n_atoms, f_ref, f_pred, force_mask
    )
    en = energy_metrics(e_ref, e_pred, n_atoms)
    fo = force_metrics(
        f_ref[force_mask], f_pred[force_mask],
        mape_floor=mape_floor, zero_force_tol=zero_force_tol,
    )
    excluded = {"energy": en.pop("_n_energy_mape_excluded")}
    excluded.update(fo.pop("_n_mape_excluded"))
    merged = {**en, **fo, "n_mape_excluded": excluded}
    return {k: merged[k] for k in METRIC_KEYS}


def _species_symbols(species_per_atom, n_total: int) -> np.ndarray:
    species = np.asarray(species_per_atom).reshape(-1)
    if species.shape[0] != n_total:
        raise ValueError(
            f"species_per_atom has {species.shape[0]} entries but the structures hold "
            f"{n_total} atoms"
        )
    if np.issubdtype(species.dtype, np.integer):
        species = np.array([SPECIES_NUMBERS.get(int(z), str(int(z))) for z in species])
    return species.astype(str)


def metrics_by_species(
    e_ref,
    e_pred,
    n_atoms,
    f_ref,
    f_pred,
    species_per_atom,
    force_mask=None,
    *,
    mape_floor: float = DEFAULT_MAPE_FLOOR,
    zero_force_tol: float = DEFAULT_ZERO_FORCE_TOL,
) -> dict:
    """:func:`compute_metrics` for all counted atoms and for each species.

    ``species_per_atom``: [N] chemical symbols (or atomic numbers; 5 → B, 7 → N).
    Returns ``{"all": {...}, "B": {...}, "N": {...}}`` (plus a block for any other
    species present). Energy metrics are the same structure-level numbers in every block;
    force metrics of a species block count that species' atoms (within ``force_mask``).
    """
    e_ref, e_pred, n_atoms, f_ref, f_pred, force_mask = _as_arrays(
        e_ref, e_pred, n_atoms, f_ref, f_pred, force_mask
    )
    species = _species_symbols(species_per_atom, f_ref.shape[0])
    kw = dict(mape_floor=mape_floor, zero_force_tol=zero_force_tol)
    out = {"all": compute_metrics(e_ref, e_pred, n_atoms, f_ref, f_pred, force_mask, **kw)}
    names = ["B", "N"] + sorted(set(species.tolist()) - {"B", "N"})
    for name in names:
        out[name] = compute_metrics(
            e_ref, e_pred, n_atoms, f_ref, f_pred, force_mask & (species == name), **kw
        )
    return out


def rmse_by_strength(
    strengths,
    e_ref,
    e_pred,
    n_atoms,
    f_ref,
    f_pred,
    force_mask=None,
    *,
    decimals: int = 3,
    zero_force_tol: float = DEFAULT_ZERO_FORCE_TOL,
) -> list[dict]:
    """Errors per perturbation-strength level, for the paper's Fig. 5-7 curves.

    ``strengths``: [S] perturbation strength of each structure in % (NaN or None = unknown:
    such structures are left out). Structures are grouped by strength rounded to
    ``decimals`` places (so 1.2000000001 and 1.2 are one level). Returns one dict per
    level, in increasing strength, with the keys of :data:`STRENGTH_KEYS`:
    ``strength_pct``, ``n_structures``, ``n_force_atoms``, ``n_force_excluded``,
    ``energy_rmse_ev``, ``energy_per_atom_rmse_mev``, ``force_magnitude_rmse`` (eV/Å) and
    ``force_angle_mae_deg``.
    """
    e_ref, e_pred, n_atoms, f_ref, f_pred, force_mask = _as_arrays(
        e_ref, e_pred, n_atoms, f_ref, f_pred, force_mask
    )
    s = np.array(
        [np.nan if v is None else float(v) for v in np.asarray(strengths, dtype=object).ravel()],
        dtype=np.float64,
    )  # [S]
    if s.shape[0] != e_ref.shape[0]:
        raise ValueError(
            f"{s.shape[0]} strengths given for {e_ref.shape[0]} structures"
        )
    levels = np.round(s, decimals)                         # [S]
    structure_of_atom = np.repeat(np.arange(len(n_atoms)), n_atoms)  # [N]
    out = []
    for level in np.unique(levels[np.isfinite(levels)]):
        sel = levels == level                                      # [S]
        atoms = force_mask & sel[structure_of_atom]                # [N]
        en = energy_metrics(e_ref[sel], e_pred[sel], n_atoms[sel])
        fo = force_metrics(f_ref[atoms], f_pred[atoms], zero_force_tol=zero_force_tol)
        row = {
            "strength_pct": float(level),
            "n_structures": en["n_structures"],
            "n_force_atoms": fo["n_force_atoms"],
            "n_force_excluded": fo["n_force_excluded"],
            "energy_rmse_ev": en["energy_rmse_ev"],
            "energy_per_atom_rmse_mev": en["energy_per_atom_rmse_mev"],
            "force_magnitude_rmse": fo["force_magnitude_rmse"],
            "force_angle_mae_deg": fo["force_angle_mae_deg"],
        }
        out.append({k: row[k] for k in STRENGTH_KEYS})
    return out


def nan_to_none(obj):
    """Copy of a metrics structure with NaN/inf floats replaced by None (JSON null)."""
    if isinstance(obj, dict):
        return {k: nan_to_none(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [nan_to_none(v) for v in obj]
    if isinstance(obj, (float, np.floating)):
        v = float(obj)
        return v if np.isfinite(v) else None
    if isinstance(obj, np.integer):
        return int(obj)
    return obj
