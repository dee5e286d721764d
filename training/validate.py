"""``areanet validate MODEL --out DIR``: is the potential physically right, not only accurate?

    areanet validate MODEL --out DIR [--dft-data FILE ...] [--test-data FILE ...]
                     [--extrap-data FILE] [--dft-reference JSON] [--compute-dft] [--quick]

Writes ``DIR/validation.md``, ``DIR/validation.json`` and the figures:

(a) **Accuracy** -- the paper's tables on the DFT test split (the split stored in a training
    checkpoint; for an exported model the split is rebuilt from its training config and
    checked against its data hash, or ``--test-data`` is used) and on the extrapolation
    points, with the RMSE-vs-strength curve (``strength.png``, ``parity.png``).
(b) **Equation of state** -- energy per atom of the perfect sheet under biaxial strain, the
    model against GPAW at the settings of ``data/`` (``eos.png``): equilibrium lattice
    constant a0 and 2D bulk modulus B = A d²E/dA² (per-atom area A = √3 a²/4, so at the
    minimum B = E''(a)/√3 with E per atom), from the same cubic fit on both curves.
(c) **Phonons** -- the dispersion along Γ-M-K-Γ from the model (``ase.phonons.Phonons``,
    ``phonons.png``) and the Γ-point optical frequencies against GPAW finite differences.
(d) **NVE drift** -- velocity Verlet with the model (``nve.png``).
(e) **Radial distribution function** at 300 K (Langevin, ``rdf.png``).

The DFT numbers come from ``validation/dft_reference.json`` (committed), so validating needs
no GPAW; ``--compute-dft`` recomputes them with ``areanet data label``'s GPAW labeller
(``areanet.training.label``), resuming a partial file point by point.

How the DFT reference is made cheap but equal to the training data. The training data are
60-atom cells (5 × 3 rectangular 4-atom cells) at the Γ point with h = 0.15 Å, which GPAW
turns into an 84 × 88 × 80 grid. Γ of the 60-atom cell samples exactly the k-points of a
Γ-centred 5 × 3 mesh of the 4-atom cell, and a 17 × 29 × 80 grid on the 4-atom cell has
the same spacing (0.148, 0.150, 0.150 Å). With both, the 4-atom cell reproduces the 60-atom
energy (−8.60919 vs −8.60925 eV/atom at a = 2.5198 Å: 0.06 meV/atom, inside the grid
noise) in a tenth of the time. Symmetry is GPAW's default here (the structure's own point
group + time reversal): fewer k-points, the same physics.

Γ-point force constants. A displacement u of atom 0 of the 4-atom cell (with the k-mesh: of
that atom in every 4-atom cell) gives forces whose sum over the B atoms is −Φ_Γ(B,B)·u and
over the N atoms −Φ_Γ(N,B)·u = +Φ_Γ(B,B)·u (acoustic sum rule). By the D3h symmetry the Γ
block is k∥·1 in-plane and k⊥ out of plane, and the optical frequencies are
ω = √(k (1/m_B + 1/m_N)): E' (in-plane, doubly degenerate; no LO-TO splitting, as in any
supercell calculation without Born charges) and A2'' (ZO). One diagonal displacement
±(δx, 0, δz) gives both constants by central differences (the in-plane and out-of-plane
blocks do not mix at Γ by the mirror symmetry of the sheet). δ is half the grid spacing in
each direction: the ± positions then differ by one grid vector, so the displaced atom's
egg-box force (periodic in the grid) cancels exactly. The model is evaluated on exactly the
same displaced configurations (the 4-atom cell repeated 5 × 3), so the comparison is free
of finite-difference and anharmonic bias; the model's harmonic Γ values from the dispersion
are reported next to them.
"""
from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .cli import UserError

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DFT_REFERENCE = REPO / "validation" / "dft_reference.json"
DATA_DIR = REPO / "data"
DEFAULT_EXTRAP = DATA_DIR / "hbn_pbe_extrap.extxyz.gz"

MASSES = {"B": 10.811, "N": 14.0067}  # amu, as in LAMMPS and ASE
EV_PER_A2_TO_N_PER_M = 16.021766  # 1 eV/Å² in N/m
SQRT_EV_A2_AMU_TO_CM1 = 521.47090  # √(eV/Å²/amu) as an angular frequency, in cm⁻¹ (ω/2πc)
MEV_TO_CM1 = 8.0655439

# the DFT reference cell and its settings (see the module doc)
DFT_KPTS = (5, 3, 1)
DFT_GPTS = (17, 29, 80)
DFT_EOS_A = (2.4750, 2.4900, 2.5198, 2.5500, 2.5650)  # Å, symmetric about 2.5198
DFT_PHONON_A = 2.5198  # Å, the a0 of data/README.md
README_A0 = 2.5198
TRAIN_STRAIN = 0.01  # the 3D protocol's largest in-plane strain (data/README.md)


# ---------------------------------------------------------------------------------------
# physics helpers (pure functions, tested on synthetic data)
# ---------------------------------------------------------------------------------------


