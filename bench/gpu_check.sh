#!/usr/bin/env bash
# The GPU checks, as one script for a lent GPU machine (python3 there holds torch, numpy, Cython,
# pytest): build go_engine, run the CUDA tests of the network and the search, then the network
# benchmark and the search-with-network benchmark. Results go to $OUT (default bench/results).
set -uo pipefail
OUT=${OUT:-bench/results}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee "$OUT/gpu.txt"
python3 setup.py build_ext --inplace -j 8 > "$OUT/build.log" 2>&1 || { tail -20 "$OUT/build.log"; exit 1; }
python3 -m pytest -q -p no:cacheprovider tests/nets/test_nets_evaluator.py tests/go_engine/test_search_network.py tests/nets/test_nets_model.py 2>&1 | tail -5 | tee "$OUT/tests.txt"
timeout 200 python3 bench/search_network.py --net configs/net-paper.yaml --games 256 --sims 100 --moves 3 \
  --json "$OUT/search_network.json" 2>&1 | tee "$OUT/search_network.txt"
timeout 150 python3 bench/nets.py --device cuda --channels-last --json "$OUT/nets.json" 2>&1 | tee "$OUT/nets.txt"
