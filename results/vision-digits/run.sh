#!/bin/bash
# Issue 21's digits report: ce / damping / power-sqrt and power-sqrt + dynamic under each weight normalisation
# (eq. 4.19-4.21), msdnet-tiny, 10 epochs, seeds 0-2; 18 runs, then the multi-seed comparison.
# Run from anywhere; writes runs/digits/ and copies the comparison here.
set -ex
cd "$(dirname "$0")/../.." && source .venv/bin/activate
for s in 0 1 2; do
  for L in ce damping power-sqrt; do
    [ -f "runs/digits/$L-s$s/report.json" ] || \
      dpv vision-train digits --model msdnet-tiny --loss $L --epochs 10 --workers 2 --seed $s --run-dir runs/digits/$L-s$s
  done
  for n in exit sample matrix; do
    [ -f "runs/digits/dynamic-$n-s$s/report.json" ] || \
      dpv vision-train digits --model msdnet-tiny --loss power-sqrt --dynamic --weight-norm $n --epochs 10 --workers 2 \
        --seed $s --run-dir runs/digits/dynamic-$n-s$s
  done
done
dpv vision-report runs/digits/*-s? --thesis cifar100-msdnet --out runs/digits/comparison
mkdir -p results/vision-digits/comparison && cp -r runs/digits/comparison/. results/vision-digits/comparison/