def fit_eos(a_values, energy_per_atom, degree: int = 3) -> dict[str, float]:
    """Equilibrium lattice constant and 2D bulk modulus from E(a) of the perfect sheet.

    A polynomial of ``degree`` in a is fitted to the energy per atom; a0 is its minimum
    inside the sampled range, B = A d²E/dA² = E''(a0)/√3 (eV/Å², per-atom area √3 a²/4).
    """
    a = np.asarray(a_values, dtype=float)
    e = np.asarray(energy_per_atom, dtype=float)
    if len(a) < degree + 1:
        raise ValueError(f"{len(a)} points cannot fit a degree-{degree} polynomial")
    centre = float(a.mean())
    poly = np.polynomial.Polynomial.fit(a - centre, e, degree)
    d1, d2 = poly.deriv(1), poly.deriv(2)
    roots = [float(r.real) for r in d1.roots() if abs(r.imag) < 1e-12]
    lo, hi = a.min() - centre, a.max() - centre
    minima = [r for r in roots if lo - 1e-9 <= r <= hi + 1e-9 and d2(r) > 0]
    if not minima:
        raise ValueError(f"E(a) has no minimum inside [{a.min():.4f}, {a.max():.4f}] Å")
    x0 = min(minima, key=lambda r: poly(r))
    for _ in range(3):  # polish: roots() loses digits when the cubic term is ~0
        x0 -= float(d1(x0) / d2(x0))
    curvature = float(d2(x0))  # eV/Å² per atom
    b2d = curvature / math.sqrt(3.0)
    residual = float(np.sqrt(np.mean((poly(a - centre) - e) ** 2)))
    return {"a0": x0 + centre, "e0": float(poly(x0)), "curvature_ev_per_a2": curvature,
            "b2d_ev_per_a2": b2d, "b2d_n_per_m": b2d * EV_PER_A2_TO_N_PER_M,
            "fit_rms_mev": residual * 1000.0, "degree": degree}


def rect_cell(a: float):
    """The 4-atom rectangular h-BN cell (a × √3 a, 12 Å high), the layout of data/."""
    from .generate import perfect_sheet

    return perfect_sheet(a, nx=1, ny=1)


def phonon_displacement(a: float, gpts=DFT_GPTS) -> np.ndarray:
    """(δx, 0, δz): half the grid spacing of the DFT cell along x and z (Å)."""
    cell = rect_cell(a).cell.lengths()
    return np.array([cell[0] / gpts[0] / 2.0, 0.0, cell[2] / gpts[2] / 2.0])


def gamma_force_constants(symbols, forces_plus, forces_minus, displacement) -> dict[str, float]:
    """Γ-point force constants (eV/Å²) from forces at ±displacement of one B atom.

    In-plane from the x components, out-of-plane from z; each from the B sum and from the N
    sum (equal by the acoustic sum rule; both kept, their mean used).
    """
    symbols = np.asarray(symbols)
    d = np.asarray(displacement, dtype=float)
    df = (np.asarray(forces_plus) - np.asarray(forces_minus)) / 2.0  # [n, 3], = −Φ u
    out = {}
    for name, axis in (("inplane", 0), ("out_of_plane", 2)):
        k_b = -df[symbols == "B", axis].sum() / d[axis]
        k_n = df[symbols == "N", axis].sum() / d[axis]
        out[name] = 0.5 * (k_b + k_n)
        out[f"{name}_asr_mismatch"] = abs(k_b - k_n) / max(abs(out[name]), 1e-12)
    return out


def optical_frequency_cm1(k: float, m1: float = MASSES["B"], m2: float = MASSES["N"]) -> float:
    """ω/(2πc) in cm⁻¹ of a two-atom basis with Γ force constant k (eV/Å²); NaN if k < 0."""
    if k < 0:
        return float("nan")
    return math.sqrt(k * (1.0 / m1 + 1.0 / m2)) * SQRT_EV_A2_AMU_TO_CM1


def rdf_2d(positions_list, cell, symbols, r_max: float = 6.0, bins: int = 240):
    """Pair distribution g(r) of a sheet, normalised by the areal density (2D).

    Returns (r [bins], {"all", "B-N", "B-B", "N-N": g [bins]}). Distances are 3D minimum-
    image distances; the ideal-gas shell is 2πr dr times the areal density, so g → 1 at
    large r for a flat sheet.
    """
    from ase import Atoms
    from ase.neighborlist import neighbor_list

    symbols = np.asarray(symbols)
    edges = np.linspace(0.0, r_max, bins + 1)
    centres = 0.5 * (edges[1:] + edges[:-1])
    area = float(np.linalg.norm(np.cross(np.asarray(cell)[0], np.asarray(cell)[1])))
    n = len(symbols)
    counts = {k: np.zeros(bins) for k in ("all", "B-N", "B-B", "N-N")}
    for pos in positions_list:
        atoms = Atoms(symbols.tolist(), positions=pos, cell=cell, pbc=True)
        i, j, d = neighbor_list("ijd", atoms, r_max)
        pair = np.where(symbols[i] == symbols[j], np.char.add(np.char.add(symbols[i], "-"),
                                                               symbols[j]), "B-N")
        counts["all"] += np.histogram(d, edges)[0]
        for key in ("B-N", "B-B", "N-N"):
            counts[key] += np.histogram(d[pair == key], edges)[0]
    frames = max(len(positions_list), 1)
    shell = 2.0 * np.pi * centres * (edges[1] - edges[0])  # [bins]
    n_b, n_n = int((symbols == "B").sum()), int((symbols == "N").sum())
    norms = {"all": n * n / area, "B-N": 2 * n_b * n_n / area,
             "B-B": n_b * n_b / area, "N-N": n_n * n_n / area}
    g = {k: counts[k] / (frames * shell * max(norms[k], 1e-12)) for k in counts}
    return centres, g


def first_peak(r, g, lo: float, hi: float) -> float:
    """Position of the maximum of g inside [lo, hi] (parabola through the top three bins)."""
    mask = (r >= lo) & (r <= hi)
    idx = np.flatnonzero(mask)
    k = idx[int(np.argmax(g[idx]))]
    if 0 < k < len(r) - 1 and g[k - 1] + g[k + 1] - 2 * g[k] < 0:
        denom = g[k - 1] - 2 * g[k] + g[k + 1]
        shift = 0.5 * (g[k - 1] - g[k + 1]) / denom
        return float(r[k] + shift * (r[1] - r[0]))
    return float(r[k])


