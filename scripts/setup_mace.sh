#!/usr/bin/env bash
# A separate venv for the MACE comparison (issue: the wider domain, point 4): torch 2.13.0
# (CPU), mace-torch 0.3.16 (which pins e3nn 0.4.4) and areanet itself without dependencies,
# kept apart from .venv so that MACE's pins never move the product's. ~2 min.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[[ -x .venv-mace/bin/python ]] || python3.11 -m venv .venv-mace
find_links=()
[[ -d /opt/wheels ]] && find_links=(--find-links /opt/wheels)
.venv-mace/bin/pip install -q --disable-pip-version-check "${find_links[@]}" "torch==2.13.0" "mace-torch==0.3.16"
.venv-mace/bin/pip install -q --disable-pip-version-check --no-deps -e .
echo "setup_mace: ready: $(.venv-mace/bin/python -c 'import mace, e3nn; print("mace-torch", mace.__version__, "e3nn", e3nn.__version__)')"
