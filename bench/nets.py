"""Throughput of the DPV network through the search's Evaluator: each exit, dynamic early exit
at a few thresholds, and a peer measured in the same run: the same trunk as a plain
single-head ResNet (no intermediate exits).

For each batch size it prints positions/s and, against the last exit, the time ratio next to
the FLOPs ratio: a shallow exit should cost its FLOPs share, the plain peer the same as the
last exit, and dynamic exit the FLOPs of the exits it used plus the heads it passed.
Variants are timed in interleaved rounds and the best round counts (the machines are shared).

    python bench/nets.py                 # paper preset, batches 1, 64, 256, CPU (or CUDA)
    python bench/nets.py --quick         # tiny preset, a few seconds
    python bench/nets.py --device cuda --bf16 --channels-last --compile --json out.json
"""
from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dpv.nets.config import load_net_config
from dpv.nets.evaluator import Evaluator
from dpv.nets.flops import dynamic_exit_flops, exit_flops
from dpv.nets.model import DPVNet

ROOT = Path(__file__).resolve().parents[1]


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default=str(ROOT / "configs/net-paper.yaml"))
    p.add_argument("--batches", default="1,64,256", help="comma-separated batch sizes")
    p.add_argument("--device", default="auto", help="cpu, cuda or auto (cuda when available)")
    p.add_argument("--bf16", action="store_true", help="bfloat16 autocast (did not pay on an H200)")
    p.add_argument("--channels-last", action="store_true", help="NHWC memory layout")
    p.add_argument("--compile", action="store_true", help="torch.compile stem, stages and heads")
    p.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds (best counts)")
    p.add_argument("--round-time", type=float, default=0.25, help="seconds per variant per round")
    p.add_argument("--quick", action="store_true", help="tiny preset, batches 1 and 16, 2 rounds")
    p.add_argument("--json", help="write the results here")
    args = p.parse_args()
    if args.quick:
        args.config, args.batches, args.rounds, args.round_time = (
            str(ROOT / "configs/net-tiny.yaml"), "1,16", 2, 0.05)
    return args


def time_variants(variants: dict[str, Callable[[], object]], rounds: int, round_time: float) -> dict[str, float]:
    """Best seconds per call of each variant over interleaved rounds (after one warm-up call)."""
    inner = {}
    for name, fn in variants.items():
        fn()
        start = time.perf_counter()
        fn()
        inner[name] = max(1, math.ceil(round_time / (time.perf_counter() - start)))
    best = dict.fromkeys(variants, math.inf)
    for _ in range(rounds):
        for name, fn in variants.items():
            start = time.perf_counter()
            for _ in range(inner[name]):
                fn()
            best[name] = min(best[name], (time.perf_counter() - start) / inner[name])
    return best


def median_confidence(evaluator: Evaluator, planes: np.ndarray) -> float:
    """Median exit-0 confidence (eq. 6.4: the largest prior, no legal mask) on `planes`: a
    threshold that splits the batch."""
    return float(np.median(evaluator.evaluate(planes, exit=0)[0].max(axis=1)))


def main() -> int:
    """Run the benchmark and print the table."""
    args = parse_args()
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available()
                          else "cpu" if args.device == "auto" else args.device)
    cfg = load_net_config(args.config)
    torch.manual_seed(0)
    multi, plain = DPVNet(cfg), DPVNet(replace(cfg, exits=[cfg.blocks]))
    flops, dyn_flops, plain_flops = exit_flops(multi), dynamic_exit_flops(multi), exit_flops(plain)[0]
    if args.compile:
        for model in (multi, plain):
            for module in (model.stem, *model.stages, *model.heads):
                module.compile(dynamic=True)
    options = {"bf16": args.bf16, "channels_last": args.channels_last}
    multi_eval, plain_eval = Evaluator(multi, device, **options), Evaluator(plain, device, **options)
    last = cfg.num_exits - 1

    print(f"dpv.nets bench: {Path(args.config).name} ({cfg.blocks} blocks x {cfg.channels} ch, exits "
          f"after {cfg.exits}), device {device}{' bf16' * args.bf16}{' channels_last' * args.channels_last}"
          f"{' compiled' if args.compile else ''}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    print(f"{'batch':>5} {'variant':<16} {'pos/s':>10} {'time/last':>9} {'FLOPs/last':>10}  exits used")
    results = []
    rng = np.random.default_rng(0)
    for batch in (int(b) for b in args.batches.split(",")):
        planes = (rng.random((batch, cfg.input_planes, cfg.board_size, cfg.board_size)) < 0.3).astype(np.float32)
        planes[:, -1] = 1.0
        variants: dict[str, Callable[[], object]] = {"plain resnet": lambda p=planes: plain_eval.evaluate(p, exit=0)}
        expected = {"plain resnet": (plain_flops / flops[last], "")}
        for k in range(cfg.num_exits):
            variants[f"exit {k}"] = lambda p=planes, k=k: multi_eval.evaluate(p, exit=k)
            expected[f"exit {k}"] = (flops[k] / flops[last], "")
        for label, t in (("0", 0.0), ("median", median_confidence(multi_eval, planes)), ("1.5", 1.5)):
            thresholds = np.full(batch, t, np.float32)
            counts = np.bincount(multi_eval(planes, thresholds)[2], minlength=cfg.num_exits)
            variants[f"dynamic t={label}"] = lambda p=planes, th=thresholds: multi_eval(p, th)
            expected[f"dynamic t={label}"] = (float(counts @ dyn_flops) / batch / flops[last],
                                             "/".join(map(str, counts)))
        seconds = time_variants(variants, args.rounds, args.round_time)
        for name, s in seconds.items():
            flops_ratio, used = expected[name]
            row = {"batch": batch, "variant": name, "positions_per_s": batch / s, "seconds": s,
                   "time_ratio": s / seconds[f"exit {last}"], "flops_ratio": flops_ratio, "exits_used": used}
            results.append(row)
            print(f"{batch:>5} {name:<16} {row['positions_per_s']:>10.1f} {row['time_ratio']:>9.3f} "
                  f"{flops_ratio:>10.3f}  {used}")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "config": args.config, "net": vars(cfg), "device": str(device), **options,
            "compiled": args.compile, "torch": torch.__version__, "threads": torch.get_num_threads(),
            "machine": platform.machine(), "exit_flops": flops, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
