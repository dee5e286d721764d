"""The GPAW reference of the validation (E(a), Γ finite differences, relaxed-ion strain energies), computed
once and cached in validation/dft_reference.json with the labeller of areanet.training.data.label."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ...data.labellers import GpawLabeller, LabelSettings
from ...errors import UserError
from ...paths import DEFAULT_DFT_REFERENCE
from .elastic import CURVE_STRAINS, MODES, SMALL_STRAINS, Relaxer
from .phonons_mk import mk_frequencies
from .physics import (DFT_EOS_A, DFT_GPTS, DFT_KPTS, DFT_PHONON_A, MK_DELTA, MK_GPTS, MK_KPTS, fit_eos, gamma_force_constants,
                      optical_frequency_cm1, phonon_displacement, rect_cell)


def dft_settings():
    return LabelSettings(reference="gpaw", kpts=DFT_KPTS, gpts=DFT_GPTS, symmetry="auto")


def compute_dft_reference(path: str | Path = DEFAULT_DFT_REFERENCE, eos_a=DFT_EOS_A,
                          phonon_a: float = DFT_PHONON_A, log: Callable = print,
                          elastic: bool = True) -> dict:
    """Compute (or finish) the GPAW E(a) curve, Γ finite differences and (``elastic``) the
    relaxed-ion strain energies; saved after each point, so an interrupted run resumes where
    it stopped."""

    path = Path(path)
    ref = json.loads(path.read_text()) if path.is_file() else {}
    labeller = GpawLabeller(dft_settings())
    if ref.get("description", labeller.description) != labeller.description:
        # never finish a reference with other settings than it was started with (the FD and
        # FFT Poisson solvers differ by ~17 meV/atom in absolute energy, data/README.md)
        raise UserError(f"{path} was computed with {ref['description']}; this GPAW labeller is "
                        f"{labeller.description}. Write the new reference to another file "
                        "(--dft-reference NEW.json --compute-dft) or move the old one aside")
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
    if elastic:  # the constants first, then M/K, then the long curves
        txt = str(path.parent / GPAW_TEXT)
        compute_dft_elastic(ref, save, log, curves=False, txt=txt)
        compute_dft_phonon_mk(ref, path.parent / MK_CACHE, save, log, txt=txt)
        compute_dft_elastic(ref, save, log, curves=True, txt=txt)
    return ref


GPAW_TEXT = "gpaw-elastic-mk.txt"  # GPAW's text output of the current calculation (not committed)
MK_CACHE = "phonon-mk-gpaw"  # ase.phonons' cache of the GPAW displacements, beside the JSON


def compute_dft_phonon_mk(ref: dict, cache: Path, save: Callable, log: Callable, txt: str | None = None) -> None:
    """Γ, M and K frequencies from GPAW finite differences in the 12-atom 3 × 1 supercell
    (phonons.mk_frequencies); the displacements are cached in ``cache`` (one JSON file each),
    so a stopped run resumes."""
    from gpaw import GPAW

    if (ref.get("phonon_mk") or {}).get("frequencies_cm1"):
        return
    settings = LabelSettings(reference="gpaw", kpts=MK_KPTS, gpts=MK_GPTS, extra=NO_POINT_GROUP)
    t0 = time.perf_counter()
    log(f"DFT M/K phonons: 25 GPAW calculations of the 12-atom supercell, cached in {cache}")
    result = mk_frequencies(GPAW(txt=txt, **settings.gpaw_kwargs()), DFT_PHONON_A, MK_DELTA, cache)
    result.update(kpts=list(MK_KPTS), gpts=list(MK_GPTS), seconds=round(time.perf_counter() - t0, 1))
    ref["phonon_mk"] = result
    save()
    log("DFT M/K phonons: " + "; ".join(f"{k} " + ", ".join(f"{w:.1f}" for w in v)
                                        for k, v in result["frequencies_cm1"].items()))


NO_POINT_GROUP = {"symmetry": {"point_group": False}}  # displaced atoms: time reversal only
# eV/Å: the grid's egg-box forces are ~0.01 at h = 0.15 Å (data/README.md); a residual force F
# leaves an energy error ~F²/2k ≈ 1e-6 eV with k ≈ 20 eV/Å²
DFT_RELAX_FMAX = 0.01


def compute_dft_elastic(ref: dict, save: Callable, log: Callable, curves: bool = True,
                        txt: str | None = None) -> None:
    """Relaxed-ion energies of the 4-atom cell for the elastic constants and (``curves``) the
    uniaxial curves (section f), at GPAW's own a0 (the E(a) fit); saved after each point. Symmetry is
    off here: the relaxations lower it."""
    from gpaw import GPAW

    eos = ref.get("eos") or {}
    if len(eos.get("a", [])) < 4:
        raise ValueError("the GPAW elastic reference needs the E(a) points first (its a0)")
    a0 = fit_eos(eos["a"], eos["energy_per_atom"])["a0"]
    settings = LabelSettings(reference="gpaw", kpts=DFT_KPTS, gpts=DFT_GPTS, extra=NO_POINT_GROUP)
    relaxer = Relaxer(lambda: GPAW(txt=txt, **settings.gpaw_kwargs()), nx=1, ny=1, fmax=DFT_RELAX_FMAX)
    el = ref.setdefault("elastic", {})
    if el.get("a0") is not None and abs(el["a0"] - a0) > 1e-9:
        raise ValueError(f"the cached elastic points are at a0 = {el['a0']} Å, the E(a) fit gives {a0}: "
                         "delete the 'elastic' entry to recompute")
    el["a0"] = a0
    el["fmax"] = DFT_RELAX_FMAX
    work = [("constants_energies", mode, SMALL_STRAINS, MODES[mode]) for mode in MODES]
    if curves:
        work += [("curves", name, CURVE_STRAINS, MODES[mode])
                 for name, mode in (("zigzag", "uniaxial_x"), ("armchair", "uniaxial_y"))]
    for group, name, strains, unit in work:
        store = el.setdefault(group, {})
        done = store.setdefault(name, {"strains": [], "energies": []} if group == "curves" else [])
        energies = done["energies"] if group == "curves" else done
        for eps in strains[len(energies):]:
            t0 = time.perf_counter()
            energies.append(relaxer.energy(a0, tuple(eps * u for u in unit)))
            if group == "curves":
                done["strains"].append(eps)
            save()
            log(f"DFT elastic: {name} strain {100 * eps:+.1f} %  E = {energies[-1]:.6f} eV "
                f"({time.perf_counter() - t0:.0f} s)")


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