# ---------------------------------------------------------------------------------------
# the DFT reference (GPAW through the labeller), cached as JSON
# ---------------------------------------------------------------------------------------


def dft_settings():
    from .label import LabelSettings

    return LabelSettings(reference="gpaw", kpts=DFT_KPTS, gpts=DFT_GPTS, symmetry="auto")


def compute_dft_reference(path: str | Path = DEFAULT_DFT_REFERENCE, eos_a=DFT_EOS_A,
                          phonon_a: float = DFT_PHONON_A, log: Callable = print) -> dict:
    """Compute (or finish) the GPAW E(a) curve and Γ finite differences; saved after each
    point, so an interrupted run resumes where it stopped."""
    from .label import GpawLabeller

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


# ---------------------------------------------------------------------------------------
# the model
# ---------------------------------------------------------------------------------------


def is_checkpoint(path: str | Path) -> bool:
    """A training checkpoint (torch.save dict), as opposed to an exported TorchScript file."""
    import zipfile

    path = Path(path)
    if not zipfile.is_zipfile(path):
        return True  # old-style torch.save; let load_checkpoint say what it is
    with zipfile.ZipFile(path) as z:
        return not any("/code/" in n for n in z.namelist())


def model_calculator(model: str | Path, workdir: Path):
    """An AreaNetCalculator for an exported model or a (conservative) checkpoint."""
    from areanet.potential import AreaNetCalculator, export_model

    from .train import load_checkpoint, model_from_checkpoint

    path = Path(model)
    if not path.is_file():
        raise UserError(f"{path}: no such model or checkpoint")
    if is_checkpoint(path):
        net = model_from_checkpoint(load_checkpoint(path))
        if not net.conservative:
            raise UserError(f"{path} is a direct-force model: it has no energy surface to "
                            "validate (train with forces = \"conservative\")")
        exported = export_model(net.eval(), workdir / "model-from-checkpoint.pt")
        return AreaNetCalculator(exported)
    return AreaNetCalculator(path)


def _resolve(path: str) -> Path:
    p = Path(path)
    if p.is_file():
        return p
    q = REPO / path
    return q if q.is_file() else p


def model_training_info(model: str | Path) -> dict:
    """train_config, data_hash and (checkpoints) splits of a model."""
    if is_checkpoint(model):
        from .train import load_checkpoint

        payload = load_checkpoint(model)
        return {"train_config": payload.get("train_config") or {},
                "data_hash": payload.get("data_hash"), "splits": payload.get("splits"),
                "test_metrics": payload.get("test_metrics")}
    from areanet.potential import read_metadata

    meta = read_metadata(model)
    return {"train_config": meta.get("train_config") or {}, "data_hash": meta.get("data_hash"),
            "splits": None, "test_metrics": meta.get("test_metrics")}


def test_structures(model, test_data=None, dft_data=None) -> tuple[list, str]:
    """The DFT test split of ``model`` (list of Atoms) and a sentence saying where it came from.

    ``test_data`` files are used as they are. Otherwise the model's training data (its
    config, or ``dft_data``) is read, checked against the data hash the model recorded, and
    split again exactly as training did (checkpoints store the split itself).
    """
    from .config import TrainConfig
    from .data import data_hash, read_structures
    from .train import read_and_split

    if test_data:
        structures = read_structures([str(p) for p in test_data])
        return structures, f"all {len(structures)} structures of {', '.join(map(str, test_data))}"
    info = model_training_info(model)
    cfg = info["train_config"]
    files = [str(p) for p in dft_data] if dft_data else cfg.get("data") or []
    if not files:
        raise UserError("the model records no training data: give --test-data")
    paths = [_resolve(f) for f in files]
    extra = [] if dft_data else [_resolve(f) for f in cfg.get("train_only_data") or []]
    missing = [str(p) for p in paths + extra if not p.is_file()]
    if missing:
        raise UserError(f"training data {', '.join(missing)} not found: give --dft-data or "
                        "--test-data")
    resolved = TrainConfig.from_dict({**cfg, "data": [str(p) for p in paths],
                                      "train_only_data": [str(p) for p in extra]})
    structures, splits = read_and_split(resolved)  # as training read and split them
    recorded = info.get("data_hash")
    if recorded and data_hash(structures) != recorded:
        raise UserError(f"{', '.join(map(str, paths + extra))} are not the data the model was trained "
                        "on (data hash differs): give --test-data")
    if info.get("splits") and info["splits"].get("test") is not None:
        test = info["splits"]["test"]
        how = "the test split stored in the checkpoint"
    else:
        test = splits["test"]
        how = "the test split rebuilt from the model's training config (data hash checked)"
    chosen = [structures[int(k)] for k in test]
    if not chosen:
        raise UserError("the model's test split is empty: give --test-data")
    return chosen, f"{how}: {len(chosen)} of {len(structures)} structures of " + \
        ", ".join(str(p.name) for p in paths + extra)


