"""`areanet evaluate`: the paper's test-set evaluation of a model.

    areanet evaluate MODEL DATA [DATA ...] --out DIR [--train-range 1 5] [--species-mask [B|N]]

MODEL is a training checkpoint or an exported TorchScript file; DATA any ASE-readable files
with reference energies and forces. Prints the paper's Table II rows (all counted atoms and
per species) and the errors per perturbation strength, and writes to DIR:

* ``metrics.json`` -- blocks ``all``, ``B``, ``N`` with the keys of
  :data:`areanet.training.metrics.METRIC_KEYS`, ``by_strength`` (one entry per strength
  level), and the settings used; NaN (a metric with nothing to count) is written as null;
* ``metrics.md``   -- the same as Markdown tables;
* ``parity.png``   -- Fig. 3/4-style parity plots and residual histograms;
* ``strength.png`` -- Fig. 5-style errors against perturbation strength, training range
  shaded (only when the structures carry ``perturb_strength_pct``).

The work is in :func:`evaluate_predictions`, which takes structures and predictions already
made, so other commands (``reproduce``) and tests call it without a model.
"""
from __future__ import annotations

import json
import math
import zipfile
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ..errors import UserError
from .metrics import (DEFAULT_MAPE_FLOOR, DEFAULT_ZERO_FORCE_TOL, metrics_by_species, nan_to_none,
                      rmse_by_strength)

DEFAULT_TRAIN_RANGE = (1.0, 5.0)

# (key, label in the paper's words, unit) in the order of the paper's Table II
TABLE_ROWS = [
    ("n_structures", "Structures", ""),
    ("energy_rmse_ev", "RMSE of total energy", "eV"),
    ("energy_per_atom_rmse_mev", "RMSE of energy per atom", "meV"),
    ("energy_mape", "MAPE of total energy", "fraction"),
    ("force_rmse_x", "RMSE of x-component force", "eV/Å"),
    ("force_x_mape", "MAPE of x-component force", "fraction"),
    ("force_rmse_y", "RMSE of y-component force", "eV/Å"),
    ("force_y_mape", "MAPE of y-component force", "fraction"),
    ("force_rmse_z", "RMSE of z-component force", "eV/Å"),
    ("force_z_mape", "MAPE of z-component force", "fraction"),
    ("force_magnitude_rmse", "RMSE of force magnitude", "eV/Å"),
    ("force_magnitude_mape", "MAPE of force magnitude", "fraction"),
    ("force_angle_mae_deg", "Mean absolute angular error", "degree"),
    ("n_force_atoms", "Atoms counted in force metrics", ""),
    ("n_force_excluded", "Zero-force atoms left out of the angle", ""),
]

STRENGTH_COLUMNS = [
    ("strength_pct", "Strength (%)"),
    ("n_structures", "Structures"),
    ("energy_rmse_ev", "E RMSE (eV)"),
    ("energy_per_atom_rmse_mev", "E RMSE (meV/atom)"),
    ("force_magnitude_rmse", "|F| RMSE (eV/Å)"),
    ("force_angle_mae_deg", "Angle MAE (°)"),
]


# ---------------------------------------------------------------------------------------
# gathering structures and predictions into flat arrays
# ---------------------------------------------------------------------------------------

def _reference(atoms, index: int) -> tuple[float, np.ndarray]:
    try:
        energy = float(atoms.get_potential_energy())
        forces = np.asarray(atoms.get_forces(), dtype=np.float64)
    except Exception:  # no calculator / no stored result: fall back on info and arrays
        energy = atoms.info.get("energy")
        forces = atoms.arrays.get("forces")
        if energy is None or forces is None:
            raise UserError(f"structure {index}: no reference energy and forces") from None
        energy, forces = float(energy), np.asarray(forces, dtype=np.float64)
    return energy, forces


