"""The GPAW reference of the validation (E(a) and Γ finite differences), computed once and cached in
validation/dft_reference.json with the labeller of areanet.training.data.label."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ...data.labellers import GpawLabeller, LabelSettings
from ...paths import DEFAULT_DFT_REFERENCE
from .physics import (DFT_EOS_A, DFT_GPTS, DFT_KPTS, DFT_PHONON_A, fit_eos, gamma_force_constants,
                      optical_frequency_cm1, phonon_displacement, rect_cell)


def dft_settings():

    return LabelSettings(reference="gpaw", kpts=DFT_KPTS, gpts=DFT_GPTS, symmetry="auto")


def compute_dft_reference(path: str | Path = DEFAULT_DFT_REFERENCE, eos_a=DFT_EOS_A,
                          phonon_a: float = DFT_PHONON_A, log: Callable = print) -> dict:
    """Compute (or finish) the GPAW E(a) curve and Γ finite differences; saved after each
    point, so an interrupted run resumes where it stopped."""

    path = Path(path)
    ref = json.loads(path.read_text()) if path.is_file() else {}
    labeller = GpawLabeller(dft_settings())
    ref.setdefault("description", labeller.description)
    ref["method"] = (
        "4-atom rectangular cell (a x sqrt(3) a x 12 A, the layout of data/), Gamma-centred "
        f"{'x'.join(map(str, DFT_KPTS))} k-points and a {'x'.join(map(str, DFT_GPTS))} grid: "
        "the same k-points and grid spacing as the 60-atom Gamma-point cells of data/; "
        "symmetry: GPAW default (point group + time reversal)")
    eos = ref.setdefault("eos", {"a": [], "energy_per_atom": [], "seconds": []})
    phonon = ref.setdefault("phonon", {"a": phonon_a, "atom": 0, "symbols": None,
                                       "displacement": None, "forces_plus": None,
                                       "forces_minus": None, "seconds": []})

    def save():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(ref, indent=1) + "\n")
        tmp.replace(path)

    for a in eos_a:
        if any(abs(a - x) < 1e-9 for x in eos["a"]):
            continue
        t0 = time.perf_counter()
        atoms = rect_cell(a)
        e = labeller.energy(atoms) / len(atoms)
        seconds = time.perf_counter() - t0
        eos["a"].append(float(a))
        eos["energy_per_atom"].append(e)
        eos["seconds"].append(round(seconds, 1))
        order = np.argsort(eos["a"])
        for key in ("a", "energy_per_atom", "seconds"):
            eos[key] = [eos[key][k] for k in order]
        save()
        log(f"DFT E(a): a = {a:.4f} Å  E = {e:.6f} eV/atom  ({seconds:.0f} s)")
    u = phonon_displacement(phonon_a)
    phonon["displacement"] = u.tolist()
    for sign, key in ((+1, "forces_plus"), (-1, "forces_minus")):
        if phonon.get(key) is not None:
            continue
        t0 = time.perf_counter()
        atoms = rect_cell(phonon_a)
        atoms.positions[0] += sign * u
        _, forces = labeller.label(atoms)
        phonon[key] = np.asarray(forces).tolist()
        phonon["symbols"] = atoms.get_chemical_symbols()
        phonon["seconds"].append(round(time.perf_counter() - t0, 1))
        save()
        log(f"DFT Γ phonon: atom 0 displaced by {sign:+d}·{np.round(u, 4).tolist()} Å "
            f"({phonon['seconds'][-1]:.0f} s)")
    return ref


def load_dft_reference(path: str | Path) -> dict | None:
    path = Path(path)
    if not path.is_file():
        return None
    ref = json.loads(path.read_text())
    return ref


def dft_summary(ref: dict) -> dict[str, Any]:
    """a0, B and Γ optical frequencies from a DFT reference dict."""
    out: dict[str, Any] = {}
    eos = ref.get("eos") or {}
    if len(eos.get("a", [])) >= 4:
        out["eos"] = fit_eos(eos["a"], eos["energy_per_atom"])
    ph = ref.get("phonon") or {}
    if ph.get("forces_plus") is not None and ph.get("forces_minus") is not None:
        k = gamma_force_constants(ph["symbols"], ph["forces_plus"], ph["forces_minus"],
                                  ph["displacement"])
        out["gamma"] = {"k": k, "E'": optical_frequency_cm1(k["inplane"]),
                        "A2''": optical_frequency_cm1(k["out_of_plane"])}
    return out