def section_accuracy(model, out: Path, test_data, dft_data, extrap_data, train_range) -> dict:
    from .data import read_structures
    from .evaluate import evaluate_predictions
    from .predict import predict

    result: dict[str, Any] = {}
    test, source = test_structures(model, test_data, dft_data)
    result["test_source"] = source
    pred_test = predict(str(model), test)
    result["test"] = evaluate_predictions(test, pred_test, out / "accuracy-test",
                                          train_range=train_range, title="DFT test split")
    if extrap_data and Path(extrap_data).is_file():
        extrap = read_structures(str(extrap_data))
        pred_extrap = predict(str(model), extrap)
        result["extrap"] = evaluate_predictions(extrap, pred_extrap, out / "accuracy-extrap",
                                                train_range=train_range, plots=False,
                                                title="extrapolation points")
        result["strength"] = evaluate_predictions(
            test + extrap, pred_test + pred_extrap, out / "accuracy-strength",
            train_range=train_range, title="test split + extrapolation points")
        result["extrap_source"] = str(extrap_data)
        # keep the figures the report shows: parity of the test split, strength of all
        (out / "accuracy-strength" / "parity.png").unlink(missing_ok=True)
        (out / "accuracy-test" / "strength.png").unlink(missing_ok=True)
    return result


def model_eos(calc, a_values) -> list[float]:
    """Energy per atom of the perfect 60-atom sheet at each lattice constant."""
    from .generate import perfect_sheet

    out = []
    for a in a_values:
        atoms = perfect_sheet(float(a))
        atoms.calc = calc
        out.append(float(atoms.get_potential_energy()) / len(atoms))
    return out


def section_eos(calc, dft: dict | None, out: Path, quick: bool) -> dict:
    a_fit = list((dft or {}).get("eos", {}).get("a") or DFT_EOS_A)
    e_fit = model_eos(calc, a_fit)
    res: dict[str, Any] = {"a": a_fit, "model_energy_per_atom": e_fit,
                           "model": fit_eos(a_fit, e_fit)}
    a_dense = np.linspace(min(a_fit) - 0.02, max(a_fit) + 0.02, 12 if quick else 29)
    res["a_dense"] = a_dense.tolist()
    res["model_dense"] = model_eos(calc, a_dense)
    if dft and len(dft.get("eos", {}).get("a", [])) >= 4:
        res["dft"] = fit_eos(dft["eos"]["a"], dft["eos"]["energy_per_atom"])
        res["dft_energy_per_atom"] = dft["eos"]["energy_per_atom"]
        res["model_energy_at_dft_points"] = model_eos(calc, dft["eos"]["a"])
    _plot_eos(res, out / "eos.png")
    return res


