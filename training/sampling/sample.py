"""Active-learning candidates: MD with one model, keep the snapshots where an ensemble disagrees.

    areanet data sample MODEL MODEL [MODEL ...] --out FILE [--temperature 300 1000] ...

The first model drives Langevin MD of the perfect h-BN sheet (``data.sheets.perfect_sheet``,
60 atoms by default, at the PBE lattice constant of ``data/``, optionally strained by
``strain_pct`` = (εxx, εyy, εxy) in % with the cell fixed) at each temperature. After an
equilibration of the first 10 % of the steps, every ``interval``-th step is stored and every
model predicts its forces. The disagreement of a snapshot is

    max over atoms i of  sqrt( mean over models m of |F_m,i − F̄_i|² )     (eV/Å),

the ensemble's force standard deviation on its worst atom: a model that has not seen such a
configuration is unlikely to agree with the others there, so these are the structures whose
DFT labels teach the most. The ``select`` snapshots with the largest disagreement, split
evenly across temperatures, are written unlabelled (positions, cell, pbc) as extended XYZ for
``areanet data label``.

An MD run that breaks down (the driving model cannot describe a configuration, atoms overlap)
ends its temperature with a warning; the snapshots stored before it are kept (:func:`broken_md`).

Randomness: velocities and the Langevin noise of temperature T draw from generators seeded
with ``(seed, T)``, so the same seed gives the same file, and adding a temperature does not
change the trajectories of the others.
"""
from __future__ import annotations

import math
import os
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence, TYPE_CHECKING

import numpy as np

from areanet.potential.calculator import AreaNetCalculator
from areanet.potential.export import model_error_message, MODEL_ERRORS

from ..data.generate import write_frames
from ..data.generate import apply_strain
from ..data.sheets import perfect_sheet
from .lammps_md import ENSEMBLES, run_lammps_md
from ..fit.predict import load_any, predict
from ..errors import UserError
from ..progress import progress

if TYPE_CHECKING:
    from ase import Atoms

DEFAULT_TEMPERATURES = (300.0, 1000.0)  # K
DEFAULT_LATTICE_CONSTANT = 2.5198  # Å, the PBE minimum at the settings of data/ (data/README.md)
FRICTION_PER_FS = 0.01  # Langevin friction: ~100 fs relaxation, weak next to the phonon periods
EQUILIBRATION_FRACTION = 0.1  # of the steps, never stored
MAX_STRAIN_PCT = 15.0  # beyond it the sheet is far outside any domain worth sampling
MIN_DISTANCE = 0.8  # Å; closer atoms mean the MD has blown up (the B-N bond is 1.45 Å)
_BRUTE_FORCE_ATOMS = 1000  # up to here all pairs in numpy beats ASE's neighbour list
ENGINES = ("ase", "lammps")


