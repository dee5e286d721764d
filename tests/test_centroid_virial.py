"""The centroid per-atom virial of pair_style areanet and the heat current built on it (issue 15).

The split is derived from the model contract in lammps_plugin/areanet_centroid.h: every
centre's term measured from the centre, W_k = Σ_(i,k) −r_ik ⊗ g_ik over the edges ending at
k, 9 components (not symmetric). Checked here, on the ExTeP-trained model (a real, local,
3D model) and a rippled, perturbed sheet (so that every component is non-zero):

* the per-atom virials sum to the global virial (1e-10 relative): ASE; LAMMPS on 1 and on
  2 MPI ranks (compute reduce of compute centroid/stress/atom against compute pressure);
* LAMMPS' per-atom centroid virials equal the ASE calculator's (atoms.get_stresses() and
  calc.get_centroid_virials());
* compute heat/flux after a few MD steps equals the heat current computed here from the
  dumped velocities, per-atom energies and centroid virials, and from the ASE calculator's
  energies and virials at the dumped positions (no LAMMPS compute involved);
* a charged model refuses centroid/stress/atom (LAMMPS and ASE) with the reason.
"""
import numpy as np
import pytest
from ase.calculators.calculator import PropertyNotImplementedError

from lammps_helpers import MPIEXEC, NKTV2P, ROOT, make_sheet, perturb, plugin_library, read_dump, run_lmp

from areanet.potential import AreaNetCalculator

EXTEP = ROOT / "models" / "hbn-extep.pt"
PBE = ROOT / "models" / "hbn-pbe.pt"
TOL = 1e-10
MVV2E = 1.0364269e-4  # LAMMPS metal units: eV per (g/mol)(Å/ps)²

# the 9 columns of compute centroid/stress/atom: (a, b) of S_ab = −W_ab · nktv2p
ORDER = [(0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2), (1, 0), (2, 0), (2, 1)]

INPUT = """
units metal
atom_style atomic
boundary p p p
atom_modify map array
processors * * 1
read_data {data}
pair_style areanet
pair_coeff * * {model} B N
compute pea all pe/atom
compute kea all ke/atom
compute cs all centroid/stress/atom NULL virial
compute csum all reduce sum c_cs[*]
compute pvir all pressure NULL virial
compute flux all heat/flux kea pea cs
thermo_style custom step pe c_flux[1]
dump d0 all custom 1 step0.dump id type x y z c_pea c_cs[*]
dump_modify d0 sort id format float %.17g
run 0
undump d0
print "SUM $(c_csum[1]:%.17g) $(c_csum[2]:%.17g) $(c_csum[3]:%.17g) $(c_csum[4]:%.17g) $(c_csum[5]:%.17g) $(c_csum[6]:%.17g) $(c_csum[7]:%.17g) $(c_csum[8]:%.17g) $(c_csum[9]:%.17g)"
print "PRESS $(c_pvir[1]:%.17g) $(c_pvir[2]:%.17g) $(c_pvir[3]:%.17g) $(c_pvir[4]:%.17g) $(c_pvir[5]:%.17g) $(c_pvir[6]:%.17g) $(vol:%.17g)"
velocity all create 600 4928 mom yes rot yes dist gaussian loop geom
fix nve all nve
run 8
write_dump all custom step8.dump id type mass x y z vx vy vz c_pea c_kea c_cs[*] modify sort id format float %.17g
print "FLUX $(c_flux[1]:%.17g) $(c_flux[2]:%.17g) $(c_flux[3]:%.17g) $(c_flux[4]:%.17g) $(c_flux[5]:%.17g) $(c_flux[6]:%.17g)"
"""


def rippled_sheet(seed: int = 3):
    atoms = perturb(make_sheet.hbn_sheet(6, 4), np.random.default_rng(seed))  # 96 atoms
    x = atoms.positions[:, 0] / atoms.cell[0, 0]
    atoms.positions[:, 2] += 0.15 * np.sin(2 * np.pi * x)  # a ripple: every component non-zero
    return atoms