def _prediction(pred: Any, index: int, n: int) -> tuple[float, np.ndarray, np.ndarray | None]:
    """(energy, forces [n, 3], force_mask [n] or None) from one prediction.

    Accepts ``(energy, forces)``, ``(energy, forces, force_mask)`` or a mapping with keys
    ``energy``, ``forces`` and optionally ``force_mask``.
    """
    if isinstance(pred, Mapping):
        energy, forces, mask = pred["energy"], pred["forces"], pred.get("force_mask")
    else:
        items = tuple(pred)
        if len(items) not in (2, 3):
            raise UserError(
                f"structure {index}: a prediction is (energy, forces[, force_mask]), "
                f"got {len(items)} items"
            )
        energy, forces = items[0], items[1]
        mask = items[2] if len(items) == 3 else None
    energy = float(energy)
    if not math.isfinite(energy):
        raise UserError(f"structure {index}: predicted energy is {energy}")
    forces = np.asarray(forces, dtype=np.float64)
    if forces.shape != (n, 3):
        raise UserError(
            f"structure {index}: predicted forces have shape {forces.shape}, expected ({n}, 3)"
        )
    if mask is not None:
        mask = np.asarray(mask)
        if mask.shape != (n,) or mask.dtype != bool:
            raise UserError(
                f"structure {index}: force_mask must be bool of shape ({n},), "
                f"got {mask.dtype} {mask.shape}"
            )
        bad = np.flatnonzero(mask & ~np.all(np.isfinite(forces), axis=1))
    else:
        bad = np.flatnonzero(~np.all(np.isfinite(forces), axis=1))
    if bad.size:
        raise UserError(f"structure {index}: non-finite predicted force on atom {int(bad[0])}")
    return energy, forces, mask


def _strength(atoms) -> float | None:
    value = atoms.info.get("perturb_strength_pct")
    if value is None:
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


# ---------------------------------------------------------------------------------------
# the evaluation
# ---------------------------------------------------------------------------------------