@dataclass(frozen=True)
class SampleSettings:
    """Everything that decides the output, besides the models."""

    temperatures: tuple[float, ...] = DEFAULT_TEMPERATURES  # K
    steps: int = 2000  # per temperature
    interval: int = 20  # steps between stored snapshots
    select: int = 20  # snapshots written, over all temperatures
    timestep_fs: float = 1.0
    lattice_constant: float = DEFAULT_LATTICE_CONSTANT  # Å
    repeat: tuple[int, int] = (5, 3)  # rectangular 4-atom cells along x, y
    strain_pct: tuple[float, float, float] = (0.0, 0.0, 0.0)  # εxx, εyy, εxy of the cell (%)
    seed: int = 0
    friction_per_fs: float = FRICTION_PER_FS
    engine: str = "ase"  # "ase": Langevin MD here; "lammps": the committee in LAMMPS (lammps_md)
    ensemble: str = "nvt"  # LAMMPS only: "nvt" or "npt" (in-plane pressure_bar)
    pressure_bar: float = 0.0
    trust_lo: float = 0.0  # eV/Å: only snapshots with trust_lo <= disagreement < trust_hi are kept
    trust_hi: float = math.inf

    def stored_steps(self) -> list[int]:
        """Steps whose snapshot is stored (the same at every temperature)."""
        skip = int(self.steps * EQUILIBRATION_FRACTION)
        return [s for s in range(self.interval, self.steps + 1, self.interval) if s > skip]

    def select_per_temperature(self) -> list[int]:
        """``select`` split evenly; the first temperatures take the remainder."""
        base, extra = divmod(self.select, len(self.temperatures))
        return [base + (1 if k < extra else 0) for k in range(len(self.temperatures))]

    def check(self) -> "SampleSettings":
        for name in ("steps", "interval", "select"):
            if getattr(self, name) < 1:
                raise UserError(f"--{name} must be at least 1, got {getattr(self, name)}")
        if not self.temperatures:
            raise UserError("give at least one --temperature")
        for t in self.temperatures:
            if not (math.isfinite(t) and t > 0):
                raise UserError(f"--temperature {t:g}: must be above 0 K")
        names = [set_name(t) for t in self.temperatures]
        if len(set(names)) != len(names):
            raise UserError(f"--temperature {' '.join(f'{t:g}' for t in self.temperatures)}: "
                            "two temperatures give the same set name (md<integer kelvin>)")
        if not (math.isfinite(self.timestep_fs) and 0 < self.timestep_fs <= 10):
            raise UserError(f"--timestep {self.timestep_fs:g}: expected 0-10 fs")
        if not 2.0 < self.lattice_constant < 3.2:
            raise UserError(f"--lattice-constant {self.lattice_constant:g}: not an h-BN lattice "
                            "constant (expected 2-3.2 Å)")
        if not all(math.isfinite(e) and abs(e) <= MAX_STRAIN_PCT for e in self.strain_pct):
            raise UserError(f"--strain {' '.join(f'{e:g}' for e in self.strain_pct)}: each "
                            f"component must be within ±{MAX_STRAIN_PCT:g} % (the wider domain "
                            "is ±10 %)")
        if min(self.repeat) < 1:
            raise UserError(f"--repeat {self.repeat[0]} {self.repeat[1]}: both must be at least 1")
        if self.seed < 0:
            raise UserError(f"--seed must be non-negative, got {self.seed}")
        if self.engine not in ENGINES:
            raise UserError(f"--engine {self.engine}: choose one of {', '.join(ENGINES)}")
        if self.engine == "ase" and (self.ensemble != "nvt" or self.pressure_bar != 0.0):
            raise UserError("--ensemble and --pressure are settings of --engine lammps (the ASE "
                            "driver runs Langevin MD in a fixed cell)")
        if self.ensemble not in ENSEMBLES:
            raise UserError(f"--ensemble {self.ensemble}: choose one of {', '.join(ENSEMBLES)}")
        if not (0.0 <= self.trust_lo < self.trust_hi):
            raise UserError(f"--trust-lo {self.trust_lo:g} --trust-hi {self.trust_hi:g}: need "
                            "0 <= trust-lo < trust-hi (eV/Å)")
        if self.select < len(self.temperatures):
            raise UserError(f"--select {self.select}: fewer than the {len(self.temperatures)} "
                            "temperatures (the selection is split evenly across them)")
        n_stored, need = len(self.stored_steps()), max(self.select_per_temperature())
        if n_stored < need:
            raise UserError(
                f"--steps {self.steps} --interval {self.interval} store {n_stored} snapshot(s) per "
                f"temperature (after {int(self.steps * EQUILIBRATION_FRACTION)} equilibration "
                f"steps), fewer than the {need} to select: raise --steps or lower --interval")
        return self


@dataclass
class Snapshot:
    """One stored MD structure (no calculator) and the ensemble's disagreement on it."""

    atoms: "Atoms"
    temperature_K: float
    step: int
    disagreement: float  # eV/Å


def set_name(temperature: float) -> str:
    return f"md{int(temperature)}"


# ---------------------------------------------------------------------------------------
# the ensemble
# ---------------------------------------------------------------------------------------


def check_count(models: Sequence) -> None:
    if len(models) < 2:
        raise UserError(f"an ensemble needs at least two models, got {len(models)}: the "
                        "disagreement is the spread of their forces")


def load_ensemble(models: Sequence[str | os.PathLike]) -> list:
    """Load every model (checkpoint or TorchScript file), checking they can form an ensemble."""

    check_count(models)
    nets = []
    for path in models:
        net = load_any(str(path))
        if not bool(getattr(net, "conservative", True)):
            raise UserError(f"{path}: a direct-force model has no forces on every atom from an "
                            "energy, so it can neither drive MD nor join the ensemble")
        if hasattr(net, "eval"):
            net.eval()
        nets.append(net)
    first = sorted(nets[0].species)
    for path, net in zip(models[1:], nets[1:]):
        if sorted(net.species) != first:
            raise UserError(f"{path} knows species {', '.join(net.species)}, but {models[0]} "
                            f"knows {', '.join(nets[0].species)}: an ensemble needs the same "
                            "species")
    missing = {"B", "N"} - set(first)
    if missing:
        raise UserError(f"{models[0]} does not know {', '.join(sorted(missing))}: it cannot "
                        "run the h-BN sheet")
    return nets


