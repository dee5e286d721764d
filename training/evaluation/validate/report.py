"""The validation run: every section in turn (a failing one is reported, not fatal), validation.json and
validation.md with the verdicts against the bar."""
from __future__ import annotations

import hashlib
import json
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from areanet.potential.sheet_coulomb import model_charges

from ...errors import UserError
from ...fit.predict import load_any
from ...paths import DEFAULT_DFT_REFERENCE, DEFAULT_EXTRAP
from ...scoring.evaluate import _metric_rows, _strength_rows, markdown_table
from .accuracy import model_calculator, model_training_info, section_accuracy
from .comparison import format_comparison, run_comparison
from .dft import load_dft_reference
from .elastic import format_elastic, section_elastic
from .eos import section_eos
from ..thermal.expansion import format_expansion, section_expansion
from .markdown import _f, _pct, _verdict
from .md import _plot_nve, _plot_rdf, section_nve, section_rdf
from .phonons import section_phonons
from .phonons_mk import format_mk
from .physics import DFT_PHONON_A, README_A0


# The accuracy bar (the report's high-order numbers on its VASP data) and physics bar.
BAR = {"energy_per_atom_rmse_mev": 0.48, "force_magnitude_rmse": 0.072, "a0_abs_error": 0.005,
       "gamma_rel_error": 0.02}

NOISE_FLOOR = "≈ 0.16 meV/atom and 0.02 eV/Å RMS (grid egg-box effect at h = 0.15 Å, data/README.md)"
QUICK = dict(md_atoms=60, nve_steps=100, rdf_eq=40, rdf_steps=80, dt_fs=1.0)
FULL = dict(md_atoms=240, nve_steps=1000, rdf_eq=250, rdf_steps=750, dt_fs=1.0)


def run_validation(model, out, *, test_data=None, dft_data=None, extrap_data=DEFAULT_EXTRAP,
                   dft_reference=DEFAULT_DFT_REFERENCE, quick: bool = False,
                   train_range=(1.0, 5.0), compare=None, compare_epochs: int = 100,
                   log: Callable = print) -> dict:
    """Every section; a failing section is reported in the document, not raised."""

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    plan = QUICK if quick else FULL
    dft = load_dft_reference(dft_reference) if dft_reference else None

    info = {}
    try:
        info = model_training_info(model)
    except Exception:  # the report says what it could not read
        pass
    charges = None
    try:
        values, width = model_charges(load_any(model))
        if any(values != 0.0):
            charges = {"species_charges": values.tolist(), "charge_width": width}
    except Exception:
        pass
    result: dict[str, Any] = {"model": str(model), "quick": quick, "plan": plan, "charges": charges,
                              "model_sha256": hashlib.sha256(Path(model).read_bytes()).hexdigest(),
                              "model_data_hash": info.get("data_hash"),
                              "dft_reference": str(dft_reference) if dft else None,
                              "dft_description": (dft or {}).get("description"),
                              "dft_method": (dft or {}).get("method"), "sections": {},
                              "errors": {}, "seconds": {}}
    if dft is None:
        log(f"no DFT reference at {dft_reference}: model-only curves (run --compute-dft)")
    with tempfile.TemporaryDirectory(prefix="areanet-validate-") as tmp:
        workdir = Path(tmp)
        calc = model_calculator(model, workdir)

        def section(name, func):
            t0 = time.perf_counter()
            try:
                result["sections"][name] = func()
            except UserError as err:
                result["errors"][name] = str(err)
            except Exception as err:  # a physics failure is a finding, not a crash
                result["errors"][name] = f"{type(err).__name__}: {err}"
            result["seconds"][name] = round(time.perf_counter() - t0, 1)
            status = "failed: " + result["errors"][name] if name in result["errors"] else "done"
            log(f"validate: {name} {status} ({result['seconds'][name]:.1f} s)")

        section("accuracy", lambda: section_accuracy(model, out, test_data, dft_data,
                                                     extrap_data, train_range))
        section("eos", lambda: section_eos(calc, dft, out, quick))
        eos = result["sections"].get("eos")
        a_model = (eos or {}).get("model", {}).get("a0", DFT_PHONON_A)
        section("phonons", lambda: section_phonons(calc, dft, eos, out, workdir, quick))
        section("elastic", lambda: section_elastic(calc, dft, a_model, out, quick))

        def nve():
            res = section_nve(calc, a_model, plan["md_atoms"], plan["nve_steps"], plan["dt_fs"],
                              300.0)
            _plot_nve(res, out / "nve.png")
            return res

        section("nve", nve)

        def rdf():
            res = section_rdf(calc, a_model, plan["md_atoms"], plan["rdf_eq"], plan["rdf_steps"],
                              plan["dt_fs"], 300.0)
            _plot_rdf(res, out / "rdf.png")
            return res

        section("rdf", rdf)
        section("expansion", lambda: section_expansion(model, a_model, out, workdir, quick, log))
        if compare:
            section("comparison", lambda: run_comparison(model, compare, compare_epochs,
                                                         extrap_data, log=log))
    (out / "validation.json").write_text(json.dumps(_compact(result), indent=1,
                                                    default=_json_default) + "\n")
    (out / "validation.md").write_text(format_report(result))
    return result