def evaluate_predictions(
    structures: Sequence,
    predictions: Sequence,
    out_dir,
    *,
    train_range: tuple[float, float] | None = DEFAULT_TRAIN_RANGE,
    species_mask: str | None = None,
    plots: bool = True,
    mape_floor: float = DEFAULT_MAPE_FLOOR,
    zero_force_tol: float = DEFAULT_ZERO_FORCE_TOL,
    title: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict:
    """Compute every metric, write ``metrics.json``, ``metrics.md`` and the PNGs to
    ``out_dir``, and return the dict written to ``metrics.json``.

    ``structures``: ase.Atoms with reference energy and forces (``perturb_strength_pct``
    in ``info`` for the strength curves). ``predictions``: one per structure,
    ``(energy, forces)`` or ``(energy, forces, force_mask)`` (a direct-force model
    predicts forces on its centre atoms only; other atoms may hold NaN). ``species_mask``
    ("B"/"N") further restricts the force metrics of the ``all`` block and the strength
    curves to that species, like the paper's "force on centre atom". ``extra`` is copied
    into the JSON (e.g. model and data paths).
    """
    if len(structures) == 0:
        raise UserError("no structures to evaluate")
    if len(predictions) != len(structures):
        raise UserError(
            f"{len(predictions)} predictions for {len(structures)} structures"
        )
    if train_range is not None:
        train_range = (float(train_range[0]), float(train_range[1]))
        if not train_range[0] < train_range[1]:
            raise UserError(f"training range {train_range} is empty: give LO < HI")

    e_ref, e_pred, n_atoms, strengths = [], [], [], []
    f_ref, f_pred, masks, species = [], [], [], []
    for i, (atoms, pred) in enumerate(zip(structures, predictions)):
        n = len(atoms)
        er, fr = _reference(atoms, i)
        ep, fp, mask = _prediction(pred, i, n)
        e_ref.append(er)
        e_pred.append(ep)
        n_atoms.append(n)
        f_ref.append(fr)
        f_pred.append(fp)
        masks.append(np.ones(n, dtype=bool) if mask is None else mask)
        species.extend(atoms.get_chemical_symbols())
        strengths.append(_strength(atoms))
    e_ref, e_pred = np.array(e_ref), np.array(e_pred)               # [S]
    n_atoms = np.array(n_atoms, dtype=np.int64)                     # [S]
    f_ref, f_pred = np.concatenate(f_ref), np.concatenate(f_pred)   # [N, 3]
    force_mask = np.concatenate(masks)                              # [N]
    species = np.array(species)                                     # [N]
    if species_mask is not None:
        if species_mask not in set(species.tolist()):
            raise UserError(f"--species-mask {species_mask}: no {species_mask} atoms in the data")
        force_mask = force_mask & (species == species_mask)

    kw = dict(mape_floor=mape_floor, zero_force_tol=zero_force_tol)
    try:
        blocks = metrics_by_species(
            e_ref, e_pred, n_atoms, f_ref, f_pred, species, force_mask, **kw
        )
        by_strength = rmse_by_strength(
            strengths, e_ref, e_pred, n_atoms, f_ref, f_pred, force_mask,
            zero_force_tol=zero_force_tol,
        )
    except ValueError as err:
        raise UserError(str(err)) from None
    for level in by_strength:
        level["in_training_range"] = (
            None if train_range is None
            else bool(train_range[0] - 1e-9 <= level["strength_pct"] <= train_range[1] + 1e-9)
        )

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    figures = []
    if plots:
        from .plots import parity_figure, strength_figure  # lazy: matplotlib only when figures are drawn

        figures.append(parity_figure(
            e_ref, e_pred, n_atoms, f_ref, f_pred, out_dir / "parity.png",
            force_mask=force_mask, species=species, title=title,
            zero_force_tol=zero_force_tol,
        ).name)
        if by_strength:
            figures.append(strength_figure(
                by_strength, out_dir / "strength.png", train_range=train_range, title=title,
            ).name)

    result = {
        **dict(extra or {}),
        "settings": {
            "train_range_pct": None if train_range is None else list(train_range),
            "species_mask": species_mask,
            "mape_floor_ev_per_ang": mape_floor,
            "zero_force_tol_ev_per_ang": zero_force_tol,
            "units": {"energy": "eV", "energy_per_atom": "meV", "force": "eV/Å",
                      "angle": "degree", "mape": "fraction"},
        },
        **blocks,
        "by_strength": by_strength,
        "figures": figures,
    }
    result = nan_to_none(result)
    (out_dir / "metrics.json").write_text(
        json.dumps(result, indent=2, allow_nan=False, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    (out_dir / "metrics.md").write_text(format_markdown(result, title=title), encoding="utf-8")
    return result


# ---------------------------------------------------------------------------------------
# tables
# ---------------------------------------------------------------------------------------

def _fmt(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    value = float(value)
    if value == 0.0 or abs(value) >= 1e-3:
        return f"{value:.6f}" if abs(value) < 1e4 else f"{value:.6g}"
    return f"{value:.3e}"


def _block_names(result: Mapping) -> list[str]:
    names = ["all", "B", "N"]
    skip = {"settings", "by_strength", "figures"}
    names += [k for k, v in result.items()
              if k not in names and k not in skip and isinstance(v, Mapping)
              and "energy_rmse_ev" in v]
    return [n for n in names if n in result]


def _metric_rows(result: Mapping) -> tuple[list[str], list[list[str]]]:
    names = _block_names(result)
    header = ["Metric"] + [("all atoms" if n == "all" else f"{n} atoms") for n in names]
    rows = []
    for key, label, unit in TABLE_ROWS:
        text = f"{label} ({unit})" if unit else label
        rows.append([text] + [_fmt(result[n].get(key)) for n in names])
    return header, rows


def _strength_rows(result: Mapping) -> tuple[list[str], list[list[str]]]:
    header = [label for _, label in STRENGTH_COLUMNS] + ["Training range"]
    rows = []
    for level in result.get("by_strength") or []:
        row = [_fmt(level[k]) if k != "strength_pct" else f"{level[k]:g}"
               for k, _ in STRENGTH_COLUMNS]
        row.append(_fmt(level.get("in_training_range")))
        rows.append(row)
    return header, rows


def _text_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    def line(cells):
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))
        )
    return "\n".join([line(header), "  ".join("-" * w for w in widths), *map(line, rows)])


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table: first column left-aligned, the others right; a "|" in a cell (|F|) is escaped."""
    def esc(cells):
        return [c.replace("|", "\\|") for c in cells]
    header, rows = esc(header), [esc(r) for r in rows]
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def _notes(result: Mapping) -> list[str]:
    s = result.get("settings", {})
    notes = [
        "MAPE is a fraction (0.01 = 1 %), as in the paper's \"(100%)\" columns. Force "
        f"references with |F| < {s.get('mape_floor_ev_per_ang', DEFAULT_MAPE_FLOOR):g} eV/Å "
        "are left out of the force MAPEs; zero reference forces are left out of the angle.",
    ]
    if s.get("species_mask"):
        notes.append(f"Force metrics of 'all atoms' count {s['species_mask']} atoms only.")
    excluded = (result.get("all") or {}).get("n_mape_excluded") or {}
    if excluded:
        notes.append("References left out of each MAPE (all atoms): "
                     + ", ".join(f"{k} {v}" for k, v in excluded.items()) + ".")
    return notes


def format_table(result: Mapping) -> str:
    """The printed report: the Table II rows per block, then errors per strength."""
    parts = [_text_table(*_metric_rows(result))]
    header, rows = _strength_rows(result)
    if rows:
        parts.append("Errors by perturbation strength (force metrics over counted atoms):\n"
                     + _text_table(header, rows))
    parts.extend(_notes(result))
    return "\n\n".join(parts)


def format_markdown(result: Mapping, title: str | None = None) -> str:
    parts = [f"# Evaluation{': ' + title if title else ''}"]
    for key in ("model", "data"):
        if key in result:
            value = result[key]
            value = ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else value
            parts.append(f"- {key}: `{value}`")
    parts.append("## Test-set errors (paper Table II rows)\n\n" + markdown_table(*_metric_rows(result)))
    header, rows = _strength_rows(result)
    if rows:
        parts.append("## Errors by perturbation strength (paper Fig. 5)\n\n"
                     + markdown_table(header, rows))
    parts.append("\n".join(f"- {n}" for n in _notes(result)))
    figures = result.get("figures") or []
    if figures:
        parts.append("\n\n".join(f"![{Path(f).stem}]({f})" for f in figures))
    return "\n\n".join(parts) + "\n"


# ---------------------------------------------------------------------------------------
# the command
# ---------------------------------------------------------------------------------------

def _find_key(obj, key: str, depth: int = 0):
    """The first string value of ``key`` anywhere in nested dicts/lists/objects."""
    if depth > 6:
        return None
    if isinstance(obj, Mapping):
        if isinstance(obj.get(key), str):
            return obj[key]
        children = obj.values()
    elif isinstance(obj, (list, tuple)):
        children = obj
    elif hasattr(obj, "__dict__") and not isinstance(obj, type):
        children = [vars(obj)]
    else:
        return None
    for child in children:
        found = _find_key(child, key, depth + 1)
        if found is not None:
            return found
    return None


def model_centers(model_path) -> str | None:
    """The model's ``centers`` setting ("both", "B" or "N"), read from a TorchScript file's
    extra files or a checkpoint's stored config; None if it cannot be found."""

    path = Path(model_path)
    if not zipfile.is_zipfile(path):  # TorchScript files and torch.save output are zips
        return None
    with zipfile.ZipFile(path) as zf:
        extras = [n for n in zf.namelist() if "/extra/" in n]
        for name in extras:
            text = zf.read(name).decode("utf-8", errors="replace").strip()
            if Path(name).name in ("centers", "centres"):
                return text
            try:
                found = _find_key(json.loads(text), "centers")
            except ValueError:
                continue
            if found is not None:
                return found
        if extras:  # a TorchScript file without the setting
            return None
    try:
        import torch  # lazy: the `areanet evaluate` parser imports this module, and --help stays fast

        try:
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
        except Exception:
            ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except Exception:
        return None
    return _find_key(ckpt, "centers")