def model_forces(net, atoms) -> np.ndarray:
    """Forces [n, 3] (eV/Å) of one model, as every host computes them (with the long-range
    term of a charged model)."""

    return predict(net, [atoms])[0][1]


def disagreement(forces: np.ndarray) -> float:
    """Max over atoms of the ensemble's force standard deviation; ``forces`` is [M, n, 3]."""
    spread = forces - forces.mean(axis=0)  # [M, n, 3]
    per_atom = np.sqrt(np.mean(np.sum(spread ** 2, axis=2), axis=0))  # [n]
    return float(per_atom.max())


def min_distance(atoms) -> tuple[float, int, int]:
    """(closest distance, i, j) between two different atoms, minimum image."""
    n = len(atoms)
    if n < 2:
        return math.inf, 0, 0
    if n > _BRUTE_FORCE_ATOMS:
        from ase.neighborlist import neighbor_list

        i, j, d = neighbor_list("ijd", atoms, MIN_DISTANCE)
        if len(d) == 0:
            return math.inf, 0, 0
        k = int(np.argmin(d))
        return float(d[k]), int(i[k]), int(j[k])
    cell = atoms.cell.array
    delta = atoms.positions[None, :, :] - atoms.positions[:, None, :]  # [n, n, 3]
    frac = delta @ np.linalg.inv(cell)
    # nearest image by rounding: exact for the rectangular sheet cells built here
    frac[..., atoms.pbc] -= np.round(frac[..., atoms.pbc])
    dist = np.linalg.norm(frac @ cell, axis=2)
    np.fill_diagonal(dist, np.inf)
    i, j = np.unravel_index(int(np.argmin(dist)), dist.shape)
    return float(dist[i, j]), int(i), int(j)


# ---------------------------------------------------------------------------------------
# MD
# ---------------------------------------------------------------------------------------


def run_md(nets: list, names: Sequence[str], temperature: float, settings: SampleSettings,
           show_progress: bool = True) -> list[Snapshot]:
    """Langevin MD with ``nets[0]`` at one temperature: every stored snapshot, scored."""
    from ase import Atoms, units
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import Stationary
    try:  # ASE >= 3.29; older ASE's MaxwellBoltzmannDistribution (deprecated since) is the same
        from ase.md.velocitydistribution import thermalize_momenta
    except ImportError:
        from ase.md.velocitydistribution import MaxwellBoltzmannDistribution as thermalize_momenta

    model_errors = (ValueError, *MODEL_ERRORS)  # a model's refusal; ValueError: unknown species
    where = f"MD at {temperature:g} K"
    atoms = perfect_sheet(settings.lattice_constant, *settings.repeat)
    apply_strain(atoms, *(e / 100.0 for e in settings.strain_pct))  # the NVT cell stays fixed
    atoms.calc = AreaNetCalculator(nets[0])
    key = int(round(temperature * 1000))
    thermalize_momenta(atoms, temperature_K=temperature,
                       rng=np.random.default_rng([settings.seed, key, 0]))
    Stationary(atoms)  # no drift of the whole sheet
    # fixcm=False: ASE's fixcm=True is deprecated and biased for small cells; the centre of
    # mass of a periodic sheet may random-walk harmlessly.
    dyn = Langevin(atoms, settings.timestep_fs * units.fs, temperature_K=temperature,
                   friction=settings.friction_per_fs / units.fs, fixcm=False,
                   rng=np.random.default_rng([settings.seed, key, 1]))
    try:
        atoms.get_forces()
    except model_errors as err:
        raise UserError(f"{where}, step 0: {names[0]}: {model_error_message(err)}") from None

    stored = set(settings.stored_steps())
    snapshots = []
    steps = range(1, settings.steps + 1)
    for step in (progress(steps, desc=f"MD {temperature:g} K") if show_progress else steps):
        try:
            dyn.step()
        except model_errors as err:
            return broken_md(f"{where}, step {step}", f"{names[0]}: {model_error_message(err)}; the MD "
                             f"left what the model can describe {RETRY_HINT}", snapshots)
        if not np.isfinite(atoms.positions).all():
            return broken_md(f"{where}, step {step}", "positions are no longer finite: the MD blew up",
                             snapshots)
        dist, i, j = min_distance(atoms)
        if dist < MIN_DISTANCE:
            return broken_md(f"{where}, step {step}", f"atoms {i} and {j} are {dist:.2f} Å apart "
                             f"(< {MIN_DISTANCE} Å): the MD blew up {RETRY_HINT}", snapshots)
        if step not in stored:
            continue
        # positions, cell and pbc only: momenta would be written to the file
        snap = Atoms(atoms.get_chemical_symbols(), positions=atoms.positions,
                     cell=atoms.cell.array, pbc=atoms.pbc)
        snap.wrap()
        forces = []
        for name, net in zip(names, nets):
            try:
                forces.append(model_forces(net, snap))
            except model_errors as err:
                raise UserError(f"{where}, step {step}: {name}: "
                                f"{model_error_message(err)}") from None
        snapshots.append(Snapshot(snap, float(temperature), step, disagreement(np.stack(forces))))
    return snapshots


