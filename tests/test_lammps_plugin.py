"""pair_style areanet in LAMMPS against the same model through ASE (issue 3).

Energy, per-atom energy, forces and per-atom virial from LAMMPS must equal the model
evaluated through ASE neighbour lists (and ``AreaNetCalculator``) to 1e-8 relative, on
perturbed, strained, triclinic and tilted sheets and on cells so small that every atom
meets its own periodic images; the pressure must be the strain derivative of the energy;
a small sheet must reproduce the stored regression values.

The native evaluator reads the model from the file's ``areanet_native.bin`` without ever
loading libtorch (checked on the ``lmp`` process's memory maps and on the library's ELF
dependencies); ``pair_style areanet torchscript`` and model files without that extra load
libareanet_torch.so on demand, say why in the log, and give the same numbers.
"""
import json
import shutil
import subprocess

import numpy as np
import pytest

from lammps_helpers import (
    DATA_DIR,
    NATIVE_FILE,
    NKTV2P,
    ROOT,
    LammpsSession,
    StandInModel,
    evaluate_lammps,
    evaluate_reference,
    make_sheet,
    maps_check_command,
    perturb,
    pressure_and_strain_derivative,
    read_dump,
    resave_model,
    rotate,
    run_lmp,
    save_scripted,
    setup_commands,
    strain,
    tilted_sheet,
    torch_mappings,
    triclinic_sheet,
    write_model,
)

RTOL = 1e-8


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path, _ = write_model(tmp_path_factory.mktemp("model") / "areanet.pt", "auto")
    return path


@pytest.fixture(scope="module", params=["untrained", "trained"])
def any_model(request, model):
    """The untrained test model, and the shipped trained model when it exists."""
    if request.param == "untrained":
        return model
    path = ROOT / "models" / "hbn-extep.pt"
    if not path.is_file():
        pytest.skip("models/hbn-extep.pt is not there (train it: see README)")
    return path


def structure(name: str):
    rng = np.random.default_rng(sum(map(ord, name)))
    sheet = make_sheet.hbn_sheet
    if name == "perturbed-60":
        return perturb(sheet(5, 3), rng)
    if name == "strained-60":  # ±1.5 % normal strain and 1 % shear: a triclinic box
        eps = np.array([[0.015, 0.01, 0.0], [0.0, -0.01, 0.0], [0.0, 0.0, 0.0]])
        return strain(perturb(sheet(5, 3), rng), eps)
    if name == "triclinic-32":  # the 2-atom hexagonal cell, 60° between a1 and a2
        return perturb(triclinic_sheet(4, 4), rng)
    if name == "tilted-rotated-48":  # sheet inclined to every box face, rotated first
        return tilted_sheet(rotate(perturb(sheet(3, 4), rng), (1.0, 2.0, 3.0), 37.0))
    if name == "images-4":  # one orthorhombic cell: 2.5 x 4.3 Å, far below the 3.6 Å cutoff × 2
        return perturb(sheet(1, 1), rng)
    if name == "images-triclinic-8":
        return strain(perturb(triclinic_sheet(2, 2), rng), np.diag([0.01, -0.005, 0.0]))
    if name == "images-2":  # the primitive cell: all 12 vertices are images of 2 atoms
        return perturb(triclinic_sheet(1, 1), rng, inplane=0.02, normal=0.02)
    raise KeyError(name)


STRUCTURES = ["perturbed-60", "strained-60", "triclinic-32", "tilted-rotated-48", "images-4",
              "images-triclinic-8", "images-2"]


def assert_close(actual, expected, what, rtol=RTOL):
    actual = np.asarray(actual, dtype=float)
    expected = np.asarray(expected, dtype=float)
    scale = max(np.abs(expected).max(), 1e-12)
    err = np.abs(actual - expected).max()
    assert err <= rtol * scale, f"{what}: max deviation {err:.3e} > {rtol:g} × {scale:.3e}"


