#!/bin/bash
# The dpv-four lineage's training runs (issues 14/15), each from the previous run's best.pt; run from the
# checkout with nothing else CPU-heavy beside it. Usage: bash results/lineage/run.sh RUN PARENT HOURS
#   e.g. bash results/lineage/run.sh run1 runs/ab-old/best.pt 1.3
set -ex
cd "$(dirname "$0")/../.." && source .venv/bin/activate
export RAY_worker_niceness=0   # Ray starts its workers at niceness 15; measured runs run them at 0
name=$1 parent=$2 hours=$3
echo "== $(date -u +%FT%TZ) lineage $name from $parent for $hours h; $(uptime)" >> results/lineage/load.txt
dpv launch selfplay --config "results/lineage/$name.yaml" --run-dir "runs/lineage-$name" --init-from "$parent" \
    --max-hours "$hours"
echo "== $(date -u +%FT%TZ) lineage $name done; $(uptime)" >> results/lineage/load.txt
# The same session may continue the run (its replay window and learner step) with:
#   RAY_worker_niceness=0 dpv launch selfplay --config results/lineage/run1.yaml --run-dir runs/lineage-run1 --resume --max-hours H
# A later session starts on a fresh machine without runs/: it continues the lineage from models/dpv-four.pt as a new run.
