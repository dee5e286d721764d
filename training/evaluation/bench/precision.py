"""`areanet bench precision`: native float64 and float32 against the TorchScript model in LAMMPS."""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from ...errors import UserError
from ...lammps_env import import_lammps, plugin_path
from .common import conditions_text, header, make_sheet_module, publish, resolve_model, STYLES, table
from .lammps import pair_command


# --- float32 vs float64 vs TorchScript ---------------------------------------------------------


def lammps_single_point(plugin: Path, model: Path, data: Path, style: str) -> dict[str, Any]:
    """Energy, per-atom energies, forces (by atom ID) and pressure tensor from one `run 0`."""
    import numpy as np

    lammps = import_lammps()
    lmp = lammps.lammps(cmdargs=["-log", "none", "-screen", "none", "-nocite"])
    try:
        lmp.commands_string(f"""
plugin load {plugin}
units metal
atom_style atomic
boundary p p p
atom_modify map array
read_data {data}
{pair_command(style, model)}
compute pea all pe/atom
compute pvir all pressure NULL virial
thermo_style custom step pe c_pvir[1] c_pvir[2] c_pvir[3] c_pvir[4] c_pvir[5] c_pvir[6]
run 0
""")
        n = lmp.extract_global("nlocal")
        order = np.argsort(lmp.numpy.extract_atom("id")[:n])
        return {
            "energy": lmp.get_thermo("pe"),
            "energies": lmp.numpy.extract_compute("pea", lammps.LMP_STYLE_ATOM, lammps.LMP_TYPE_VECTOR)[:n][order].copy(),
            "forces": lmp.numpy.extract_atom("f")[:n][order].copy(),
            "pressure": np.array(lmp.numpy.extract_compute("pvir", lammps.LMP_STYLE_GLOBAL, lammps.LMP_TYPE_VECTOR)),
        }
    finally:
        lmp.close()


def cmd_precision(args) -> int:
    import numpy as np

    model = resolve_model(args.model)

    plugin = Path(args.plugin) if args.plugin else plugin_path()
    if not plugin.is_file():
        raise UserError(f"the LAMMPS plugin {plugin} is not built: `areanet lammps-plugin --build`")
    make_sheet = make_sheet_module()
    result = header("precision")
    result.update({"model": str(model), "atoms": args.atoms, "displacement_A": args.displacement, "runs": []})
    rng = np.random.default_rng(args.seed)
    sheet = make_sheet.hbn_sheet(*make_sheet.square_replication(args.atoms))
    sheet.positions += rng.normal(0.0, args.displacement, sheet.positions.shape)
    with tempfile.TemporaryDirectory(prefix="areanet-bench-") as tmp:
        data = Path(tmp) / "sheet.data"
        make_sheet.write_lammps_data(data, sheet)
        ref = lammps_single_point(plugin, model, data, "areanet-torchscript")
        fmax = float(np.abs(ref["forces"]).max())
        for style in ("areanet", "areanet-float32"):
            got = lammps_single_point(plugin, model, data, style)
            df = got["forces"] - ref["forces"]
            run = {
                "style": style, "pair_style": STYLES[style],
                "energy_diff_ev_per_atom": abs(got["energy"] - ref["energy"]) / args.atoms,
                "energy_rel": abs(got["energy"] - ref["energy"]) / abs(ref["energy"]),
                "atom_energy_max_diff_ev": float(np.abs(got["energies"] - ref["energies"]).max()),
                "force_max_diff": float(np.abs(df).max()),
                "force_rms_diff": float(np.sqrt((df ** 2).mean())),
                "force_max_diff_rel": float(np.abs(df).max()) / fmax,
                "pressure_max_diff_bar": float(np.abs(got["pressure"] - ref["pressure"]).max()),
            }
            result["runs"].append(run)
            print(f"  {STYLES[style]:18s} |ΔE|/atom {run['energy_diff_ev_per_atom']:.2e} eV, max |ΔF| "
                  f"{run['force_max_diff']:.2e} eV/Å ({run['force_max_diff_rel']:.1e} of max |F|), max |ΔP| "
                  f"{run['pressure_max_diff_bar']:.2e} bar", flush=True)
    result["max_force_ev_per_a"] = fmax
    rows = [[f"`{r['pair_style']}`", f"{r['energy_diff_ev_per_atom']:.1e}", f"{r['energy_rel']:.1e}",
             f"{r['atom_energy_max_diff_ev']:.1e}", f"{r['force_max_diff']:.1e}", f"{r['force_rms_diff']:.1e}",
             f"{r['force_max_diff_rel']:.1e}", f"{r['pressure_max_diff_bar']:.1e}"] for r in result["runs"]]
    text = "# Native evaluation and float32 against the TorchScript model\n\n"
    text += f"Command: `{result['command']}`\n\n"
    text += (f"Conditions: {conditions_text(result)}. Model `{result['model']}`. One `run 0` on a "
             f"{args.atoms}-atom sheet, every coordinate displaced by a normal deviate of "
             f"{args.displacement} Å (max |F| {fmax:.2f} eV/Å), with `pair_style areanet torchscript` (the model "
             f"file's forward(), float64) as the reference. For scale: the accuracy bar of the model "
             f"itself is 0.03 eV/Å force-magnitude RMSE.\n\n")
    text += table(rows, ["pair style", "ΔE per atom (eV)", "ΔE / E", "max Δe_i (eV)", "max ΔF (eV/Å)",
                         "RMS ΔF (eV/Å)", "max ΔF / max F", "max ΔP (bar)"])
    text += "\nAll differences are absolute values; ΔF over every force component, ΔP over the six pressure components.\n"
    return publish(args, result, text)
