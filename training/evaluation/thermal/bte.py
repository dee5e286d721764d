"""κ of an h-BN monolayer from the phonon Boltzmann transport equation (phono3py).

Force constants of the potential by finite displacements, forces through an ASE-style host:
``AreaNetCalculator`` for a model file, or LAMMPS' own ExTeP (``BN.extep``, in-process through
the LAMMPS Python module, training/data/reference.py) for ``extep``. The 2-atom hexagonal cell
at the potential's own lattice constant (a 1D minimisation of E(a): the perfect sheet has no
internal coordinate), the sheet in the xy plane, ``height`` Å of cell along z:

* fc2 on an N2 × N2 × 1 supercell, fc3 on N3 × N3 × 1 with phono3py's pair cutoff
  (``cutoff_pair_distance``: pairs of displaced atoms farther apart are skipped, their fc3
  set to zero), both symmetrised (translational and permutation invariance);
* κ at T on an m × m × 1 q-mesh: the RTA, and the full linearised BTE (direct solution of the
  collision matrix, which for a 2D sheet, where normal processes of the flexural ZA branch
  dominate, is far above the RTA), with isotope scattering (Tamura) for natural abundance
  (B: 19.9 % ¹⁰B, 80.1 % ¹¹B; N: 99.636 % ¹⁴N) and for pure ¹¹B (B mass 11.009305 u, no B
  mass variance; N natural);
* phono3py normalises κ by the cell volume; it is rescaled here to the 2D convention of the
  literature, a sheet thickness of 3.33 Å: κ_2D = κ_phono3py × height / 3.33.

phono3py is the optional extra ``areanet[thermal]`` (pip install -e '.[thermal]'); the
import happens only when a κ is computed.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from areanet.potential import AreaNetCalculator

from ...data.reference import LammpsReference, relaxed_lattice_constant
from ...errors import UserError
from ...paths import REPOSITORY
from ...progress import progress

THICKNESS = 3.33  # Å: the interlayer spacing of bulk h-BN, the 2D convention
MASS_B_NATURAL, MASS_B11, MASS_N = 10.811, 11.009305, 14.0067
# isotopes (mass u, abundance): natural boron and nitrogen
B_NATURAL = ((10.012937, 0.199), (11.009305, 0.801))
N_NATURAL = ((14.003074, 0.99636), (15.000109, 0.00364))


def mass_variance(isotopes) -> float:
    """g = Σ_i f_i (1 − m_i / m̄)², m̄ = Σ_i f_i m_i (Tamura's isotope scattering strength)."""
    mean = sum(m * f for m, f in isotopes)
    return sum(f * (1.0 - m / mean) ** 2 for m, f in isotopes)


@dataclass
class BTESettings:
    model: str  # a model file, or "extep" (LAMMPS' pair_style extep BN.extep)
    lattice_constant: float | None = None  # Å; None: the potential's own minimum
    fc2_supercell: int = 8
    fc3_supercell: int = 5
    cutoffs: list = field(default_factory=lambda: [3.0, 4.0])  # Å, fc3 pair cutoffs
    meshes: list = field(default_factory=lambda: [21, 31])  # m of the m × m × 1 q-mesh
    temperature: float = 300.0
    displacement: float = 0.03  # Å
    height: float = 20.0  # Å of cell along z
    lbte: bool = True  # also solve the full linearised BTE
    thickness: float = THICKNESS

    def check(self) -> None:
        if self.fc2_supercell < 3 or self.fc3_supercell < 3:
            raise UserError("supercells must be at least 3 x 3 x 1 (every atom needs its three-shell area element)")
        if not self.cutoffs or min(self.cutoffs) <= 0:
            raise UserError("give positive fc3 pair cutoffs (Å), e.g. --cutoffs 3 4")
        if not self.meshes or min(self.meshes) < 2:
            raise UserError("give q-meshes of at least 2, e.g. --meshes 21 31")
        if self.temperature <= 0 or self.displacement <= 0 or self.height <= 5.0:
            raise UserError("temperature and displacement must be positive and the cell height above 5 Å")


def import_phono3py():
    try:
        import phono3py  # lazy: the optional extra areanet[thermal]
    except ImportError:
        raise UserError("phono3py is not installed: pip install -e '.[thermal]' (the optional extra "
                        "areanet[thermal], binary wheels from PyPI)") from None
    return phono3py


def force_function(model: str) -> tuple[Callable, Callable[[float], float], str]:
    """(forces(atoms) → [n, 3], energy_per_atom(a) of the 2-atom cell, description)."""
    from ase import Atoms

    if model == "extep":
        ref = LammpsReference("extep")

        def forces(atoms: Atoms) -> np.ndarray:
            return ref.label(atoms)[1]

        def energy(a: float) -> float:
            return ref.energy_of_lattice_constant(a)

        return forces, energy, ref.description
    path = Path(model)
    if not path.is_file() and (REPOSITORY / model).is_file():
        path = REPOSITORY / model
    if not path.is_file():
        raise UserError(f"model file {model} not found (give an exported model, or 'extep')")
    calc = AreaNetCalculator(str(path))

    def forces(atoms: Atoms) -> np.ndarray:
        atoms = atoms.copy()
        atoms.calc = calc
        return atoms.get_forces()

    def energy(a: float) -> float:
        atoms = primitive(a, 20.0)
        atoms.calc = calc
        return atoms.get_potential_energy() / len(atoms)

    return forces, energy, f"{path.name} (AreaNetCalculator)"


def primitive(a: float, height: float):
    """The 2-atom hexagonal cell, B at the origin, N at (a/2, a/(2√3)), the sheet at z = height/2."""
    from ase import Atoms

    cell = [[a, 0.0, 0.0], [a / 2.0, a * math.sqrt(3.0) / 2.0, 0.0], [0.0, 0.0, height]]
    return Atoms("BN", scaled_positions=[[0.0, 0.0, 0.5], [1.0 / 3.0, 1.0 / 3.0, 0.5]], cell=cell, pbc=True)


def minimum_lattice_constant(energy: Callable[[float], float], lo: float = 2.4, hi: float = 2.6,
                             tol: float = 1e-6) -> float:
    """Golden-section minimum of E(a) in [lo, hi]."""
    g = (math.sqrt(5.0) - 1.0) / 2.0
    x1, x2 = hi - g * (hi - lo), lo + g * (hi - lo)
    f1, f2 = energy(x1), energy(x2)
    while hi - lo > tol:
        if f1 < f2:
            hi, x2, f2 = x2, x1, f1
            x1 = hi - g * (hi - lo)
            f1 = energy(x1)
        else:
            lo, x1, f1 = x1, x2, f2
            x2 = lo + g * (hi - lo)
            f2 = energy(x2)
    return 0.5 * (lo + hi)


def to_ase(cell):
    from ase import Atoms

    return Atoms(cell.symbols, cell=cell.cell, scaled_positions=cell.scaled_positions, pbc=True)


def phono3py_object(settings: BTESettings, a: float, fc3_supercell: int | None = None):
    phono3py = import_phono3py()
    from phonopy.structure.atoms import PhonopyAtoms

    prim = primitive(a, settings.height)
    unit = PhonopyAtoms(symbols=prim.get_chemical_symbols(), cell=prim.cell.array,
                        scaled_positions=prim.get_scaled_positions())
    n3 = fc3_supercell or settings.fc3_supercell
    return phono3py.Phono3py(unit, supercell_matrix=[n3, n3, 1], primitive_matrix="P",
                             phonon_supercell_matrix=[settings.fc2_supercell, settings.fc2_supercell, 1],
                             log_level=0)


def compute_fc2(ph3, settings: BTESettings, forces: Callable, quiet: bool = True) -> int:
    ph3.generate_fc2_displacements(distance=settings.displacement, is_plusminus=True)
    cells = ph3.phonon_supercells_with_displacements
    items = cells if quiet else progress(cells, desc="fc2 displacements")
    ph3.phonon_forces = np.array([forces(to_ase(c)) for c in items])
    ph3.produce_fc2()
    ph3.symmetrize_fc2()
    return len(cells)


def compute_fc3(ph3, settings: BTESettings, cutoff: float, forces: Callable, quiet: bool = True) -> int:
    ph3.generate_displacements(distance=settings.displacement, cutoff_pair_distance=cutoff, is_plusminus=True)
    cells = ph3.supercells_with_displacements
    n_atoms = len(ph3.supercell)
    todo = [c for c in cells if c is not None]
    items = todo if quiet else progress(todo, desc=f"fc3 displacements (cutoff {cutoff:g} Å)")
    computed = iter([forces(to_ase(c)) for c in items])
    ph3.forces = np.array([next(computed) if c is not None else np.zeros((n_atoms, 3)) for c in cells])
    ph3.produce_fc3()
    ph3.symmetrize_fc3()
    return len(todo)


def harmonic_phonopy(ph3):
    """A Phonopy object holding ph3's fc2 and masses (harmonic properties only)."""
    from phonopy import Phonopy

    ph = Phonopy(ph3.unitcell, supercell_matrix=ph3.phonon_supercell_matrix, primitive_matrix="P")
    ph.force_constants = ph3.fc2
    ph.masses = ph3.masses
    return ph


THZ_TO_CM1 = 33.35640951981521


def harmonic_frequencies_cm1(ph3, qpoints) -> np.ndarray:
    """Frequencies (cm⁻¹) of fc2 at q (reduced coordinates of the primitive reciprocal cell)."""
    ph = harmonic_phonopy(ph3)
    ph.run_qpoints(np.asarray(qpoints, dtype=float))
    return np.asarray(ph.qpoints.frequencies) * THZ_TO_CM1


def dispersion(ph3, a: float, height: float, npoints: int = 50) -> dict:
    """fc2's branches along Γ–M–K–Γ (cm⁻¹), connected by eigenvector overlap (phonopy's band
    connection), in the order of Γ: the first three are the acoustic ZA, TA, LA."""
    special = primitive(a, height).cell.bandpath("GMKG").special_points
    corners = [np.asarray(special[k], dtype=float) for k in "GMKG"]
    # one continuous path, so that the band connection also runs through M and K
    qpoints = np.concatenate([np.linspace(corners[k], corners[k + 1], npoints)[(1 if k else 0):] for k in range(3)])
    ph = harmonic_phonopy(ph3)
    ph.run_band_structure([qpoints], is_band_connection=True, with_eigenvectors=True)
    bands = ph.get_band_structure_dict()
    freqs = np.concatenate(bands["frequencies"]) * THZ_TO_CM1  # [q, 6]
    # the three acoustic branches are degenerate at Γ: name them by their order just off Γ
    freqs[:, :3] = freqs[:, np.argsort(freqs[1, :3])]
    x = np.concatenate(bands["distances"])
    ticks = [float(x[k * (npoints - 1)]) for k in range(4)]
    return {"x": x.tolist(), "ticks": ticks, "labels": list("GMKG"), "frequencies_cm1": freqs.tolist()}


def dispersion_figure(results: list[dict], path: Path) -> None:
    """The dispersions of one or more BTE results, the acoustic branches (ZA, TA, LA) in colour."""
    import matplotlib  # lazy: only when figures are drawn

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # lazy: as above

    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    styles = ["-", "--", ":", "-."]
    for k, result in enumerate(results):
        d = result["dispersion"]
        x, f = np.array(d["x"]), np.array(d["frequencies_cm1"])
        x = x / x[-1]
        ls = styles[k % len(styles)]
        for band, (name, colour) in enumerate((("ZA", "tab:blue"), ("TA", "tab:green"), ("LA", "tab:red"))):
            ax.plot(x, f[:, band], ls, color=colour, lw=1.4, label=f"{name}, {result['potential']}" if k == 0 or
                    len(results) > 1 else None)
        for band in range(3, f.shape[1]):
            ax.plot(x, f[:, band], ls, color="0.4", lw=0.9, label=f"optical, {result['potential']}" if band == 3
                    else None)
    d = results[0]["dispersion"]
    ticks = np.array(d["ticks"]) / d["x"][-1]
    for t in ticks:
        ax.axvline(t, color="0.8", lw=0.6)
    ax.set_xticks(ticks, ["Γ" if lab == "G" else lab for lab in d["labels"]])
    ax.set_xlim(0, 1)
    ax.set_ylim(bottom=min(0.0, min(np.min(r["dispersion"]["frequencies_cm1"]) for r in results) - 10))
    ax.set_ylabel("frequency (cm⁻¹)")
    ax.legend(fontsize=6.5, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=2)
    ax.set_title("h-BN phonons: acoustic ZA, TA, LA (colour) carry the heat", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def kappa(ph3, settings: BTESettings, mesh: int, pure_b11: bool) -> dict:
    """κ_xx, κ_yy (W/m K, 3.33 Å thickness) at T: RTA and, if asked, the full LBTE."""
    b_mass = MASS_B11 if pure_b11 else MASS_B_NATURAL
    ph3.masses = [b_mass, MASS_N]
    variances = [0.0 if pure_b11 else mass_variance(B_NATURAL), mass_variance(N_NATURAL)]
    ph3.mesh_numbers = [mesh, mesh, 1]
    ph3.init_phph_interaction()
    scale = settings.height / settings.thickness
    out = {}
    for name, lbte in (("rta", False), ("lbte", True)):
        if lbte and not settings.lbte:
            continue
        ph3.run_thermal_conductivity(is_LBTE=lbte, temperatures=[settings.temperature], is_isotope=True,
                                     mass_variances=variances, log_level=0)
        k = np.asarray(ph3.thermal_conductivity.kappa)[0, 0] * scale  # xx yy zz yz xz xy
        out[name] = [float(k[0]), float(k[1])]
    return out


def bte(settings: BTESettings, quiet: bool = False) -> dict:
    """The convergence study: κ vs q-mesh at the largest cutoff, κ vs cutoff at the largest mesh."""
    settings.check()
    import_phono3py()
    forces, energy, description = force_function(settings.model)
    start = time.perf_counter()
    a = settings.lattice_constant
    if a is None:
        a = relaxed_lattice_constant("extep") if settings.model == "extep" else minimum_lattice_constant(energy)
    result = {"settings": asdict(settings), "potential": description, "lattice_constant": a,
              "mass_variance": {"B_natural": mass_variance(B_NATURAL), "N_natural": mass_variance(N_NATURAL)},
              "rows": []}
    ph3 = phono3py_object(settings, a)
    result["fc2_displacements"] = compute_fc2(ph3, settings, forces, quiet)
    fc2 = ph3.fc2
    result["dispersion"] = dispersion(ph3, a, settings.height)
    cutoffs = sorted(settings.cutoffs)
    meshes = sorted(settings.meshes)
    for cutoff in cutoffs:
        ph3 = phono3py_object(settings, a)
        ph3.fc2 = fc2
        n3 = compute_fc3(ph3, settings, cutoff, forces, quiet)
        for mesh in (meshes if cutoff == cutoffs[-1] else meshes[-1:]):
            row = {"cutoff": cutoff, "mesh": mesh, "fc3_displacements": n3}
            for label, pure in (("natural", False), ("b11", True)):
                row[label] = kappa(ph3, settings, mesh, pure)
            result["rows"].append(row)
            if not quiet:
                print(f"cutoff {cutoff:g} Å, mesh {mesh}x{mesh}: " + ", ".join(
                    f"{lab} {m.upper()} κ_xx {v[0]:.0f} κ_yy {v[1]:.0f}"
                    for lab in ("natural", "b11") for m, v in row[lab].items()), flush=True)
    result["seconds"] = time.perf_counter() - start
    return result


def markdown(result: dict, command: str, conditions: str) -> str:
    s = result["settings"]
    lines = [f"# BTE thermal conductivity: {result['potential']}", "",
             f"Command: `{command}`", "", f"Conditions: {conditions}.", "",
             f"a = {result['lattice_constant']:.4f} Å (the potential's minimum), {s['temperature']:g} K; fc2 on "
             f"{s['fc2_supercell']}×{s['fc2_supercell']}×1 ({result['fc2_displacements']} displacements), fc3 on "
             f"{s['fc3_supercell']}×{s['fc3_supercell']}×1 with the pair cutoff below, ±{s['displacement']} Å; "
             f"isotope scattering with g(B) = {result['mass_variance']['B_natural']:.3e} (natural) or 0 (¹¹B), "
             f"g(N) = {result['mass_variance']['N_natural']:.2e}; thickness {s['thickness']} Å. κ in W/(m K), "
             f"(κ_xx + κ_yy)/2 (in-plane isotropic by symmetry). {result['seconds']:.0f} s in all.", "",
             "| fc3 cutoff (Å) | fc3 displacements | q-mesh | natural, RTA | natural, LBTE | ¹¹B, RTA | ¹¹B, LBTE |",
             "|---:|---:|---:|---:|---:|---:|---:|"]
    for row in result["rows"]:
        cells = []
        for label in ("natural", "b11"):
            for method in ("rta", "lbte"):
                v = row[label].get(method)
                cells.append(f"{(v[0] + v[1]) / 2:.0f}" if v else "–")
        lines.append(f"| {row['cutoff']:g} | {row['fc3_displacements']} | {row['mesh']}×{row['mesh']} | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
