#!/bin/bash
# Rate a lineage run's best.pt (issue 15): against its parent at equal simulations, and against GNU Go 3.8
# level 1 (--chinese-rules --capture-all-dead, komi 7.5: played out, area scoring exact) at 200 and 800 simulations,
# 40 games each, colours alternating, 4 opening plies sampled by visit count. Nothing else CPU-heavy beside it.
# Usage: bash results/lineage/rate.sh RUN PARENT [SIMS...]   e.g. bash results/lineage/rate.sh run1 runs/ab-old/best.pt 200 800
set -ex
cd "$(dirname "$0")/../.." && source .venv/bin/activate
export RAY_worker_niceness=0
name=$1 parent=$2; shift 2
out=results/lineage/$name
mkdir -p "$out"
cp "runs/lineage-$name/best.pt" "runs/lineage-$name-rated.pt"   # a copy: the file rated, whatever the run writes next
net=runs/lineage-$name-rated.pt
stamp() { echo "== $(date -u +%FT%TZ) rate $name: $1; $(uptime)" >> results/lineage/load.txt; }
stamp "vs parent"
dpv arena --a "checkpoint=$net,name=$name" --b "checkpoint=$parent,name=parent" --budget equal-sims --sims 64 \
    --games 40 --sensible-moves --out "runs/lineage-$name-vs-parent"
cp "runs/lineage-$name-vs-parent/match.json" "$out/vs-parent.json"
for sims in "${@:-200 800}"; do
  stamp "gnugo level 1 at $sims sims"
  dpv arena --checkpoint "$net" --opponent "/usr/games/gnugo --mode gtp --level 1 --chinese-rules --capture-all-dead" \
      --sims "$sims" --games 40 --sensible-moves --out "runs/lineage-$name-gnugo-l1-$sims"
  cp "runs/lineage-$name-gnugo-l1-$sims/match.json" "$out/gnugo-l1-$sims.json"
done
stamp "done"