def _plot_eos(res: dict, path: Path) -> None:
    from .plots import _save
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.2, 3.8))
    ax = fig.add_subplot()
    m = res["model"]
    ax.plot(res["a_dense"], (np.array(res["model_dense"]) - m["e0"]) * 1000, "-",
            color="tab:blue", label=f"model: a0 = {m['a0']:.4f} Å, B = {m['b2d_n_per_m']:.0f} N/m")
    if "dft" in res:
        d = res["dft"]
        ax.plot(res["a"], (np.array(res["dft_energy_per_atom"]) - d["e0"]) * 1000, "o",
                color="tab:red", label=f"GPAW: a0 = {d['a0']:.4f} Å, B = {d['b2d_n_per_m']:.0f} N/m")
        ax.axvline(d["a0"], color="tab:red", lw=0.7, ls=":")
    ax.axvline(m["a0"], color="tab:blue", lw=0.7, ls=":")
    lo, hi = README_A0 * (1 - TRAIN_STRAIN), README_A0 * (1 + TRAIN_STRAIN)
    ax.axvspan(lo, hi, color="0.92", zorder=0, label="strains in the 3D training data (±1 %)")
    ax.set_xlabel("lattice constant a (Å)")
    ax.set_ylabel("E − E_min (meV/atom)")
    ax.set_title("Perfect sheet under biaxial strain", fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
    _save(fig, path)


def primitive_cell(a: float, height: float = 12.0):
    """The 2-atom hexagonal h-BN cell (B at the origin, N at (a/2, a/(2√3)))."""
    from ase import Atoms

    cell = [[a, 0.0, 0.0], [a / 2.0, a * math.sqrt(3.0) / 2.0, 0.0], [0.0, 0.0, height]]
    return Atoms("BN", positions=[[0.0, 0.0, height / 2],
                                  [a / 2.0, a / (2.0 * math.sqrt(3.0)), height / 2]],
                 cell=cell, pbc=True)


def model_gamma_fd(calc, a: float, displacement, repeat=(5, 3, 1)) -> dict:
    """The DFT finite-difference protocol with the model: the displaced 4-atom cell repeated
    ``repeat`` times (the same configuration as the k-point-sampled DFT cell)."""
    forces = []
    for sign in (+1, -1):
        atoms = rect_cell(a)
        atoms.positions[0] += sign * np.asarray(displacement)
        big = atoms.repeat(repeat)
        big.calc = calc
        f = big.get_forces().reshape(-1, len(atoms), 3).mean(axis=0)  # [4, 3], per image
        forces.append(f)
    k = gamma_force_constants(rect_cell(a).get_chemical_symbols(), forces[0], forces[1],
                              displacement)
    return {"k": k, "E'": optical_frequency_cm1(k["inplane"]),
            "A2''": optical_frequency_cm1(k["out_of_plane"])}


def model_phonons(calc, a: float, supercell: int, workdir: Path, npoints: int = 120) -> dict:
    """Harmonic dispersion along Γ-M-K-Γ (ase.phonons.Phonons, 0.01 Å displacements)."""
    import shutil

    from ase.phonons import Phonons

    prim = primitive_cell(a)
    name = workdir / "phonon-cache"
    shutil.rmtree(name, ignore_errors=True)
    ph = Phonons(prim, calc, supercell=(supercell, supercell, 1), delta=0.01, name=str(name))
    try:
        ph.run()
        ph.read(acoustic=True)
        path = prim.cell.bandpath("GMKG", npoints=npoints)
        bs = ph.get_band_structure(path, verbose=False)
        freqs = bs.energies[0] * 1000.0 * MEV_TO_CM1  # [k, 6] cm⁻¹ (negative = imaginary)
        omega, modes = ph.band_structure([[0.0, 0.0, 0.0]], modes=True, verbose=False)
    finally:
        shutil.rmtree(name, ignore_errors=True)
    gamma = omega[0] * 1000.0 * MEV_TO_CM1  # [6]
    vec = modes[0].reshape(6, 2, 3)  # [mode, atom, xyz]
    z_weight = (np.abs(vec[:, :, 2]) ** 2).sum(axis=1) / (np.abs(vec) ** 2).sum(axis=(1, 2))
    out_of_plane = z_weight > 0.5
    x, ticks, labels = path.get_linear_kpoint_axis()
    return {"a": a, "supercell": supercell, "x": x.tolist(), "ticks": ticks.tolist(),
            "labels": list(labels), "frequencies_cm1": freqs.tolist(),
            "gamma_cm1": gamma.tolist(),
            "E'": float(gamma[~out_of_plane].max()), "A2''": float(gamma[out_of_plane].max()),
            "min_cm1": float(freqs.min())}


def section_phonons(calc, dft: dict | None, eos: dict | None, out: Path, workdir: Path,
                    quick: bool) -> dict:
    a_model = (eos or {}).get("model", {}).get("a0", DFT_PHONON_A)
    res: dict[str, Any] = {}
    res["dispersion"] = model_phonons(calc, a_model, 5 if quick else 24, workdir,
                                      npoints=60 if quick else 150)
    ph = (dft or {}).get("phonon") or {}
    a_dft = ph.get("a", DFT_PHONON_A)
    u = np.asarray(ph.get("displacement") or phonon_displacement(a_dft))
    res["model_fd"] = model_gamma_fd(calc, a_dft, u)
    res["fd_a"] = a_dft
    res["fd_displacement"] = u.tolist()
    if dft:
        summary = dft_summary(dft)
        if "gamma" in summary:
            res["dft_fd"] = summary["gamma"]
    _plot_phonons(res, out / "phonons.png")
    return res


def _plot_phonons(res: dict, path: Path) -> None:
    from .plots import _save
    from matplotlib.figure import Figure

    d = res["dispersion"]
    fig = Figure(figsize=(5.6, 4.0))
    ax = fig.add_subplot()
    f = np.asarray(d["frequencies_cm1"])
    for band in f.T:
        ax.plot(d["x"], band, color="tab:blue", lw=1.2)
    for t in d["ticks"]:
        ax.axvline(t, color="0.7", lw=0.6)
    ax.axhline(0, color="0.7", lw=0.6)
    labels = ["Γ" if s in ("G", "Gamma") else s for s in d["labels"]]
    ax.set_xticks(d["ticks"], labels)
    ax.set_xlim(d["x"][0], d["x"][-1])
    if "dft_fd" in res:
        g = res["dft_fd"]
        ax.plot([0, 0], [g["E'"], g["A2''"]], "o", color="tab:red", ms=6, clip_on=False,
                label="GPAW Γ (finite differences)", zorder=5)
        ax.legend(fontsize=7, loc="center right")
    ax.set_ylabel("frequency (cm⁻¹)")
    ax.set_title(f"Model phonons, a = {d['a']:.4f} Å ({d['supercell']}×{d['supercell']} supercell)",
                 fontsize=10)
    fig.tight_layout()
    _save(fig, path)


def _thermalize(atoms, temperature_K: float, rng) -> None:
    """Maxwell-Boltzmann momenta (ASE >= 3.28 renamed the function)."""
    try:
        from ase.md.velocitydistribution import thermalize_momenta
    except ImportError:  # older ASE
        from ase.md.velocitydistribution import MaxwellBoltzmannDistribution as thermalize_momenta
    thermalize_momenta(atoms, temperature_K=temperature_K, rng=rng)


def md_sheet(a: float, atoms_target: int):
    """A perfect sheet of about ``atoms_target`` atoms (rectangular 4-atom cells)."""
    from .generate import perfect_sheet

    ny = max(1, round(math.sqrt(atoms_target / 4 / math.sqrt(3.0))))
    nx = max(1, round(atoms_target / 4 / ny))
    return perfect_sheet(a, nx=nx, ny=ny)


def section_nve(calc, a: float, n_atoms: int, steps: int, dt_fs: float, temperature: float,
                seed: int = 1) -> dict:
    from ase import units
    from ase.md.velocitydistribution import Stationary
    from ase.md.verlet import VelocityVerlet

    atoms = md_sheet(a, n_atoms)
    atoms.calc = calc
    rng = np.random.default_rng(seed)
    _thermalize(atoms, 2 * temperature, rng)
    Stationary(atoms)
    dyn = VelocityVerlet(atoms, timestep=dt_fs * units.fs)
    t, etot, epot, temp = [], [], [], []

    def record():
        ep = atoms.get_potential_energy()
        ek = atoms.get_kinetic_energy()
        t.append(dyn.nsteps * dt_fs / 1000.0)
        etot.append(ep + ek)
        epot.append(ep)
        temp.append(atoms.get_temperature())

    dyn.attach(record, interval=1)
    start = time.perf_counter()
    dyn.run(steps)
    seconds = time.perf_counter() - start
    t, etot = np.array(t), np.array(etot)
    n = len(atoms)
    slope = np.polyfit(t, etot, 1)[0] if len(t) > 2 else float("nan")  # eV/ps
    return {"n_atoms": n, "steps": steps, "dt_fs": dt_fs, "duration_ps": steps * dt_fs / 1000,
            "initial_temperature_K": 2 * temperature, "mean_temperature_K": float(np.mean(temp)),
            "drift_mev_per_atom_per_ps": float(slope / n * 1000.0),
            "etot_std_mev_per_atom": float(np.std(etot) / n * 1000.0),
            "etot_range_mev_per_atom": float((etot.max() - etot.min()) / n * 1000.0),
            "epot_std_mev_per_atom": float(np.std(epot) / n * 1000.0),
            "seconds": seconds, "seconds_per_step": seconds / max(steps, 1),
            "t_ps": t.tolist(), "etot_mev_per_atom": ((etot - etot[0]) / n * 1000.0).tolist(),
            "epot_mev_per_atom": ((np.array(epot) - epot[0]) / n * 1000.0).tolist(),
            "temperature_K": temp}


def _plot_nve(res: dict, path: Path) -> None:
    from .plots import _save
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.6, 3.8))
    ax = fig.add_subplot()
    ax.plot(res["t_ps"], res["epot_mev_per_atom"], color="0.6", lw=0.8, label="potential")
    ax.plot(res["t_ps"], res["etot_mev_per_atom"], color="tab:blue", lw=1.2, label="total")
    ax.set_xlabel("time (ps)")
    ax.set_ylabel("E − E(0) (meV/atom)")
    ax.set_title(f"NVE, {res['n_atoms']} atoms, dt = {res['dt_fs']:g} fs: drift "
                 f"{res['drift_mev_per_atom_per_ps']:.3f} meV/atom/ps", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    _save(fig, path)


def section_rdf(calc, a: float, n_atoms: int, steps_eq: int, steps: int, dt_fs: float,
                temperature: float, seed: int = 2) -> dict:
    from ase import units
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import Stationary

    atoms = md_sheet(a, n_atoms)
    atoms.calc = calc
    rng = np.random.default_rng(seed)
    _thermalize(atoms, temperature, rng)
    Stationary(atoms)
    dyn = Langevin(atoms, timestep=dt_fs * units.fs, temperature_K=temperature,
                   friction=0.02 / units.fs, fixcm=False, rng=rng)
    start = time.perf_counter()
    dyn.run(steps_eq)
    frames, temps = [], []

    def sample():
        frames.append(atoms.positions.copy())
        temps.append(atoms.get_temperature())

    dyn.attach(sample, interval=5)
    dyn.run(steps)
    seconds = time.perf_counter() - start
    r, g = rdf_2d(frames, atoms.cell.array, atoms.get_chemical_symbols())
    bond0 = a / math.sqrt(3.0)
    peaks = {"B-N": first_peak(r, g["B-N"], 1.2, 1.8), "B-B": first_peak(r, g["B-B"], 2.2, 2.8),
             "N-N": first_peak(r, g["N-N"], 2.2, 2.8), "B-N (3rd shell)": first_peak(r, g["B-N"], 2.6, 3.2)}
    ideal = {"B-N": bond0, "B-B": a, "N-N": a, "B-N (3rd shell)": 2 * bond0}
    return {"n_atoms": len(atoms), "temperature_K": temperature, "steps_equilibration": steps_eq,
            "steps_sampled": steps, "dt_fs": dt_fs, "frames": len(frames),
            "mean_temperature_K": float(np.mean(temps)), "seconds": seconds,
            "peaks": peaks, "ideal": ideal, "r": r.tolist(),
            "g": {k: v.tolist() for k, v in g.items()}}


def _plot_rdf(res: dict, path: Path) -> None:
    from .plots import _save
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.6, 3.8))
    ax = fig.add_subplot()
    colours = {"B-N": "tab:purple", "B-B": "tab:green", "N-N": "tab:blue"}
    for key, colour in colours.items():
        ax.plot(res["r"], res["g"][key], color=colour, lw=1.0, label=key)
    for key, value in res["ideal"].items():
        ax.axvline(value, color="0.8", lw=0.6, ls=":")
    ax.set_xlabel("r (Å)")
    ax.set_ylabel("g(r) (2D normalisation)")
    ax.set_title(f"RDF at {res['temperature_K']:g} K (Langevin, {res['n_atoms']} atoms, "
                 f"{res['frames']} frames); dotted: 0 K shells", fontsize=8)
    ax.legend(fontsize=7)
    fig.tight_layout()
    _save(fig, path)