@pytest.mark.parametrize("name", STRUCTURES)
def test_lammps_matches_ase_host(plugin, any_model, tmp_path, name):
    atoms = structure(name)
    lmp = evaluate_lammps(plugin, any_model, atoms, tmp_path)
    ref = evaluate_reference(any_model, lmp["atoms"])

    assert_close(lmp["energy"], ref["energy"], "total energy")
    assert_close(lmp["energy_sum"], lmp["energy"], "sum of pe/atom vs pe")
    assert_close(lmp["energies"], ref["energies"], "per-atom energy")
    assert_close(lmp["forces"], ref["forces"], "forces")
    assert_close(lmp["virial_atom"], ref["virial_atom"], "per-atom virial")
    pressure = ref["virial"] / lmp["volume"] * NKTV2P  # xx yy zz xy xz yz, bar
    assert_close(lmp["pressure"], pressure, "pressure tensor")
    assert_close(lmp["virial_atom"].sum(0), ref["virial"], "sum of per-atom virial")
    # the forces are not trivially zero: the comparison has something to compare
    assert np.abs(ref["forces"]).max() > 1e-6

    calc = ref["calculator"]
    if calc is None:
        pytest.skip("areanet.potential.AreaNetCalculator not available; compared with the ASE host only")
    assert_close(lmp["energy"], calc["energy"], "energy vs AreaNetCalculator")
    assert_close(lmp["energies"], calc["energies"], "energies vs AreaNetCalculator")
    assert_close(lmp["forces"], calc["forces"], "forces vs AreaNetCalculator")
    # ASE stress = +∂E/∂ε / V (xx yy zz yz xz xy, eV/Å³); LAMMPS pressure = -that, in bar
    stress_lammps = -lmp["pressure"][[0, 1, 2, 5, 4, 3]] / NKTV2P
    assert_close(stress_lammps, calc["stress"], "stress vs AreaNetCalculator")


def test_lammps_frame_matches_original_orientation(plugin, model, tmp_path):
    """LAMMPS works in its own rotated frame; the physics must be that of the original
    orientation: energies equal, forces rotated (this also checks the model's invariance)."""
    atoms = structure("tilted-rotated-48")
    lmp = evaluate_lammps(plugin, model, atoms, tmp_path)
    ref = evaluate_reference(model, atoms)
    rotation = np.linalg.solve(atoms.cell.array, lmp["atoms"].cell.array)  # orig → LAMMPS
    assert np.allclose(rotation @ rotation.T, np.eye(3), atol=1e-12)
    assert_close(lmp["energies"], ref["energies"], "per-atom energy, original orientation")
    assert_close(lmp["forces"], ref["forces"] @ rotation, "forces, original orientation")


def test_pressure_is_strain_derivative_of_energy(plugin, model, tmp_path):
    """p_ab = -(1/V) ∂E/∂ε_ab, with ε applied by change_box ... remap (4-point stencil)."""
    atoms = structure("perturbed-60")
    data = tmp_path / "sheet.data"
    make_sheet.write_lammps_data(data, atoms)
    p0, fd_pressure, _ = pressure_and_strain_derivative(plugin, data, model)
    assert_close(p0, fd_pressure, "pressure vs finite-difference strain derivative", rtol=1e-7)


def test_thermo_press_and_box_relax(plugin, model, tmp_path):
    """`thermo press` is the trace of the virial pressure, and fix box/relax moves the box
    the way the pressure pushes it (expands under positive pressure): the virial's sign."""
    atoms = structure("images-4")
    data = tmp_path / "cell.data"
    make_sheet.write_lammps_data(data, atoms)
    with LammpsSession(plugin) as session:
        session.commands(setup_commands(data, model) + """
compute pvir all pressure NULL virial
thermo_style custom step pe press c_pvir[1] c_pvir[2] c_pvir[3] lx ly pxx pyy
run 0
""")
        lmp = session.lmp
        p = lmp.numpy.extract_compute("pvir", 0, 1).copy()
        assert lmp.get_thermo("press") == pytest.approx(p[:3].mean(), rel=1e-12, abs=1e-9)
        assert min(abs(p[0]), abs(p[1])) > 1.0, "the test needs a stressed cell"
        lx0, ly0 = lmp.get_thermo("lx"), lmp.get_thermo("ly")
        session.commands("""
fix relax all box/relax x 0.0 y 0.0 couple none vmax 0.001
minimize 0.0 1e-10 10 100
""")
        dlx, dly = lmp.get_thermo("lx") - lx0, lmp.get_thermo("ly") - ly0
        assert np.sign(dlx) == np.sign(p[0]) and np.sign(dly) == np.sign(p[1]), (dlx, dly, p[:2])
        assert abs(lmp.get_thermo("pxx")) < abs(p[0]) and abs(lmp.get_thermo("pyy")) < abs(p[1])


