#!/bin/bash
# Issue 14 A/B, round 2: the old pipeline (../ab-pipeline/old.yaml: PUCT 32 simulations, gated 20 games at 55 %)
# against the lineage's pipeline (configs/gumbel16.yaml: Gumbel root at 16 simulations, ownership + score heads,
# 4 training samples per stored position, ungated), 0.3 h of wall time each, back to back, from random weights.
# Run from the checkout with nothing else CPU-heavy beside it.
# Stage root8: Gumbel against PUCT self-play at 8 simulations per move (gumbel8.yaml, puct8.yaml: gumbel16.yaml
# with 8 simulations), 0.2 h each, and their best networks head to head.
# Stage gnugo: both runs' final best.pt against GNU Go 3.8 level 1 at 200 simulations, 40 games each.
# Usage: bash results/ab-gumbel16/run.sh [runs] [matches] [rate] [root8] [gnugo]   (default: all, in this order)
set -ex
cd "$(dirname "$0")/../.." && source .venv/bin/activate
export RAY_worker_niceness=0   # Ray starts its workers at niceness 15; measured runs run them at 0
here=results/ab-gumbel16 hours=${HOURS:-0.3}
stamp() { echo "== $(date -u +%FT%TZ) $1; $(uptime)" >> "$here/load.txt"; }
match() {  # match NAME A_CHECKPOINT B_CHECKPOINT [A_NAME B_NAME]: 100 games at 64 simulations each, 8 opening plies
  stamp "match $1: $2 vs $3"
  dpv arena --a "checkpoint=$2,name=${4:-new}" --b "checkpoint=$3,name=${5:-old}" --budget equal-sims --sims 64 --games 100 \
      --opening-moves 8 --sensible-moves --out "runs/ab2-match-$1"
  mkdir -p "$here/matches" && cp "runs/ab2-match-$1/match.json" "$here/matches/$1.json"
}
for stage in "${@:-runs matches rate root8 gnugo}"; do
  case $stage in
    runs)
      stamp "old run"
      dpv launch selfplay --config results/ab-pipeline/old.yaml --run-dir runs/ab2-old --max-hours "$hours"
      stamp "new run"
      dpv launch selfplay --config gumbel16 --run-dir runs/ab2-new --max-hours "$hours"
      stamp "runs done" ;;
    matches)
      # at equal CPU-hours: each run's best.pt as it stood when its recorded CPU time reached the other's end
      match final "$(python results/ablation/old_at.py runs/ab2-new runs/ab2-old)" \
          "$(python results/ablation/old_at.py runs/ab2-old runs/ab2-new)"
      # in half the CPU-hours: new's best at half of old's final CPU time against old's final best
      match half "$(python results/ablation/old_at.py runs/ab2-new runs/ab2-old 0.5)" runs/ab2-old/best.pt
      # a replicate of new: the training study's weighted run (the same config) at old's final CPU time
      match replicate "$(python results/ablation/old_at.py runs/study-training-local/runs/weighted runs/ab2-old)" \
          runs/ab2-old/best.pt ;;
    rate)
      stamp "rate"
      dpv rate runs/ab2-old runs/ab2-new --anchor runs/ab2-old/checkpoints/initial.pt --games 10 --sims 64 \
          --checkpoints 4 --opening-moves 8 --sensible-moves --out runs/ab2-rate
      mkdir -p "$here/rate" && cp runs/ab2-rate/rating.{json,md,png} "$here/rate/" ;;
    root8)
      for root in gumbel puct; do
        stamp "${root}8 run"
        dpv launch selfplay --config "$here/${root}8.yaml" --run-dir "runs/ab2-${root}8" --max-hours "${HOURS8:-0.2}"
      done
      # at equal CPU-hours: each run's best as it stood when its CPU time reached the other's end
      match root8 "$(python results/ablation/old_at.py runs/ab2-gumbel8 runs/ab2-puct8)" \
          "$(python results/ablation/old_at.py runs/ab2-puct8 runs/ab2-gumbel8)" gumbel8 puct8 ;;
    gnugo)
      for run in old new; do
        stamp "gnugo level 1: $run"
        dpv arena --checkpoint "runs/ab2-$run/best.pt" --sims 200 --games 40 --sensible-moves --out "runs/ab2-gnugo-$run" \
            --opponent "/usr/games/gnugo --mode gtp --level 1 --chinese-rules --capture-all-dead"
        cp "runs/ab2-gnugo-$run/match.json" "$here/matches/gnugo-l1-200-$run.json"
      done ;;
    *) echo "run.sh: unknown stage '$stage' (runs, matches, rate, root8, gnugo)" >&2; exit 2 ;;
  esac
done
stamp "done $*"
