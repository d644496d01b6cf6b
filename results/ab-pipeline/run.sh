#!/bin/bash
# issue 14 A/B (equal wall time) + ratings; run from /work/main, nothing else CPU-heavy beside it.
set -x
cd "$(dirname "$0")/../.." && source .venv/bin/activate
# Ray starts its workers at niceness 15; the runs here were reniced to 0 by a loop beside them
# (renice -n 0 on the script's own ray:: processes every 3 s); this export is the same, built in.
export RAY_worker_niceness=0
GNUGO="/usr/games/gnugo --mode gtp --level 1 --chinese-rules --capture-all-dead"
stamp() { echo "== $(date -u +%FT%TZ) $1; $(uptime)" >> runs/ab-load.txt; }
mkdir -p runs
stamp "old run"
dpv launch selfplay --config results/ab-pipeline/old.yaml --run-dir runs/ab-old --max-hours 0.4
stamp "new run"
dpv launch selfplay --config results/ab-pipeline/new.yaml --run-dir runs/ab-new --max-hours 0.4
stamp "head-to-head"
dpv arena --a checkpoint=runs/ab-new/best.pt,name=new --b checkpoint=runs/ab-old/best.pt,name=old \
  --budget equal-sims --sims 64 --games 100 --sensible-moves --out runs/ab-match
stamp "gnugo l1"
dpv arena --checkpoint runs/ab-new/best.pt --opponent "$GNUGO" --sims 200 --games 40 --sensible-moves \
  --out runs/gnugo-l1-200-new
stamp "rate"
dpv rate runs/ab-old runs/ab-new --anchor runs/ab-old/checkpoints/initial.pt --games 10 --sims 64 \
  --checkpoints 4 --sensible-moves --out runs/rate-ab
stamp "done"
# the shipped network: ab-new's step 1300 (the best rated net-four checkpoint)
cp runs/ab-new/checkpoints/step-00001300.pt models/dpv-four.pt
dpv arena --checkpoint models/dpv-four.pt --opponent "$GNUGO" --sims 200 --games 40 --sensible-moves \
  --out runs/gnugo-l1-200-ship
