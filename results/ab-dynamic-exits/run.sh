#!/bin/bash
# Issue 14, last item: does self-play with budget-adaptive exits learn faster per CPU-hour than deepest-exit
# self-play at the same FLOPs per move? Two runs from random weights, 0.3 h of wall time each, back to back:
# dynamic.yaml (configs/gumbel16.yaml with search.exit dynamic:0.248,0.2) and configs/gumbel16.yaml itself (the
# deepest exit; rerun here as the peer on the same code). Run from the checkout with nothing else CPU-heavy.
# Stage matches: each run's best network at equal CPU-hours, head to head, 100 games, 8 opening plies: at 64
# deepest-exit simulations each (what the networks learned), then both with the dynamic policy at 64 simulations'
# FLOPs (what dynamic-exit play gets from each).
# Stage rate: dpv rate over both runs, the deep run's initial network pinned at 0.
# Stage exits: the exit shares and evaluations per position over each run (exits.md / .json / .png).
# Usage: bash results/ab-dynamic-exits/run.sh [runs] [matches] [rate] [exits]   (default: all, in this order)
set -ex
cd "$(dirname "$0")/../.." && source .venv/bin/activate
export RAY_worker_niceness=0   # Ray starts its workers at niceness 15; measured runs run them at 0
here=results/ab-dynamic-exits hours=${HOURS:-0.3} policy="dynamic:0.248,0.2"
stamp() { echo "== $(date -u +%FT%TZ) $1; $(uptime)" >> "$here/load.txt"; }
match() {  # match NAME BUDGET EXIT: dynamic's best against deep's at equal CPU-hours, 100 games at 64 simulations
  local a b
  a=$(python results/ablation/old_at.py runs/abd-dynamic runs/abd-deep)
  b=$(python results/ablation/old_at.py runs/abd-deep runs/abd-dynamic)
  stamp "match $1: $a vs $b, --budget $2, exit $3"
  dpv arena --a "checkpoint=$a,name=dynamic,exit=$3" --b "checkpoint=$b,name=deep,exit=$3" --budget "$2" --sims 64 \
      --games 100 --opening-moves 8 --sensible-moves --out "runs/abd-match-$1"
  mkdir -p "$here/matches" && cp "runs/abd-match-$1/match.json" "$here/matches/$1.json"
}
for stage in ${@:-runs matches rate exits}; do
  case $stage in
    runs)
      stamp "dynamic run"
      dpv launch selfplay --config "$here/dynamic.yaml" --run-dir runs/abd-dynamic --max-hours "$hours"
      stamp "deep run"
      dpv launch selfplay --config gumbel16 --run-dir runs/abd-deep --max-hours "$hours"
      stamp "runs done"
      for run in dynamic deep; do
        mkdir -p "$here/run-$run" && cp runs/abd-$run/{config.yaml,metrics.jsonl,summary.json,gating.png} "$here/run-$run/"
      done ;;
    matches)
      match deepest equal-sims -1
      match dynamic equal-flops "$policy" ;;
    rate)
      stamp "rate"
      dpv rate runs/abd-deep runs/abd-dynamic --anchor runs/abd-deep/checkpoints/initial.pt --games 10 --sims 64 \
          --checkpoints 4 --opening-moves 8 --sensible-moves --out runs/abd-rate
      mkdir -p "$here/rate" && cp runs/abd-rate/rating.{json,md,png} "$here/rate/" ;;
    exits)
      python "$here/exit_shares.py" runs/abd-dynamic runs/abd-deep --out "$here/exits" ;;
    *) echo "run.sh: unknown stage '$stage' (runs, matches, rate, exits)" >&2; exit 2 ;;
  esac
done
stamp "done $*"