def lines_of(stdout: str, tag: str) -> list[np.ndarray]:
    return [np.array(line.split()[1:], dtype=float) for line in stdout.splitlines() if line.startswith(tag + " ")]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The same LAMMPS input on 1 and (if mpiexec is there) 2 ranks."""
    plugin_library()  # the venv's lmp loads the built plugin at start-up
    base = tmp_path_factory.mktemp("centroid")
    atoms = make_sheet.write_lammps_data(base / "sheet.data", rippled_sheet())
    results = {}
    for nprocs in (1, 2):
        if nprocs == 2 and not MPIEXEC.exists():
            continue
        work = base / f"np{nprocs}"
        work.mkdir()
        proc = run_lmp(INPUT.format(data=base / "sheet.data", model=EXTEP), work, nprocs=nprocs)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        results[nprocs] = {"stdout": proc.stdout, "step0": read_dump(work / "step0.dump"),
                           "step8": read_dump(work / "step8.dump")}
    return atoms, results


def stress_table(dump) -> np.ndarray:
    return np.stack([dump[f"c_cs[{k}]"] for k in range(1, 10)], axis=1)


def as_columns(virials: np.ndarray) -> np.ndarray:
    """[n, 3, 3] W (eV) → [n, 9] in compute centroid/stress/atom's order."""
    return np.stack([virials[:, a, b] for a, b in ORDER], axis=1)


def assert_close(a, b, what, tol=TOL):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    scale = np.abs(b).max()
    err = np.abs(a - b).max()
    assert scale > 0 and err <= tol * scale, f"{what}: differ by {err:.3e} (scale {scale:.3e})"


def test_ase_centroid_virials_sum_to_the_stress():
    atoms = rippled_sheet()
    atoms.calc = AreaNetCalculator(str(EXTEP))
    virials = atoms.calc.get_centroid_virials(atoms)  # [n, 3, 3], eV
    stress = atoms.get_stress(voigt=False)  # eV/Å³, ∂E/∂ε / V
    volume = atoms.get_volume()
    assert_close(virials.sum(0), -stress * volume, "Σ centroid virials vs −stress·V")
    assert_close(atoms.get_stresses().sum(0), atoms.get_stress(), "Σ atoms.get_stresses() vs stress")
    # the split is not the symmetric half-and-half one: centroid virials are not symmetric
    asym = np.abs(virials - virials.transpose(0, 2, 1)).max()
    assert asym > 1e-3 * np.abs(virials).max(), "per-atom centroid virials came out symmetric"
    # each atom's own term contributes nothing to it (edges are credited to the far end)
    assert np.all(np.isfinite(virials)) and np.abs(virials).max() > 1e-3


@pytest.mark.parametrize("nprocs", [1, 2])
def test_lammps_centroid_virials_sum_to_the_global_virial(runs, nprocs):
    _, results = runs
    if nprocs not in results:
        pytest.skip(f"{MPIEXEC} not found")
    out = results[nprocs]["stdout"]
    (total,), (press,) = lines_of(out, "SUM"), lines_of(out, "PRESS")
    pressure, volume = press[:6], press[6]
    # Σ_k S_k,ab = −P_ab V (virial pressure); the global virial is symmetric: yx = xy etc.
    expected = -np.concatenate([pressure, pressure[[3, 4, 5]]]) * volume
    assert_close(total, expected, f"Σ centroid/stress/atom vs −P·V on {nprocs} rank(s)")
    dump = results[nprocs]["step0"]
    assert_close(stress_table(dump).sum(0), expected, f"Σ dumped centroid stresses on {nprocs} rank(s)")


