#!/bin/bash
# issue 14 ablation: each technique of the A/B's new pipeline alone on top of the old pipeline, 0.2 h of
# wall time each, back to back from random weights; run from the checkout with nothing else CPU-heavy beside it.
# Usage: bash results/ablation/run.sh [NAME...]   (default: ungated aux gumbel16 puct16, in this order; cap.yaml is run by naming it)
set -x
cd "$(dirname "$0")/../.." && source .venv/bin/activate
export RAY_worker_niceness=0   # Ray starts its workers at niceness 15; measured runs run them at 0
stamp() { echo "== $(date -u +%FT%TZ) $1; $(uptime)" >> runs/ablation-load.txt; }
mkdir -p runs
for name in "${@:-ungated aux gumbel16 puct16}"; do
  for n in $name; do
    stamp "$n run"
    dpv launch selfplay --config "results/ablation/$n.yaml" --run-dir "runs/abl-$n" --max-hours 0.2
  done
done
stamp "runs done"