def _json_default(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _compact(result: dict) -> dict:
    """The JSON without the long curves (they are in the figures)."""
    drop = {"t_ps", "etot_mev_per_atom", "epot_mev_per_atom", "temperature_K", "r", "g",
            "frequencies_cm1", "x", "by_strength", "model_dense", "a_dense", "strain_dense",
            "stress_dense"}

    def strip(obj):
        if isinstance(obj, dict):
            return {k: strip(v) for k, v in obj.items() if k not in drop}
        if isinstance(obj, list):
            return [strip(v) for v in obj]
        return obj

    return strip(result)


def format_report(result: dict) -> str:
    s, err = result["sections"], result["errors"]
    lines = [f"# Validation of `{Path(result['model']).name}`", ""]
    lines.append(f"Model: `{result['model']}` (sha256 `{result.get('model_sha256', '?')[:16]}…`, "
                 f"training-data hash `{str(result.get('model_data_hash'))[:16]}…`). "
                 "Written by `areanet validate`"
                 + (" --quick (short MD, small supercells: a smoke test, not the numbers to quote)"
                    if result["quick"] else "") + ".")
    if result.get("charges"):
        c = result["charges"]
        lines.append(f"Charged model: fixed charges {', '.join(f'{q:+g} e' for q in c['species_charges'])} "
                     f"(species order of the model), smoothed over {c['charge_width']:g} Å: the long-range "
                     "sheet Coulomb (potential/sheet_coulomb.py) is part of every number below.")
    if result.get("dft_description"):
        lines.append(f"DFT reference: {result['dft_description']}; {result.get('dft_method')}.")
    lines.append(f"Label noise floor of the DFT data: {NOISE_FLOOR}. Read every accuracy number "
                 "against it.")
    lines.append("")

    # benchmark summary
    bar_rows = []
    acc = s.get("accuracy", {}).get("test", {}).get("all", {})
    if acc:
        e, f = acc.get("energy_per_atom_rmse_mev"), acc.get("force_magnitude_rmse")
        bar_rows.append(["energy RMSE, test split (meV/atom)", _f(e, "{:.3f}"), f"≤ {BAR['energy_per_atom_rmse_mev']}",
                         _verdict(None if e is None else e <= BAR["energy_per_atom_rmse_mev"])])
        bar_rows.append(["force-magnitude RMSE, test split (eV/Å)", _f(f, "{:.4f}"), f"≤ {BAR['force_magnitude_rmse']}",
                         _verdict(None if f is None else f <= BAR["force_magnitude_rmse"])])
    eos = s.get("eos", {})
    if "dft" in eos:
        da = eos["model"]["a0"] - eos["dft"]["a0"]
        bar_rows.append(["lattice constant, model − DFT (Å)", f"{da:+.4f}", f"within ±{BAR['a0_abs_error']}",
                         _verdict(abs(da) <= BAR["a0_abs_error"])])
    ph = s.get("phonons", {})
    if "dft_fd" in ph:
        for mode in ("E'", "A2''"):
            rel = (ph["model_fd"][mode] - ph["dft_fd"][mode]) / ph["dft_fd"][mode]
            bar_rows.append([f"Γ optical {mode}, model vs DFT", f"{100 * rel:+.2f} %",
                             f"within ±{100 * BAR['gamma_rel_error']:g} %",
                             _verdict(abs(rel) <= BAR["gamma_rel_error"])])
    if bar_rows:
        lines += ["## Benchmark (issue 4's accuracy bar)", "",
                  markdown_table(["quantity", "value", "bar", "verdict"], bar_rows), ""]

    # (a) accuracy
    lines += ["## (a) Accuracy on the DFT test split and the extrapolation points", ""]
    if "accuracy" in s:
        a = s["accuracy"]
        lines += [f"Test structures: {a['test_source']}.", "",
                  markdown_table(*_metric_rows(a["test"])), ""]
        if "extrap" in a:
            lines += [f"Extrapolation points (`{Path(a['extrap_source']).name}`, outside the "
                      "training strengths except the 0 % and 0.5 % frames):", "",
                      markdown_table(*_metric_rows(a["extrap"])), ""]
        if "strength" in a:
            header, rows = _strength_rows(a["strength"])
            lines += ["Errors against perturbation strength (test split + extrapolation points; "
                      "Fig. 5 of the report):", "", markdown_table(header, rows), "",
                      "![RMSE vs strength](accuracy-strength/strength.png)",
                      "![parity, test split](accuracy-test/parity.png)", ""]
    else:
        lines += [f"Not computed: {err.get('accuracy', 'skipped')}", ""]

    # (b) EOS
    lines += ["## (b) Lattice constant and 2D bulk modulus (biaxial strain)", ""]
    if eos:
        rows = [["model", _f(eos["model"]["a0"]), _f(eos["model"]["b2d_n_per_m"], "{:.1f}"),
                 _f(eos["model"]["e0"], "{:.5f}")]]
        if "dft" in eos:
            d = eos["dft"]
            rows.append(["GPAW (labeller)", _f(d["a0"]), _f(d["b2d_n_per_m"], "{:.1f}"),
                         _f(d["e0"], "{:.5f}")])
            rows.append(["model − GPAW", f"{eos['model']['a0'] - d['a0']:+.4f} Å "
                         f"({_pct(eos['model']['a0'], d['a0'])})",
                         _pct(eos["model"]["b2d_n_per_m"], d["b2d_n_per_m"]),
                         f"{1000 * (eos['model']['e0'] - d['e0']):+.2f} meV"])
        if "dft" in eos:
            diff = 1000 * (np.array(eos["model_energy_at_dft_points"])
                           - np.array(eos["dft_energy_per_atom"]))
            rows.append(["model − GPAW energy on the curve (meV/atom)",
                         f"{diff.min():+.2f} … {diff.max():+.2f}", "", ""])
        lines += [markdown_table(["", "a0 (Å)", "B 2D (N/m)", "E(a0) (eV/atom)"], rows), "",
                  f"Cubic fits of E(a) at a = {', '.join(f'{x:.4f}' for x in eos['a'])} Å "
                  "(B = A d²E/dA² = E''(a0)/√3 per atom; 1 eV/Å² = 16.02 N/m). "
                  f"data/README.md gives a0 = {README_A0} Å for these DFT settings (60-atom cell). "
                  "The outer points (±1.8 %) lie beyond the ±1 % strains of the training data "
                  "(shaded): the bulk modulus includes that extrapolation.",
                  "", "![E(a)](eos.png)", ""]
    else:
        lines += [f"Not computed: {err.get('eos', 'skipped')}", ""]

    # (c) phonons
    lines += ["## (c) Phonons", ""]
    if ph:
        disp = ph["dispersion"]
        rows = []
        for mode, name in (("E'", "E' (in-plane optical, LO/TO without LO-TO splitting)"),
                           ("A2''", "A2'' (ZO, out-of-plane optical)")):
            dft_v = ph.get("dft_fd", {}).get(mode)
            rows.append([name, _f(ph["model_fd"][mode], "{:.1f}"), _f(dft_v, "{:.1f}"),
                         _pct(ph["model_fd"][mode], dft_v), _f(disp[mode], "{:.1f}")])
        u = ph["fd_displacement"]
        lines += [markdown_table(["Γ mode", "model, same FD (cm⁻¹)", "GPAW FD (cm⁻¹)", "difference",
                                  f"model harmonic, a = {disp['a']:.4f} Å (cm⁻¹)"], rows), "",
                  f"Finite differences at a = {ph['fd_a']:.4f} Å: atom B0 of the 4-atom cell "
                  f"displaced by ±({u[0]:.4f}, 0, {u[2]:.4f}) Å (half the DFT grid spacing, so the "
                  "grid's egg-box force cancels); the model sees the same two configurations "
                  "(the cell repeated 5×3). The harmonic column is the Γ point of the "
                  "dispersion (0.01 Å displacements). "
                  f"Lowest frequency on the path: {disp['min_cm1']:.1f} cm⁻¹"
                  + (" (negative = imaginary)" if disp["min_cm1"] < -1 else "") + "."
                  + (" The path is Fourier-interpolated from the supercell's force constants, "
                     "exact only at its commensurate q; the long-range term of a charged model "
                     "is non-analytic at Γ, so a dip next to Γ that shrinks as 1/supercell "
                     "is that interpolation, not an instability (README, Validation)."
                     if result.get("charges") and disp["min_cm1"] < -1 else ""), "",
                  "![phonons](phonons.png)", ""]
        lines += format_mk(ph)
    else:
        lines += [f"Not computed: {err.get('phonons', 'skipped')}", ""]

    # (d) NVE
    lines += ["## (d) Energy conservation (NVE)", ""]
    nve = s.get("nve")
    if nve:
        lines += [markdown_table(["atoms", "steps × dt", "mean T (K)", "drift (meV/atom/ps)",
                                  "E_tot std (meV/atom)", "E_pot std (meV/atom)", "s/step"],
                                 [[str(nve["n_atoms"]), f"{nve['steps']} × {nve['dt_fs']:g} fs",
                                   f"{nve['mean_temperature_K']:.0f}",
                                   f"{nve['drift_mev_per_atom_per_ps']:+.4f}",
                                   f"{nve['etot_std_mev_per_atom']:.4f}", f"{nve['epot_std_mev_per_atom']:.3f}",
                                   f"{nve['seconds_per_step']:.3f}"]]), "",
                  "ASE velocity Verlet from the perfect sheet at the model's a0, velocities "
                  f"drawn at {nve['initial_temperature_K']:g} K (equipartition brings it to "
                  "about half). Drift = slope of a linear fit of the total energy.", "",
                  "![NVE](nve.png)", ""]
    else:
        lines += [f"Not computed: {err.get('nve', 'skipped')}", ""]

    # (e) RDF
    lines += ["## (e) Radial distribution function at 300 K", ""]
    rdf = s.get("rdf")
    if rdf:
        rows = [[k, f"{rdf['peaks'][k]:.4f}", f"{rdf['ideal'][k]:.4f}",
                 f"{rdf['peaks'][k] - rdf['ideal'][k]:+.4f}"] for k in rdf["peaks"]]
        lines += [markdown_table(["pair (shell)", "peak at 300 K (Å)", "0 K (Å)", "shift (Å)"], rows), "",
                  f"Langevin at 300 K (mean {rdf['mean_temperature_K']:.0f} K), {rdf['n_atoms']} "
                  f"atoms, {rdf['steps_equilibration']} equilibration + {rdf['steps_sampled']} "
                  f"sampled steps of {rdf['dt_fs']:g} fs.", "", "![RDF](rdf.png)", ""]
    else:
        lines += [f"Not computed: {err.get('rdf', 'skipped')}", ""]

    lines += format_elastic(s.get("elastic"), err.get("elastic", "skipped"))
    lines += format_expansion(s.get("expansion"), err.get("expansion", "skipped"))

    if "comparison" in s or "comparison" in err:
        lines += ["## (h) Comparison study: representation and force mode", ""]
        if "comparison" in s:
            rows = s["comparison"]
            lines += [f"Same DFT data and split as the model above, same training loop "
                      f"(`areanet train`: Adam, cosine schedule, batch size, loss weights), same "
                      f"budget: {rows[0]['epochs']} epochs each, best validation epoch kept "
                      "(the high-order conservative row is the configuration of the model "
                      "above, retrained with this budget). "
                      "The Behler–Parrinello network (`areanet.potential.symmetry_functions`) "
                      "has the same MLP (32-64-32 per species) on 40 G2/G4 symmetry functions "
                      "with R_c = 3.6 Å, whose neighbours are exactly the 12 area-element "
                      "vertices. The direct model's forces are counted on every atom (every "
                      "atom is a centre).", "", format_comparison(rows), ""]
        else:
            lines += [f"Not computed: {err['comparison']}", ""]

    lines += ["## Timing", "", ", ".join(f"{k} {v:.0f} s" for k, v in result["seconds"].items()), ""]
    return "\n".join(lines)
