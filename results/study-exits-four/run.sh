#!/usr/bin/env bash
# Issue 17's run of thesis section 6.3.2 (Tables 6.2 and 6.3) on the shipped four-exit network.
# ~1 h 30 min on 2 cores of an Intel Xeon (AVX512-BF16 / AMX), nothing else running.
set -euo pipefail
cd "$(dirname "$0")/../.."
export RAY_worker_niceness=0
.venv/bin/dpv study exits --config study-exits --checkpoint models/dpv-four.pt \
  --games 100 --tune-games 20 --sims 100,200 --out runs/study-exits-four