RETRY_HINT = "(try a lower --temperature or a shorter --timestep)"


def broken_md(where: str, reason: str, snapshots: list[Snapshot]) -> list[Snapshot]:
    """An MD run broke down (it left what the driving model can describe). The snapshots
    stored before it are kept — the configurations nearest a breakdown are the ones the next
    round most needs labelled — with a warning; with none stored, it is an error."""
    if not snapshots:
        raise UserError(f"{where}: {reason}")
    print(f"areanet data sample: warning: {where}: {reason}. Kept the {len(snapshots)} "
          "snapshot(s) stored before it", file=sys.stderr)
    return snapshots


def sample_snapshots(models: Sequence[str | os.PathLike], settings: SampleSettings,
                     show_progress: bool = True, nets: list | None = None) -> list[Snapshot]:
    """Every stored snapshot of every temperature, in temperature then step order.

    ``nets``: the models already loaded by :func:`load_ensemble` (else loaded here).
    """
    settings.check()
    nets = load_ensemble(models) if nets is None else nets
    names = [Path(m).name for m in models]
    out = []
    for temperature in settings.temperatures:
        if settings.engine == "lammps":
            out.extend(run_lammps(models, temperature, settings))
        else:
            out.extend(run_md(nets, names, temperature, settings, show_progress))
    return out


def run_lammps(models: Sequence[str | os.PathLike], temperature: float,
               settings: SampleSettings) -> list[Snapshot]:
    """The stored snapshots of one temperature from LAMMPS (lammps_md): the committee of
    ``models`` in pair_style areanet, its max_devi_f as the disagreement."""
    for path in models:
        if not is_model_file(path):
            raise UserError(f"{path}: --engine lammps runs exported model files; export the "
                            f"checkpoint first (areanet export {path} -o model.pt)")
    atoms = perfect_sheet(settings.lattice_constant, *settings.repeat)
    apply_strain(atoms, *(e / 100.0 for e in settings.strain_pct))
    seed = 1 + (settings.seed * 1_000_003 + int(round(temperature * 1000))) % 900_000_000
    records, guard, breakdown = run_lammps_md(models, atoms, temperature, settings.steps, settings.interval,
                                              settings.timestep_fs, seed, settings.ensemble,
                                              settings.pressure_bar)
    for line in guard:
        print(f"MD at {temperature:g} K: {line}", file=sys.stderr)
    stored = set(settings.stored_steps())
    snapshots = [Snapshot(snap, float(temperature), step, devi) for step, snap, devi in records
                 if step in stored]
    if breakdown is not None:
        return broken_md(f"LAMMPS MD at {temperature:g} K", f"{breakdown} {RETRY_HINT}", snapshots)
    return snapshots


def is_model_file(path) -> bool:
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any("/code/" in name for name in archive.namelist())


def select(snapshots: Sequence[Snapshot], settings: SampleSettings) -> list[Snapshot]:
    """The most disagreeing snapshots of each temperature, most disagreeing first.

    Ties keep the earlier step, so the choice is deterministic.
    """
    chosen = []
    for temperature, k in zip(settings.temperatures, settings.select_per_temperature()):
        mine = [s for s in snapshots if s.temperature_K == float(temperature)
                and settings.trust_lo <= s.disagreement < settings.trust_hi]
        chosen.extend(sorted(mine, key=lambda s: (-s.disagreement, s.step))[:k])
    return chosen