def test_regression_sheet(plugin, tmp_path):
    """Energy, stress and per-atom forces of a stored 48-atom sheet and model file."""
    reference = json.loads((DATA_DIR / "regression_hbn.json").read_text())
    model = DATA_DIR / reference["model"]
    data = DATA_DIR / reference["data"]
    with LammpsSession(plugin) as session:
        session.commands(setup_commands(data, model) + """
compute pvir all pressure NULL virial
thermo_style custom step pe c_pvir[*]
run 0
""")
        lmp = session.lmp
        n = lmp.extract_global("nlocal")
        ids = lmp.numpy.extract_atom("id")[:n].copy()
        forces = lmp.numpy.extract_atom("f")[:n][np.argsort(ids)].copy()
        energy = lmp.get_thermo("pe")
        pressure = lmp.numpy.extract_compute("pvir", 0, 1).copy()
    tol = reference["tolerance"]
    assert energy == pytest.approx(reference["energy"], rel=tol["energy_rel"])
    np.testing.assert_allclose(pressure, reference["pressure_bar"], rtol=0, atol=tol["pressure_bar_abs"])
    np.testing.assert_allclose(forces, np.array(reference["forces"]), rtol=0, atol=tol["force_abs"])


EXAMPLES = {  # input -> (variables for a short run, what it prints, its dump)
    "in.relax": ({"iters": 5}, "relaxed: E/atom", "relax.dump"),
    "in.nve": ({"steps": 10, "every": 5}, "NVE energy drift:", "nve.dump"),
    "in.nvt": ({"steps": 10, "every": 5, "T": 1000}, "NVT at 1000 K:", "nvt-1000.dump"),
    "in.npt": ({"steps": 10, "every": 5}, "NPT at 300 K, 0.0 bar (x, y):", "npt.dump"),
}


@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_example_inputs_run(plugin, model, tmp_path, example):
    """examples/hbn/in.*: run briefly with the venv's lmp, print their result line, write a
    log and a dump that ASE reads (symbols from the element column, forces)."""
    from ase.io import read

    variables, printed, dump = EXAMPLES[example]
    subprocess_sheet = tmp_path / "sheet-240.data"
    assert make_sheet.main(["--atoms", "240", "-o", str(subprocess_sheet)]) == 0
    variables = {"plugin": plugin, "model": model, "data": subprocess_sheet.name, **variables}
    proc = run_lmp((ROOT / "examples" / "hbn" / example).read_text(), tmp_path, variables=variables,
                   name=example)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert any(line.startswith(printed) for line in proc.stdout.splitlines()), proc.stdout[-2000:]
    assert list(tmp_path.glob("*.log.lammps")), "the example wrote no log"
    frame = read(tmp_path / dump, format="lammps-dump-text", index=-1)
    assert len(frame) == 240 and sorted(set(frame.get_chemical_symbols())) == ["B", "N"]
    columns = read_dump(tmp_path / dump)
    forces = np.stack([columns["fx"], columns["fy"], columns["fz"]], axis=1)
    np.testing.assert_allclose(frame.get_forces(), forces, atol=1e-6)