# ---------------------------------------------------------------------------------------
# the report
# ---------------------------------------------------------------------------------------

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
    import tempfile

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    plan = QUICK if quick else FULL
    dft = load_dft_reference(dft_reference) if dft_reference else None
    import hashlib

    info = {}
    try:
        info = model_training_info(model)
    except Exception:  # the report says what it could not read
        pass
    charges = None
    try:
        from areanet.potential.sheet_coulomb import model_charges

        from .predict import load_any

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
            "frequencies_cm1", "x", "by_strength", "model_dense", "a_dense"}

    def strip(obj):
        if isinstance(obj, dict):
            return {k: strip(v) for k, v in obj.items() if k not in drop}
        if isinstance(obj, list):
            return [strip(v) for v in obj]
        return obj

    return strip(result)


def _f(value, fmt="{:.4f}") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    return fmt.format(value)


def _pct(model_value, ref_value) -> str:
    if model_value is None or ref_value is None or not ref_value:
        return "—"
    return f"{100.0 * (model_value - ref_value) / ref_value:+.2f} %"


def _md(header, rows) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    return "\n".join(out + ["| " + " | ".join(r) + " |" for r in rows])


def _verdict(ok) -> str:
    return "—" if ok is None else ("pass" if ok else "**fail**")


def format_report(result: dict) -> str:
    from .evaluate import _md_table, _metric_rows, _strength_rows

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
                  _md(["quantity", "value", "bar", "verdict"], bar_rows), ""]

    # (a) accuracy
    lines += ["## (a) Accuracy on the DFT test split and the extrapolation points", ""]
    if "accuracy" in s:
        a = s["accuracy"]
        lines += [f"Test structures: {a['test_source']}.", "",
                  _md_table(*_metric_rows(a["test"])), ""]
        if "extrap" in a:
            lines += [f"Extrapolation points (`{Path(a['extrap_source']).name}`, outside the "
                      "training strengths except the 0 % and 0.5 % frames):", "",
                      _md_table(*_metric_rows(a["extrap"])), ""]
        if "strength" in a:
            header, rows = _strength_rows(a["strength"])
            lines += ["Errors against perturbation strength (test split + extrapolation points; "
                      "Fig. 5 of the report):", "", _md_table(header, rows), "",
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
        lines += [_md(["", "a0 (Å)", "B 2D (N/m)", "E(a0) (eV/atom)"], rows), "",
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
        lines += [_md(["Γ mode", "model, same FD (cm⁻¹)", "GPAW FD (cm⁻¹)", "difference",
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
    else:
        lines += [f"Not computed: {err.get('phonons', 'skipped')}", ""]

    # (d) NVE
    lines += ["## (d) Energy conservation (NVE)", ""]
    nve = s.get("nve")
    if nve:
        lines += [_md(["atoms", "steps × dt", "mean T (K)", "drift (meV/atom/ps)",
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
        lines += [_md(["pair (shell)", "peak at 300 K (Å)", "0 K (Å)", "shift (Å)"], rows), "",
                  f"Langevin at 300 K (mean {rdf['mean_temperature_K']:.0f} K), {rdf['n_atoms']} "
                  f"atoms, {rdf['steps_equilibration']} equilibration + {rdf['steps_sampled']} "
                  f"sampled steps of {rdf['dt_fs']:g} fs.", "", "![RDF](rdf.png)", ""]
    else:
        lines += [f"Not computed: {err.get('rdf', 'skipped')}", ""]

    if "comparison" in s or "comparison" in err:
        lines += ["## (f) Comparison study: representation and force mode", ""]
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


# ---------------------------------------------------------------------------------------
# the command
# ---------------------------------------------------------------------------------------


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "validate", help="physical validation: accuracy, a0 and bulk modulus, phonons, NVE "
        "drift, RDF (validation.md + PNGs)",
        formatter_class=__import__("argparse").RawDescriptionHelpFormatter,
        description="Validate a model against DFT and physics; writes DIR/validation.md, "
        "validation.json and figures:\n"
        "  (a) the report's tables on the model's DFT test split and the extrapolation points;\n"
        "  (b) a0 and 2D bulk modulus from E(a) under biaxial strain, vs GPAW;\n"
        "  (c) phonon dispersion along G-M-K-G, Gamma optical modes vs GPAW finite differences;\n"
        "  (d) NVE energy drift; (e) radial distribution function at 300 K.\n"
        "The GPAW numbers come from validation/dft_reference.json (no GPAW needed).")
    p.add_argument("model", metavar="MODEL", help="exported model file or training checkpoint")
    p.add_argument("--out", required=True, metavar="DIR", help="directory for validation.md, "
                   "validation.json and the figures")
    p.add_argument("--test-data", nargs="+", metavar="FILE", default=None,
                   help="evaluate on these files instead of the model's own test split")
    p.add_argument("--dft-data", nargs="+", metavar="FILE", default=None,
                   help="the model's training data (default: the paths in its training "
                   "config), split again as in training to find the test split")
    p.add_argument("--extrap-data", metavar="FILE", default=str(DEFAULT_EXTRAP),
                   help="extrapolation points (default: data/hbn_pbe_extrap.extxyz.gz)")
    p.add_argument("--dft-reference", metavar="JSON", default=str(DEFAULT_DFT_REFERENCE),
                   help="cached GPAW E(a) and Γ finite differences "
                   "(default: validation/dft_reference.json)")
    p.add_argument("--compute-dft", action="store_true",
                   help="compute (or finish) the DFT reference with GPAW first (~7 min on one core)")
    p.add_argument("--quick", action="store_true",
                   help="short MD and small phonon supercell: a smoke test under ~2 minutes")
    p.add_argument("--compare", metavar="RUNS_DIR", default=None,
                   help="also run the comparison study (high vs low order, conservative vs "
                   "direct, Behler-Parrinello) with the model's training config, training runs "
                   "in RUNS_DIR (resumable; finished runs are reused)")
    p.add_argument("--compare-epochs", type=int, default=100, metavar="N",
                   help="training budget of each compared model (default 100 epochs)")
    p.add_argument("--threads", type=int, default=0, metavar="N",
                   help="torch threads (default: torch's choice)")
    p.set_defaults(func=run)


def run(args) -> int:
    if args.threads > 0:
        import torch

        torch.set_num_threads(args.threads)
    if args.compute_dft:
        compute_dft_reference(args.dft_reference)
    extrap = args.extrap_data if args.extrap_data and Path(args.extrap_data).is_file() else None
    result = run_validation(args.model, args.out, test_data=args.test_data,
                            dft_data=args.dft_data, extrap_data=extrap,
                            dft_reference=args.dft_reference, quick=args.quick,
                            compare=args.compare, compare_epochs=args.compare_epochs,
                            log=lambda *a: print(*a, file=sys.stderr, flush=True))
    print(f"wrote {Path(args.out) / 'validation.md'}")
    if result["errors"]:
        print("sections that could not be computed: " + ", ".join(result["errors"]),
              file=sys.stderr)
    return 0


# ---------------------------------------------------------------------------------------
# (f) comparison study: representations and force modes, same split, loop and budget
# ---------------------------------------------------------------------------------------

# (key, description, TrainConfig overrides, representation)
COMPARISON = [
    ("ho-conservative", "area element, high order (12 vertices), conservative (SiLU)",
     {"order": "high", "forces": "conservative", "activation": ""}, "area"),
    ("lo-conservative", "area element, low order (A, E, I + ring centroids), conservative (SiLU)",
     {"order": "low", "forces": "conservative", "activation": ""}, "area"),
    ("ho-direct", "area element, high order, the report's direct force head (LeakyReLU)",
     {"order": "high", "forces": "direct", "activation": ""}, "area"),
    ("bp-conservative", "Behler–Parrinello G2/G4 symmetry functions, R_c = 3.6 Å, conservative (SiLU)",
     {"order": "high", "forces": "conservative", "activation": ""}, "bp"),
]


class _Representation:
    """Within the block, `areanet train` builds SymmetryFunctionNet instead of AreaNet (the
    training loop, data, split and evaluation are untouched)."""

    def __init__(self, kind: str):
        self.kind = kind

    def __enter__(self):
        import areanet.training.train as train_module

        self.saved = train_module.AreaNet
        if self.kind == "bp":
            from areanet.potential.symmetry_functions import SymmetryFunctionNet

            train_module.AreaNet = SymmetryFunctionNet
        return self

    def __exit__(self, *exc):
        import areanet.training.train as train_module

        train_module.AreaNet = self.saved


def run_comparison(model, runs_dir: str | Path, epochs: int, extrap_data=DEFAULT_EXTRAP,
                   log: Callable = print) -> list[dict]:
    """Train every variant of :data:`COMPARISON` with the training config of ``model`` (same
    data, split, seed, batch size, learning-rate schedule, loss) for ``epochs`` epochs each;
    resumable (a finished run is read back, an interrupted one continues)."""
    from .config import TrainConfig
    from .data import read_structures
    from .evaluate import evaluate_predictions
    from .predict import predict
    from .train import load_checkpoint, train

    base = dict(model_training_info(model)["train_config"])
    if not base.get("data"):
        raise UserError(f"{model} records no training config: cannot rerun its training")
    base["data"] = [str(_resolve(p)) for p in base["data"]]
    base["train_only_data"] = [str(_resolve(p)) for p in base.get("train_only_data") or []]
    runs_dir = Path(runs_dir)
    extrap = read_structures(str(extrap_data)) if extrap_data and Path(extrap_data).is_file() else []
    rows = []
    for key, description, overrides, kind in COMPARISON:
        run_dir = runs_dir / key
        summary_path = run_dir / "summary.json"
        cfg = TrainConfig.from_dict({**base, **overrides, "epochs": epochs})
        if (run_dir / "last.pt").is_file():  # never mix runs of another configuration
            saved = load_checkpoint(run_dir / "last.pt")["train_config"]
            ignore = {"epochs", "threads", "device", "data"}
            changed = sorted(k for k, v in cfg.to_dict().items()
                             if k not in ignore and saved.get(k) != v)
            if [Path(p).resolve() for p in saved.get("data", [])] != \
                    [Path(p).resolve() for p in cfg.data]:
                changed.append("data")
            if changed or saved.get("epochs") != epochs:
                raise UserError(f"{run_dir} was trained with another configuration "
                                f"({', '.join(changed) or 'epochs'} differ): give another "
                                "--compare directory")
        with _Representation(kind):
            if not summary_path.is_file():
                log(f"comparison: training {key} ({epochs} epochs) in {run_dir}")
                train(cfg, run_dir, resume=(run_dir / "last.pt").is_file(), quiet=True)
            summary = json.loads(summary_path.read_text())
            payload = load_checkpoint(run_dir / "best.pt")
            from .train import model_from_checkpoint

            net = model_from_checkpoint(payload)
            n_params = sum(p.numel() for p in net.parameters())
            extrap_metrics = None
            if extrap:
                extrap_metrics = evaluate_predictions(extrap, predict(net, extrap),
                                                      run_dir / "extrap", plots=False)
        test = summary.get("test", {}).get("all", {})
        rows.append({"key": key, "description": description, "parameters": int(n_params),
                     "epochs": epochs, "best_epoch": int(payload.get("epoch", -1)) + 1,
                     "train_seconds": summary.get("train_seconds"),
                     "test": test, "extrap": (extrap_metrics or {}).get("all"),
                     "extrap_by_strength": (extrap_metrics or {}).get("by_strength")})
    return rows


def format_comparison(rows: list[dict]) -> str:
    header = ["model", "parameters", "test E RMSE (meV/atom)", "test \\|F\\| RMSE (eV/Å)",
              "test angle MAE (°)", "extrap. E RMSE (meV/atom)", "extrap. \\|F\\| RMSE (eV/Å)",
              "\\|F\\| RMSE at 7.5 % (eV/Å)", "train time"]
    out = []
    for r in rows:
        t, x = r["test"] or {}, r["extrap"] or {}
        top = [lv for lv in (r.get("extrap_by_strength") or []) if abs(lv["strength_pct"] - 7.5) < 1e-6]
        out.append([r["description"], str(r["parameters"]),
                    _f(t.get("energy_per_atom_rmse_mev"), "{:.3f}"),
                    _f(t.get("force_magnitude_rmse"), "{:.4f}"),
                    _f(t.get("force_angle_mae_deg"), "{:.2f}"),
                    _f(x.get("energy_per_atom_rmse_mev"), "{:.3f}"),
                    _f(x.get("force_magnitude_rmse"), "{:.4f}"),
                    _f(top[0]["force_magnitude_rmse"] if top else None, "{:.4f}"),
                    _f(r.get("train_seconds"), "{:.0f} s")])
    return _md(header, out)
