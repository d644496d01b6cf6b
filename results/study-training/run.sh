#!/bin/bash
# Issue 16's laptop-scale training study (thesis 6.3.1, Figures 6.6/6.7), run from the checkout with nothing
# else CPU-heavy beside it: bash results/study-training/run.sh [OUT]   (OUT: runs/study-training-local)
# The study is resumable: rerunning reads finished runs and matches back. The multi-step variant trains
# first (with the baseline, which every variant needs), the others after; then every point is played.
set -ex
cd "$(dirname "$0")/../.." && source .venv/bin/activate
export RAY_worker_niceness=0   # Ray starts its workers at niceness 15; measured runs run them at 0
out=${1:-runs/study-training-local}
log=results/study-training/load.txt
echo "== $(date -u +%FT%TZ) study start, main at $(git rev-parse --short HEAD); $(uptime)" >> $log
dpv study training --config study-training-local --out "$out" --variants multi-step --train-only 2>&1
echo "== $(date -u +%FT%TZ) multi-step and baseline trained; $(uptime)" >> $log
dpv study training --config study-training-local --out "$out" 2>&1
echo "== $(date -u +%FT%TZ) study done; $(uptime)" >> $log