def to_frames(selected: Sequence[Snapshot], model_name: str,
              strain_pct: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> list["Atoms"]:
    """Unlabelled copies carrying where they came from in ``info`` (and the cell's strain,
    as fractions like the strain protocol's frames, when there is one)."""
    frames = []
    for snap in selected:
        atoms = snap.atoms.copy()
        atoms.calc = None
        atoms.info = {"set": set_name(snap.temperature_K), "temperature_K": snap.temperature_K,
                      "step": snap.step, "disagreement_ev_per_a": snap.disagreement,
                      "model": model_name}
        if any(strain_pct):
            atoms.info.update(strain_xx=strain_pct[0] / 100.0, strain_yy=strain_pct[1] / 100.0,
                              strain_xy=strain_pct[2] / 100.0)
        frames.append(atoms)
    return frames


def format_summary(snapshots: Sequence[Snapshot], selected: Sequence[Snapshot],
                   settings: SampleSettings) -> str:
    """Per temperature: snapshots stored, disagreement min/median/max, the selected ones."""
    header = (f"{'T (K)':>7}  {'set':<7} {'stored':>6}  {'min':>8} {'median':>8} {'max':>8}  "
              f"{'in trust':>8}  (eV/Å)")
    lines = [header, "-" * len(header)]
    picks = []
    for t in settings.temperatures:
        values = np.array([s.disagreement for s in snapshots if s.temperature_K == float(t)])
        trusted = int(((values >= settings.trust_lo) & (values < settings.trust_hi)).sum())
        lines.append(f"{t:>7g}  {set_name(t):<7} {len(values):>6}  {values.min():>8.4f} "
                     f"{np.median(values):>8.4f} {values.max():>8.4f}  {trusted:>8}")
        mine = [s for s in selected if s.temperature_K == float(t)]
        picks.append(f"  {set_name(t)}: " + ", ".join(
            f"step {s.step} ({s.disagreement:.4f})" for s in mine))
    window = f"{settings.trust_lo:g} <= disagreement < {settings.trust_hi:g} eV/Å"
    return "\n".join(lines + [f"selected ({window}; step, disagreement in eV/Å):"] + picks)


def run(models: Sequence[str | os.PathLike], out: str | os.PathLike,
        settings: SampleSettings, show_progress: bool = True, nets: list | None = None) -> dict:
    """Sample, select and write; returns a summary (the printed table under ``table``)."""

    t0 = time.perf_counter()
    snapshots = sample_snapshots(models, settings, show_progress, nets)
    t1 = time.perf_counter()
    selected = select(snapshots, settings)
    path = write_frames(to_frames(selected, Path(models[0]).name, settings.strain_pct), out)
    n_steps = settings.steps * len(settings.temperatures)
    return {"path": str(path), "n_selected": len(selected), "n_snapshots": len(snapshots),
            "md_steps": n_steps, "seconds_md": t1 - t0,
            "seconds_total": time.perf_counter() - t0,
            "table": format_summary(snapshots, selected, settings)}


def main(args) -> int:
    """``areanet data sample`` (arguments parsed in data_cli)."""
    check_count(args.models)
    if args.threads is not None:
        if args.threads < 1:
            raise UserError(f"--threads must be at least 1, got {args.threads}")
        import torch

        torch.set_num_threads(args.threads)
    settings = SampleSettings(
        temperatures=tuple(args.temperature), steps=args.steps, interval=args.interval,
        select=args.select, timestep_fs=args.timestep, lattice_constant=args.lattice_constant,
        repeat=tuple(args.repeat), strain_pct=tuple(args.strain), seed=args.seed,
        engine=args.engine, ensemble=args.ensemble, pressure_bar=args.pressure,
        trust_lo=args.trust_lo, trust_hi=args.trust_hi).check()
    nets = load_ensemble(args.models)  # refuse bad models before announcing anything
    n_atoms = 4 * settings.repeat[0] * settings.repeat[1]
    driver = f"LAMMPS {settings.ensemble.upper()}" if settings.engine == "lammps" else "ASE Langevin"
    print(f"sampling: {len(args.models)} models, {driver} MD with {Path(args.models[0]).name} of "
          f"{n_atoms} atoms at {', '.join(f'{t:g}' for t in settings.temperatures)} K, "
          f"{settings.steps} steps of {settings.timestep_fs:g} fs each, seed {settings.seed}",
          file=sys.stderr)
    summary = run(args.models, args.out, settings, show_progress=not args.quiet, nets=nets)
    print(summary["table"])
    rate = summary["md_steps"] / max(summary["seconds_md"], 1e-9)
    print(f"wrote {summary['n_selected']} of {summary['n_snapshots']} snapshots to "
          f"{summary['path']} in {summary['seconds_total']:.1f} s ({rate:.1f} MD steps/s); "
          f"label them: areanet data label {summary['path']} OUT --reference gpaw")
    return 0
