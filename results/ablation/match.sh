#!/bin/bash
# issue 14 ablation matches: each ablation run's best.pt against the A/B old run's best.pt as it stood at the
# same recorded CPU-hours (results/ablation/old_at.py), 40 games at 64 simulations each, colours alternating.
set -x
cd "$(dirname "$0")/../.." && source .venv/bin/activate
export RAY_worker_niceness=0
for n in "${@:-ungated aux gumbel16 puct16}"; do
  for name in $n; do
    [ -f "runs/abl-$name/summary.json" ] || continue
    old=$(python results/ablation/old_at.py runs/ab-old "runs/abl-$name")
    dpv arena --a "checkpoint=runs/abl-$name/best.pt,name=$name" --b "checkpoint=$old,name=old@same-cpu" \
      --budget equal-sims --sims 64 --games 40 --sensible-moves --out "runs/abl-match-$name"
  done
done
