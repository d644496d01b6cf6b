#!/bin/bash
# Rate a lineage run's best.pt (issue 15): against a parent network at equal simulations (64 per move), and against
# GNU Go 3.8 level 1 (--chinese-rules --capture-all-dead, komi 7.5: played out, area scoring exact) at each of SIMS,
# 40 games each, colours alternating, 4 opening plies sampled by visit count. Nothing else CPU-heavy beside it.
# Usage: bash results/lineage/rate.sh RUN PARENT [SIMS...]   e.g. bash results/lineage/rate.sh run1 runs/ab-old/best.pt 200 800
# Writes results/lineage/RUN-stepN/ (N: the learner step of the best.pt rated; a copy of it is kept as
# runs/lineage-RUN-stepN.pt, whatever the run writes next) with vs-parent.json and gnugo-l1-SIMS.json.
set -ex
cd "$(dirname "$0")/../.." && source .venv/bin/activate
export RAY_worker_niceness=0
name=$1 parent=$2 games=${GAMES:-40}; shift 2   # GAMES=N: N games against GNU Go instead of 40
step=$(python -c "from dpv.nets.checkpoint import load_checkpoint; print(load_checkpoint('runs/lineage-$name/best.pt').step)")
label=$name-step$step
out=results/lineage/$label net=runs/lineage-$label.pt
mkdir -p "$out"
cp "runs/lineage-$name/best.pt" "$net"
stamp() { echo "== $(date -u +%FT%TZ) rate $label: $1; $(uptime)" >> results/lineage/load.txt; }
stamp "vs $parent"
dpv arena --a "checkpoint=$net,name=$label" --b "checkpoint=$parent,name=parent" --budget equal-sims --sims 64 \
    --games 40 --sensible-moves --out "runs/lineage-$label-vs-parent"
cp "runs/lineage-$label-vs-parent/match.json" "$out/vs-parent.json"
for sims in "${@:-200 800}"; do
  stamp "gnugo level 1 at $sims sims"
  dpv arena --checkpoint "$net" --opponent "/usr/games/gnugo --mode gtp --level 1 --chinese-rules --capture-all-dead" \
      --sims "$sims" --games "$games" --sensible-moves --out "runs/lineage-$label-gnugo-l1-$sims"
  cp "runs/lineage-$label-gnugo-l1-$sims/match.json" "$out/gnugo-l1-$sims.json"
done
stamp "done"
