#!/usr/bin/env bash
# Table 6.3's two thesis cells at 100 simulations with 8 sampled opening plies: the policies tuned by the 4-ply
# study (results/study-exits-four: dynamic:0.248,0.2 and threshold:0.368) against the best single exit at equal
# FLOPs (exit 1, Table 6.2), 100 games each. ~33 min on 2 cores of an AMD EPYC, nothing else running.
set -euo pipefail
cd "$(dirname "$0")/../../../.."
export RAY_worker_niceness=0
for policy in dynamic:0.248,0.2 threshold:0.368; do
  name=${policy%%:*}
  .venv/bin/dpv arena --checkpoint models/dpv-four.pt --a "exit=$policy" --b exit=1 --budget equal-flops \
    --sims 100 --games 100 --opening-moves 8 --sensible-moves --out "runs/t63-open8-$name"
done
