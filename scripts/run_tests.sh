#!/usr/bin/env bash
# The test suite, on a fresh clone or an existing set-up: scripts/setup.sh, then pytest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh
exec .venv/bin/python -m pytest -q "$@"
