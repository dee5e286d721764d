"""`areanet bench python`: throughput of the ASE calculator (AreaNetCalculator)."""
from __future__ import annotations

import time

from areanet.potential import AreaNetCalculator
from areanet.potential.neighbors import build_edges

from .common import conditions_text, fmt, header, make_sheet_module, publish, resolve_model, table


# --- ASE calculator --------------------------------------------------------------------------


def cmd_python(args) -> int:
    import numpy as np
    import torch

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    model = resolve_model(args.model)
    make_sheet = make_sheet_module()
    calc = AreaNetCalculator(model)
    result = header("python")
    result.update({"model": str(model), "sizes": args.sizes, "repeats": args.repeats,
                   "torch_threads": torch.get_num_threads(), "runs": []})
    print(f"areanet bench python: AreaNetCalculator on {args.sizes} atoms, {torch.get_num_threads()} "
          f"torch thread(s)", flush=True)
    rng = np.random.default_rng(0)
    for atoms_n in args.sizes:
        atoms = make_sheet.hbn_sheet(*make_sheet.square_replication(atoms_n))
        atoms.positions += rng.normal(0.0, 0.02, atoms.positions.shape)
        atoms.calc = calc
        atoms.get_forces()  # warm-up (TorchScript's first calls)
        wall, cpu, model_wall, model_cpu, nl_wall = [], [], [], [], []
        for _ in range(args.repeats):
            atoms.positions += rng.normal(0.0, 1e-4, atoms.positions.shape)
            w0, c0 = time.perf_counter(), time.process_time()
            atoms.get_forces()
            wall.append(time.perf_counter() - w0)
            cpu.append(time.process_time() - c0)
            w0 = time.perf_counter()
            edges = build_edges(atoms, calc.cutoff, calc.species)
            nl_wall.append(time.perf_counter() - w0)
            w0, c0 = time.perf_counter(), time.process_time()
            calc.model(edges.vec, edges.src, edges.edge_spec, edges.spec)
            model_wall.append(time.perf_counter() - w0)
            model_cpu.append(time.process_time() - c0)
        run = {"atoms": atoms_n, "calls": args.repeats,
               "us_per_atom": min(wall) / atoms_n * 1e6, "cpu_us_per_atom": min(cpu) / atoms_n * 1e6,
               "model_us_per_atom": min(model_wall) / atoms_n * 1e6,
               "model_cpu_us_per_atom": min(model_cpu) / atoms_n * 1e6,
               "neighbour_list_us_per_atom": min(nl_wall) / atoms_n * 1e6,
               "calls_per_s": 1.0 / min(wall)}
        result["runs"].append(run)
        print(f"  {atoms_n:6d} atoms  {fmt(run['us_per_atom'])} µs/atom per force call "
              f"({fmt(run['cpu_us_per_atom'])} CPU; model {fmt(run['model_us_per_atom'])}, "
              f"{fmt(run['model_cpu_us_per_atom'])} CPU; neighbour list "
              f"{fmt(run['neighbour_list_us_per_atom'])})", flush=True)
    rows = [[str(r["atoms"]), fmt(r["us_per_atom"]), fmt(r["cpu_us_per_atom"]), fmt(r["model_us_per_atom"]),
             fmt(r["model_cpu_us_per_atom"]), fmt(r["neighbour_list_us_per_atom"]), fmt(r["calls_per_s"])]
            for r in result["runs"]]
    text = "# ASE calculator throughput (AreaNetCalculator)\n\n"
    text += f"Command: `{result['command']}`\n\n"
    text += (f"Conditions: {conditions_text(result)}. Model `{result['model']}`, "
             f"{result['torch_threads']} torch thread(s). One `get_forces()` (energy, forces, stress) on a "
             f"perturbed flat sheet, best of {args.repeats}; the model alone = the TorchScript call on "
             f"prebuilt edges; neighbour list = `build_edges` (ASE or all-pairs × images for small cells).\n\n")
    text += table(rows, ["atoms", "µs/atom (wall)", "µs/atom (CPU)", "model µs/atom (wall)",
                         "model µs/atom (CPU)", "neighbour list µs/atom (wall)", "calls/s"])
    return publish(args, result, text)
