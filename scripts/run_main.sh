#!/usr/bin/env bash
# The main job on the embedded default: set up, then run LAMMPS NVE molecular dynamics of
# an h-BN monolayer (960 atoms, from 300 K) with the shipped potential and print what it
# measured (energy drift, temperature, throughput).
#
#   bash scripts/run_main.sh                  # models/hbn-pbe.pt (PBE), 2 ps
#   STEPS=20000 MODEL=models/hbn-extep.pt bash scripts/run_main.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh

MODEL="${MODEL:-}"
if [[ -z "$MODEL" ]]; then
  MODEL=models/hbn-pbe.pt
  [[ -f "$MODEL" ]] || MODEL=models/hbn-extep.pt
fi
MODEL="$(cd "$(dirname "$MODEL")" && pwd)/$(basename "$MODEL")"
STEPS="${STEPS:-2000}"
# the model's own equilibrium lattice constant: minimise E(a) of the flat sheet
LATTICE="$(.venv/bin/python - "$MODEL" <<'PY'
import sys
import numpy as np
from ase import Atoms
from scipy.optimize import minimize_scalar
from areanet.potential import AreaNetCalculator
calc = AreaNetCalculator(sys.argv[1])
def energy(a):
    b = a / np.sqrt(3)
    cell = Atoms("BNBN", positions=[[0, 0, 5], [0, b, 5], [a / 2, 1.5 * b, 5], [a / 2, 2.5 * b, 5]],
                 cell=[a, 3 * b, 10], pbc=True).repeat((2, 1, 1))
    cell.calc = calc
    return cell.get_potential_energy()
print(f"{minimize_scalar(energy, bounds=(2.4, 2.6), method='bounded', options={'xatol': 1e-5}).x:.5f}")
PY
)"
PLUGIN="$(.venv/bin/areanet lammps-plugin)"

OUT="$ROOT/out/main"
mkdir -p "$OUT"
cd "$OUT"
echo "areanet main job: NVE of a 960-atom h-BN sheet (a = $LATTICE Å), $STEPS steps of 1 fs from 300 K"
echo "  model  $MODEL"
echo "  plugin $PLUGIN"
../../.venv/bin/python ../../examples/hbn/make_sheet.py --atoms 960 --a "$LATTICE" -o sheet-960.data >/dev/null
start=$(date +%s.%N)
../../.venv/bin/lmp -in ../../examples/hbn/in.nve -screen none \
  -var model "$MODEL" -var plugin "$PLUGIN" -var data sheet-960.data -var steps "$STEPS" -var every 200
end=$(date +%s.%N)
grep -E "^NVE energy drift" nve.log.lammps
awk -v s="$start" -v e="$end" -v n=960 -v st="$STEPS" \
  'BEGIN { t = e - s; printf "wall time %.1f s: %.3g atom-steps/s (%.1f us/atom-step, set-up included)\n", t, n * st / t, 1e6 * t / (n * st) }'
echo "log: $OUT/nve.log.lammps   trajectory: $OUT/nve.dump (ASE: format lammps-dump-text)"