def test_lammps_centroid_virials_equal_the_ase_calculator(runs):
    atoms, results = runs
    calc = AreaNetCalculator(str(EXTEP))
    atoms = atoms.copy()
    atoms.calc = calc
    virials = calc.get_centroid_virials(atoms)
    for nprocs, result in results.items():
        dump = result["step0"]
        lammps_w = -stress_table(dump) / NKTV2P  # eV
        assert_close(lammps_w, as_columns(virials), f"LAMMPS ({nprocs} rank(s)) vs ASE centroid virials", 1e-9)
        assert_close(dump["c_pea"], atoms.get_potential_energies(), "per-atom energies", 1e-9)
        # atoms.get_stresses(): the symmetric part over the volume, ASE's Voigt order and sign
        sym = 0.5 * (virials + virials.transpose(0, 2, 1))
        voigt = np.stack([sym[:, 0, 0], sym[:, 1, 1], sym[:, 2, 2], sym[:, 1, 2], sym[:, 0, 2], sym[:, 0, 1]], 1)
        assert_close(atoms.get_stresses(), -voigt / atoms.get_volume(), "atoms.get_stresses()")
    if 2 in results:
        assert_close(stress_table(results[2]["step0"]), stress_table(results[1]["step0"]),
                     "centroid stresses, 2 ranks vs 1")


def heat_current(velocities, energies, virials) -> np.ndarray:
    """J = Σ_k e_k v_k + Σ_k W_k · v_k (eV Å/ps; W in eV, [n, 3, 3])."""
    return (energies[:, None] * velocities).sum(0) + np.einsum("kab,kb->a", virials, velocities)


def test_heat_flux_equals_an_independent_computation(runs):
    atoms0, results = runs
    for nprocs, result in results.items():
        dump = result["step8"]
        (flux,) = lines_of(result["stdout"], "FLUX")
        v = np.stack([dump["vx"], dump["vy"], dump["vz"]], axis=1)  # Å/ps
        ke = 0.5 * MVV2E * dump["mass"] * (v * v).sum(1)
        assert_close(ke, dump["c_kea"], "kinetic energies", 1e-6)  # MVV2E to 7 digits
        # (a) from the dumped per-atom energies and centroid stresses
        w_dump = np.zeros((len(v), 3, 3))
        for k, (a, b) in enumerate(ORDER):
            w_dump[:, a, b] = -dump[f"c_cs[{k + 1}]"] / NKTV2P
        e = dump["c_pea"] + dump["c_kea"]
        assert_close(heat_current(v, e, w_dump), flux[:3], f"heat/flux vs dumped quantities ({nprocs} rank(s))")
        assert_close((e[:, None] * v).sum(0), flux[3:], "convective part")
        # (b) the potential part from the ASE calculator at the dumped positions
        atoms = atoms0.copy()
        atoms.positions = np.stack([dump["x"], dump["y"], dump["z"]], axis=1)
        atoms.calc = AreaNetCalculator(str(EXTEP))
        w_ase = atoms.calc.get_centroid_virials(atoms)
        e_ase = atoms.get_potential_energies() + dump["c_kea"]
        virial_part = flux[:3] - flux[3:]
        assert np.abs(virial_part).max() > 0.1 * np.abs(flux[:3]).max()  # the virial term matters
        assert_close(heat_current(v, e_ase, w_ase), flux[:3], f"heat/flux vs ASE ({nprocs} rank(s))", 1e-8)
        # the symmetric (half-and-half) split would give another current: the test can tell
        sym = 0.5 * (w_ase + w_ase.transpose(0, 2, 1))
        wrong = heat_current(v, e_ase, sym)
        assert np.abs(wrong - flux[:3]).max() > 1e-6 * np.abs(flux[:3]).max()


def test_charged_model_refuses_centroid_stress_with_the_reason(tmp_path):
    plugin_library()
    make_sheet.write_lammps_data(tmp_path / "sheet.data", make_sheet.hbn_sheet(5, 3, a=2.5198))
    text = INPUT.format(data=tmp_path / "sheet.data", model=PBE)
    proc = run_lmp(text, tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "compute cs (centroid/stress/atom) is not available with the charged model" in out, out[-2000:]
    assert "heat current" in out and "hbn-pbe-local.pt" in out
    atoms = make_sheet.hbn_sheet(5, 3, a=2.5198)
    atoms.calc = AreaNetCalculator(str(PBE))
    atoms.get_potential_energy()  # energies, forces, stress still work
    with pytest.raises(PropertyNotImplementedError, match="charged model.*heat current"):
        atoms.get_stresses()