def test_areanet_lammps_plugin_command(plugin, capsys, monkeypatch, tmp_path):
    """`areanet lammps-plugin` prints the library the tests load; a clear error when unbuilt."""
    import argparse

    from areanet.training.cli import plugin as plugin_cli
    from areanet.training.errors import UserError

    parser = argparse.ArgumentParser()
    plugin_cli.register(parser.add_subparsers())
    args = parser.parse_args(["lammps-plugin"])
    assert args.func(args) == 0
    assert capsys.readouterr().out.strip() == str(plugin.resolve())

    monkeypatch.setenv("AREANET_BUILD_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(UserError, match="not built.*--build"):
        args.func(args)


# --- libtorch only on demand ------------------------------------------------------------------

TORCH_LIBRARY = "libareanet_torch.so"


def run_and_check_maps(plugin, model, workdir, pair_style="areanet", steps=10):
    """`lmp` on a 60-atom sheet for a few steps, then MAPS_CHECK through its `shell` command:
    (process result, libtorch files mapped by that lmp process)."""
    workdir.mkdir(parents=True, exist_ok=True)
    data = workdir / "sheet.data"
    make_sheet.write_lammps_data(data, structure("perturbed-60"))
    commands = (f"plugin load {plugin}\n" + setup_commands(data, model, pair_style=pair_style)
                + f"run {steps}\n" + maps_check_command(workdir))
    proc = run_lmp(commands, workdir)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc, torch_mappings(workdir)


@pytest.mark.parametrize("pair_style", ["areanet", "areanet float32"])
def test_native_path_never_maps_libtorch(plugin, any_model, tmp_path, pair_style):
    proc, mapped = run_and_check_maps(plugin, any_model, tmp_path, pair_style)
    assert mapped == [], f"the native path mapped {mapped}"
    assert "areanet: model read from its areanet_native.bin, without libtorch" in proc.stdout
    assert "areanet: evaluation: native C++" in proc.stdout


def test_torchscript_path_maps_libtorch(plugin, model, tmp_path):
    """The same check with `pair_style areanet torchscript` sees libtorch: the check works."""
    proc, mapped = run_and_check_maps(plugin, model, tmp_path, "areanet torchscript")
    names = {name.rsplit("/", 1)[-1] for name in mapped}
    assert TORCH_LIBRARY in names and "libtorch_cpu.so" in names, mapped
    assert str(plugin.parent / TORCH_LIBRARY) in mapped  # from the plugin's own directory
    assert "because of pair_style areanet torchscript" in proc.stdout
    assert "areanet: evaluation: TorchScript forward() of the model file" in proc.stdout


def dynamic_needed(library) -> list:
    readelf = shutil.which("readelf")
    if readelf is None:
        pytest.skip("readelf (binutils) not found")
    out = subprocess.run([readelf, "-d", str(library)], capture_output=True, text=True, check=True).stdout
    return [line.split("[")[1].split("]")[0] for line in out.splitlines() if "(NEEDED)" in line]


def test_plugin_does_not_link_libtorch(plugin):
    needed = dynamic_needed(plugin)
    assert not [n for n in needed if "torch" in n or "c10" in n], needed
    torch_library = plugin.parent / TORCH_LIBRARY
    assert torch_library.is_file(), "scripts/build_plugin.sh must install libareanet_torch.so next to the plugin"
    assert "libtorch_cpu.so" in dynamic_needed(torch_library)


def test_plugin_without_its_torch_library(plugin, model, tmp_path):
    """A plugin copied alone runs the native path; TorchScript then stops with dlerror's text."""
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(plugin, alone / plugin.name)
    proc, mapped = run_and_check_maps(alone / plugin.name, model, tmp_path / "native")
    assert mapped == [] and "evaluation: native C++" in proc.stdout

    data = tmp_path / "native" / "sheet.data"
    proc = run_lmp(f"plugin load {alone / plugin.name}\n"
                   + setup_commands(data, model, pair_style="areanet torchscript") + "run 0\n", tmp_path)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert (f"ERROR: Pair areanet: cannot load the TorchScript support library {alone / TORCH_LIBRARY}, "
            "needed because of pair_style areanet torchscript") in output, output[-3000:]
    assert "No such file or directory" in output  # dlerror()
    assert "Segmentation fault" not in output and "terminate called" not in output


@pytest.mark.parametrize("name", ["perturbed-60", "tilted-rotated-48", "images-2"])
def test_native_matches_torchscript(plugin, any_model, tmp_path, name):
    """pair_style areanet (native, model from areanet_native.bin) vs areanet torchscript."""
    atoms = structure(name)
    native = evaluate_lammps(plugin, any_model, atoms, tmp_path, name="native")
    torchscript = evaluate_lammps(plugin, any_model, atoms, tmp_path, name="torchscript",
                                  pair_style="areanet torchscript")
    for key in ("energy", "energies", "forces", "virial_atom", "pressure"):
        assert_close(native[key], torchscript[key], f"{key}, native vs TorchScript", rtol=1e-12)


def test_native_generic_kernels_and_odd_blocks(plugin, model, tmp_path, monkeypatch):
    """The baseline x86-64 kernels (what a CPU without AVX2+FMA runs) with blocks of 7 elements,
    whose last block and 8-row tiles leave remainders, give the TorchScript module's numbers."""
    monkeypatch.setenv("AREANET_GENERIC_KERNELS", "1")
    monkeypatch.setenv("AREANET_NATIVE_BLOCK", "7")
    data = tmp_path / "sheet.data"
    make_sheet.write_lammps_data(data, structure("perturbed-60"))
    proc = run_lmp(f"plugin load {plugin}\n" + setup_commands(data, model) + "run 0\n", tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "generic kernels" in proc.stdout and "blocks of 7 elements" in proc.stdout, proc.stdout[-3000:]
    atoms = structure("tilted-rotated-48")
    for precision, rtol in (("", 1e-12), (" float32", 1e-5)):
        native = evaluate_lammps(plugin, model, atoms, tmp_path, name="native",
                                 pair_style="areanet" + precision)
        torchscript = evaluate_lammps(plugin, model, atoms, tmp_path, name="torchscript",
                                      pair_style="areanet torchscript")
        for key in ("energy", "forces", "pressure"):
            assert_close(native[key], torchscript[key], f"{key}, native{precision} vs TorchScript", rtol=rtol)


def test_native_extra_round_trip(model):
    """areanet_native.bin: encode/decode is exact, and it holds the module's own tables."""
    import torch

    from areanet.potential.export import decode_native, encode_native, native_arrays, read_native

    module = torch.jit.load(str(model))
    arrays = native_arrays(module)
    stored = read_native(model)
    assert stored is not None and set(stored) == set(arrays)
    assert decode_native(encode_native(stored)).keys() == stored.keys()
    for name, value in arrays.items():
        if isinstance(value, str):
            assert stored[name] == value, name
        else:
            assert stored[name].dtype == value.dtype and np.array_equal(stored[name], value), name
    assert stored["species"].split("\n") == list(module.species)
    assert float(stored["cutoff"]) == module.cutoff and int(stored["format_version"]) == module.format_version
    np.testing.assert_array_equal(stored["feature_std"], module.feature_std.numpy())  # exact
    first_layer = dict(dict(module.mlps.named_children())["1"].named_children())["0"]
    np.testing.assert_array_equal(stored["mlp.1.0.weight"], first_layer.weight.detach().numpy())
    assert stored["mlp_layers"].tolist() == [sum(1 for m in mlp.children() if m.original_name == "Linear")
                                            for mlp in module.mlps.children()]
    special = {"x": np.array([np.pi, -0.0, np.inf, 5e-324, np.nextafter(1.0, 2.0)]),
               "n": np.arange(-3, 3, dtype=np.int64).reshape(2, 3), "t": "B\nN", "s": np.float64(1 / 3)}
    back = decode_native(encode_native(special))
    for name, value in special.items():
        assert np.array_equal(back[name], value) and np.asarray(back[name]).shape == np.shape(value), name
    assert np.signbit(back["x"][1])


def test_shipped_models_carry_the_native_extra():
    from areanet.potential.export import read_native

    for name in ("hbn-extep.pt", "hbn-pbe.pt"):
        path = ROOT / "models" / name
        if not path.is_file():
            pytest.skip(f"models/{name} is not there")
        assert read_native(path) is not None, f"models/{name} has no {NATIVE_FILE}: re-export it"


def test_model_without_native_extra(plugin, model, tmp_path):
    """An export from before areanet_native.bin: libtorch reads it (the log says why) and
    the native evaluator runs on its weights, with the same numbers."""
    old = resave_model(model, tmp_path / "old-export.pt", drop_native=True)
    from areanet.potential.export import read_native

    assert read_native(old) is None and read_native(model) is not None
    proc, mapped = run_and_check_maps(plugin, old, tmp_path / "run")
    assert any(name.endswith(TORCH_LIBRARY) for name in mapped), mapped
    assert (f"because model file {old} has no {NATIVE_FILE} (written before `areanet export` added it, "
            "or not an AreaNet model); export it again to run without libtorch") in proc.stdout
    assert "(weights read through libtorch)" in proc.stdout

    atoms = structure("strained-60")
    new_result = evaluate_lammps(plugin, model, atoms, tmp_path, name="new")
    old_result = evaluate_lammps(plugin, old, atoms, tmp_path, name="old")
    for key in ("energy", "energies", "forces", "virial_atom"):
        np.testing.assert_array_equal(old_result[key], new_result[key], err_msg=key)


def test_other_contract_model_runs_its_forward(plugin, tmp_path):
    """A non-AreaNet module obeying the contract has no native extra: TorchScript forward()."""
    path = save_scripted(StandInModel(), tmp_path / "standin.pt", {"model": "stand-in"})
    proc, mapped = run_and_check_maps(plugin, path, tmp_path / "run", steps=0)
    assert any(name.endswith(TORCH_LIBRARY) for name in mapped)
    assert f"has no {NATIVE_FILE}" in proc.stdout
    assert ("areanet: evaluation: TorchScript forward() of the model file (no native evaluator: the model "
            "has no `dims`: not an AreaNet module)") in proc.stdout
    atoms = structure("perturbed-60")
    lmp = evaluate_lammps(plugin, path, atoms, tmp_path)
    ref = evaluate_reference(path, lmp["atoms"])
    assert_close(lmp["forces"], ref["forces"], "stand-in forces")
