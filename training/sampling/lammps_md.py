"""The LAMMPS driver of ``areanet data sample --engine lammps``: the committee in LAMMPS.

One ``lmp`` run per temperature (a subprocess of the venv's ``lmp``, which loads the
plugin at start-up): the sheet's data file, ``pair_style areanet out_freq N out_file
model_devi.out`` with every model in ``pair_coeff`` (the first drives the MD;
lammps_plugin/areanet_committee.h), ``fix nvt`` or ``fix npt`` (in-plane pressure, x and y
coupled to the barostat separately, the cell height fixed), and a full-precision dump at
the same steps. The disagreement of a stored step is the deviation file's ``max_devi_f``,
max_i sqrt(⟨|F_m,i − ⟨F_i⟩|²⟩): the same number the ASE driver computes, now from LAMMPS.
"""
from __future__ import annotations

import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np
from ase import Atoms

from ..data.lammps_data import write_lammps_data
from ..data.reference import SPECIES, lammps_cell
from ..errors import UserError

ENSEMBLES = ("nvt", "npt")
THERMOSTAT_DAMP_PS = 0.1  # Nose-Hoover temperature damping (100 time steps of 1 fs)
BAROSTAT_DAMP_PS = 1.0


def write_data(path: Path, atoms: Atoms) -> np.ndarray:
    """The starting sheet as a data file in LAMMPS' lower-triangular frame; returns the rotation
    Q (lab → LAMMPS: x_lammps = x_lab @ Q) that brings the dumped steps back."""
    wrapped = atoms.copy()
    wrapped.wrap(pbc=True)
    write_lammps_data(path, wrapped, title="areanet data sample: the starting sheet")
    return lammps_cell(atoms.cell.array)[1]


def md_input(models: Sequence[Path], temperature: float, steps: int, interval: int, timestep_fs: float,
             seed: int, ensemble: str, pressure_bar: float) -> str:
    files = " ".join(str(Path(m).resolve()) for m in models)
    if ensemble == "nvt":
        fix = f"fix md all nvt temp {temperature:.17g} {temperature:.17g} {THERMOSTAT_DAMP_PS}"
    else:  # in-plane barostat: the vacuum height stays
        fix = (f"fix md all npt temp {temperature:.17g} {temperature:.17g} {THERMOSTAT_DAMP_PS} "
               f"x {pressure_bar:.17g} {pressure_bar:.17g} {BAROSTAT_DAMP_PS} "
               f"y {pressure_bar:.17g} {pressure_bar:.17g} {BAROSTAT_DAMP_PS} couple none")
    return f"""# areanet data sample --engine lammps: {ensemble.upper()} at {temperature:g} K
units           metal
atom_style      atomic
boundary        p p p
read_data       sheet.data
pair_style      areanet out_freq {interval} out_file model_devi.out
pair_coeff      * * {files} {' '.join(SPECIES)}
timestep        {timestep_fs / 1000.0:.17g}
velocity        all create {temperature:.17g} {seed} mom yes rot yes dist gaussian loop geom
{fix}
dump            snap all custom {interval} snap.dump id type x y z
dump_modify     snap sort id format float %.17g
thermo          {interval}
thermo_style    custom step temp pe press pxx pyy
run             {steps}
"""


def read_snapshots(path: Path) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """step -> (lower-triangular cell [3, 3], types [n], positions [n, 3]) of a dump file."""
    out = {}
    lines = path.read_text().splitlines()
    k = 0
    while k < len(lines):
        step, n = int(lines[k + 1]), int(lines[k + 3])
        bounds = np.array([line.split() for line in lines[k + 5:k + 8]], dtype=float)
        if bounds.shape[1] == 3:  # triclinic: bounding box and tilts
            xy, xz, yz = bounds[:, 2]
            xlo = bounds[0, 0] - min(0.0, xy, xz, xy + xz)
            xhi = bounds[0, 1] - max(0.0, xy, xz, xy + xz)
            ylo, yhi = bounds[1, 0] - min(0.0, yz), bounds[1, 1] - max(0.0, yz)
        else:
            xy = xz = yz = 0.0
            (xlo, xhi), (ylo, yhi) = bounds[0, :2], bounds[1, :2]
        zlo, zhi = bounds[2, :2]
        cell = np.array([[xhi - xlo, 0.0, 0.0], [xy, yhi - ylo, 0.0], [xz, yz, zhi - zlo]])
        rows = np.array([line.split() for line in lines[k + 9:k + 9 + n]], dtype=float)
        rows = rows[np.argsort(rows[:, 0])]
        out[step] = (cell, rows[:, 1].astype(int), rows[:, 2:5] - [xlo, ylo, zlo])
        k += 9 + n
    return out


def run_lammps_md(models: Sequence[str | os.PathLike], atoms: Atoms, temperature: float, steps: int,
                  interval: int, timestep_fs: float, seed: int, ensemble: str = "nvt",
                  pressure_bar: float = 0.0) -> tuple[list[tuple[int, Atoms, float]], list[str], str | None]:
    """(step, structure in ``atoms``' frame, max_devi_f) of every ``interval``-th step, what
    the plugin's domain guard said (its log lines; none inside the training domain), and the
    LAMMPS error line if the MD broke down after it started (None if it ran to the end): the
    steps written before a breakdown are returned with it. An error before the first
    deviation row (a bad input, not the MD) stops with UserError."""
    if ensemble not in ENSEMBLES:
        raise UserError(f"--ensemble {ensemble}: choose one of {', '.join(ENSEMBLES)}")
    lmp = Path(sys.prefix) / "bin" / "lmp"
    if not lmp.exists():
        raise UserError(f"{lmp} not found: the LAMMPS driver needs the venv's lmp (bash scripts/setup.sh)")
    with tempfile.TemporaryDirectory(prefix="areanet-sample-") as tmp:
        work = Path(tmp)
        rotation = write_data(work / "sheet.data", atoms)
        (work / "in.sample").write_text(md_input([Path(m) for m in models], temperature, steps, interval,
                                                 timestep_fs, seed, ensemble, pressure_bar))
        env = dict(os.environ)
        env.setdefault("OMP_NUM_THREADS", "1")
        proc = subprocess.run([str(lmp), "-in", "in.sample", "-log", "log.lammps", "-nocite"], cwd=work,
                              capture_output=True, text=True, env=env)
        breakdown = None
        devi_file = work / "model_devi.out"
        devi = np.loadtxt(devi_file, ndmin=2) if devi_file.exists() else np.zeros((0, 7))
        if proc.returncode != 0:
            errors = [line for line in (proc.stdout + proc.stderr).splitlines() if "ERROR" in line]
            error = errors[0] if errors else proc.stdout[-1500:]
            if not np.any(devi[:, 0] > 0):
                raise UserError(f"LAMMPS MD at {temperature:g} K failed: {error}")
            breakdown = error.replace("ERROR: ", "").split(" (/")[0]
        guard = [line.replace("WARNING: ", "").split(" (/")[0] for line in proc.stdout.splitlines()
                 if "areanet domain guard" in line]
        frames = read_snapshots(work / "snap.dump")
    out = []
    for row in devi:
        step = int(row[0])
        if step == 0 or step not in frames:
            continue
        cell, types, x = frames[step]
        snap = Atoms([SPECIES[t - 1] for t in types], positions=x @ rotation.T, cell=cell @ rotation.T,
                     pbc=True)
        snap.wrap()
        if not math.isfinite(row[4]):
            raise UserError(f"LAMMPS MD at {temperature:g} K, step {step}: the model deviation is not finite")
        out.append((step, snap, float(row[4])))
    return out, guard, breakdown
