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
# Stage replicate: both runs again from other random weights (the configs with seed: 1), then both matches on them
# (replicate/: the configs, the runs' records, the matches).
# Usage: bash results/ab-dynamic-exits/run.sh [runs] [matches] [rate] [exits] [replicate]
#        (default: runs matches rate exits, in this order)
set -ex
cd "$(dirname "$0")/../.." && source .venv/bin/activate
export RAY_worker_niceness=0   # Ray starts its workers at niceness 15; measured runs run them at 0
here=results/ab-dynamic-exits hours=${HOURS:-0.3} policy="dynamic:0.248,0.2"
stamp() { echo "== $(date -u +%FT%TZ) $1; $(uptime)" >> "$here/load.txt"; }
suffix="" out="$here"   # the replicate stage sets these: its runs are runs/abd-*$suffix, its records under $out
match() {  # match NAME BUDGET EXIT: dynamic's best against deep's at equal CPU-hours, 100 games at 64 simulations
  local a b
  a=$(python results/ablation/old_at.py "runs/abd-dynamic$suffix" "runs/abd-deep$suffix")
  b=$(python results/ablation/old_at.py "runs/abd-deep$suffix" "runs/abd-dynamic$suffix")
  stamp "match $1$suffix: $a vs $b, --budget $2, exit $3"
  dpv arena --a "checkpoint=$a,name=dynamic,exit=$3" --b "checkpoint=$b,name=deep,exit=$3" --budget "$2" --sims 64 \
      --games 100 --opening-moves 8 --sensible-moves --out "runs/abd-match-$1$suffix"
  mkdir -p "$out/matches" && cp "runs/abd-match-$1$suffix/match.json" "$out/matches/$1.json"
}
selfplay() {  # selfplay CONFIG NAME: one run of $hours from random weights, its records copied under $out
  stamp "$2$suffix run"
  dpv launch selfplay --config "$1" --run-dir "runs/abd-$2$suffix" --max-hours "$hours"
  mkdir -p "$out/run-$2" && cp "runs/abd-$2$suffix"/{config.yaml,metrics.jsonl,summary.json,gating.png} "$out/run-$2/"
}
for stage in ${@:-runs matches rate exits}; do
  case $stage in
    runs)
      selfplay "$here/dynamic.yaml" dynamic
      selfplay configs/gumbel16.yaml deep ;;
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
    replicate)
      suffix=-s1 out="$here/replicate"
      mkdir -p "$out"
      sed 's/^seed: 0$/seed: 1/' "$here/dynamic.yaml" > "$out/dynamic.yaml"
      sed 's/^seed: 0$/seed: 1/' configs/gumbel16.yaml > "$out/deep.yaml"
      grep -q '^seed: 1$' "$out/dynamic.yaml" && grep -q '^seed: 1$' "$out/deep.yaml"
      selfplay "$out/dynamic.yaml" dynamic
      selfplay "$out/deep.yaml" deep
      match deepest equal-sims -1
      match dynamic equal-flops "$policy"
      python "$here/exit_shares.py" runs/abd-dynamic-s1 runs/abd-deep-s1 --out "$out/exits"
      suffix="" out="$here" ;;
    *) echo "run.sh: unknown stage '$stage' (runs, matches, rate, exits, replicate)" >&2; exit 2 ;;
  esac
done
stamp "done $*"
