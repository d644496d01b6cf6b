#!/bin/bash
# The shipped network's strength table (issue 15): against GNU Go 3.8 (--chinese-rules --capture-all-dead, komi 7.5:
# played out, area scoring exact) at LEVELS and SIMS, and each shallow exit of EXITS against GNU Go level 1 at
# EXIT_SIMS simulations at equal simulations (every exit runs that many evaluations, so the exits' networks are
# compared, not their FLOPs). 40 games each (GAMES=N), colours alternating, 4 opening plies sampled by visit count.
# Nothing else CPU-heavy beside it. Each match's match.json is copied to OUT; a match whose JSON is already there
# is skipped, so the script resumes.
# Usage: bash results/lineage/strength.sh NET OUT   e.g. bash results/lineage/strength.sh models/dpv-four.pt results/lineage/run2-step7900
#   env: LEVELS="5 10" SIMS="800 200" EXITS="0 1 2" EXIT_SIMS=800 GAMES=40 GAMES_PER_TASK=10
#        ORDER="levels exits" (what runs, in order)
set -ex
cd "$(dirname "$0")/../.." && source .venv/bin/activate
export RAY_worker_niceness=0
net=$1 out=$2 games=${GAMES:-40} per_task=${GAMES_PER_TASK:-10}  # 40 games: 4 tasks, two rounds on 2 workers
mkdir -p "$out"
gnugo() { echo "/usr/games/gnugo --mode gtp --level $1 --chinese-rules --capture-all-dead"; }
stamp() { echo "== $(date -u +%FT%TZ) strength $net: $1; $(uptime)" >> results/lineage/load.txt; }
match() {  # match NAME ARGS...: one arena run into runs/strength-NAME, its match.json copied to OUT/NAME.json
  local name=$1; shift
  [ -f "$out/$name.json" ] && return 0
  stamp "$name"
  dpv arena --checkpoint "$net" --games "$games" --games-per-task "$per_task" --sensible-moves \
      --out "runs/strength-$name" "$@"
  cp "runs/strength-$name/match.json" "$out/$name.json"
}
for part in ${ORDER:-levels exits}; do
  case $part in
    levels)
      for sims in ${SIMS:-800 200}; do for level in ${LEVELS:-5 10}; do
        match "gnugo-l$level-$sims" --opponent "$(gnugo "$level")" --sims "$sims"
      done; done ;;
    exits)
      for k in ${EXITS:-0 1 2}; do
        match "exit$k-gnugo-l1-${EXIT_SIMS:-800}-equal-sims" --opponent "$(gnugo 1)" --budget equal-sims \
            --a "sims=${EXIT_SIMS:-800},exit=$k"
      done ;;
  esac
done
stamp "done"
