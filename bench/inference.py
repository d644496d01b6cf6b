"""InferenceServer overhead, or the inference backends side by side.

Default: evaluations/s through the Ray server (bit-packed planes, queue, micro-batching, thread
hop, slicing, two Ray transfers) against the bare network forward (dpv.nets.Evaluator on float32
planes) at the same batch size, measured in the same run.

`--backends all` (or a comma-separated list): evaluations/s of each inference backend
(dpv.nets.backends) beside torch fp32 in the same run, no Ray: every net preset of `--nets`,
each exit and the dynamic exit (threshold: the median exit-0 confidence), each batch size,
interleaved rounds, the best round counts; with one thread, per CPU second of the calling thread
(both torch and ONNX Runtime compute on it then), which other processes' load hardly changes,
else per wall second; `--gate` also runs each backend's correctness gate.
Positions come from random-policy games, or from the stored games of a finished run
(`--run-dir`, whose best.pt is then the network).

Clients keep `--clients` requests of `batch` rows in flight (one request per server batch when
batch = max_batch), so the server is never starved; the bare forward runs in this process
with the same number of torch threads. Both sides are timed in interleaved rounds and the best
round counts (the machines are shared). Floor (issue 5): server >= 80% of bare at batch 256.

    python bench/inference.py                                  # tiny net, CPU, batches 64 and 256
    python bench/inference.py --net configs/net-paper.yaml --device cuda --batches 256,512,1024
    python bench/inference.py --backends all --batches 16,64,256 --gate      # tiny net, each backend
    python bench/inference.py --backends all --nets net-paper --batches 16,64 --rounds 1
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--net", default=str(ROOT / "configs/net-tiny.yaml"), help="network config")
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    p.add_argument("--batches", default="64,256", help="comma-separated batch sizes")
    p.add_argument("--threads", type=int, default=1, help="torch threads of the server and the bare forward")
    p.add_argument("--clients", type=int, default=2, help="requests kept in flight")
    p.add_argument("--exit", type=int, default=-1, help="the exit evaluated (-1: deepest)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--round-time", type=float, default=2.0, help="seconds per side per round")
    p.add_argument("--backends", help="'all' or names: compare the inference backends instead (no Ray)")
    p.add_argument("--nets", default="net-tiny", help="with --backends: comma-separated net presets or paths")
    p.add_argument("--gate", action="store_true", help="with --backends: run each backend's correctness gate too")
    p.add_argument("--run-dir", help="with --backends: a finished run: its best.pt and replays of its stored games")
    p.add_argument("--wall", action="store_true", help="with --backends and 1 thread: wall-clock seconds, not the "
                                                       "thread's CPU seconds")
    return p.parse_args()


def random_positions(batch: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """Planes of `batch` positions after random legal moves (real binary features)."""
    from go_engine import Board

    planes = np.zeros((batch, 17, size, size), np.float32)
    for i in range(batch):
        board = Board(size)
        for _ in range(int(rng.integers(0, 40))):
            legal = np.flatnonzero(board.legal_actions()[:-1])
            if len(legal) == 0:
                break
            board.play(int(rng.choice(legal)))
        board.write_planes(planes[i])
    return planes


def bare_rate(bare: Any, planes: np.ndarray, thresholds: np.ndarray, fixed: np.ndarray, seconds: float) -> float:
    """Evaluations/s of the bare evaluator called back to back for `seconds`."""
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        bare(planes, thresholds, fixed_exit=fixed)
        calls += 1
    return len(planes) * calls / (time.perf_counter() - start)


def server_rate(server: Any, planes: np.ndarray, thresholds: np.ndarray, fixed: np.ndarray, clients: int,
                seconds: float) -> float:
    """Evaluations/s of the server actor with `clients` requests kept in flight for `seconds`."""
    import ray

    from dpv.selfplay.packing import pack_planes

    calls, start = 0, time.perf_counter()
    pending = [server.evaluate.remote(pack_planes(planes), thresholds, None, fixed) for _ in range(clients)]
    while time.perf_counter() - start < seconds:
        ready, pending = ray.wait(pending, num_returns=1)
        ray.get(ready)
        calls += 1
        pending.append(server.evaluate.remote(pack_planes(planes), thresholds, None, fixed))
    ray.get(pending)
    calls += len(pending)
    return len(planes) * calls / (time.perf_counter() - start)


def run_positions(run_dir: Path, count: int) -> list:
    """Positions replayed from the stored games of the finished run in `run_dir` (its embedded store)."""
    from dpv.selfplay.config import load_selfplay_config
    from dpv.selfplay.inference import stored_boards
    from dpv.selfplay.rundir import RunDir
    from dpv.selfplay.store import EmbeddedRedis, GameStore

    run = RunDir(run_dir)
    embedded = EmbeddedRedis(run.redis)
    try:
        return stored_boards(GameStore(embedded.url, load_selfplay_config(run.config).store.prefix))[:count]
    finally:
        embedded.close(save=False)


def compare_backends(args: argparse.Namespace) -> int:
    """Print a Markdown table: evaluations/s of each backend (and its ratio to torch fp32) per
    net, exit and batch size; with --gate, each backend's gate line."""
    import torch

    from dpv.nets.backends import BACKEND_NAMES
    from dpv.nets.backends.choice import REFERENCE, build_backend, measure
    from dpv.nets.backends.gate import board_inputs, bounds_for, gate
    from dpv.nets.backends.positions import random_game_boards
    from dpv.nets.checkpoint import load_checkpoint
    from dpv.nets.config import load_net_config
    from dpv.nets.evaluator import Evaluator
    from dpv.nets.model import DPVNet

    torch.set_num_threads(args.threads)
    device = torch.device("cpu" if args.device == "auto" else args.device)
    names = list(BACKEND_NAMES) if args.backends == "all" else [REFERENCE, *args.backends.split(",")]
    names = list(dict.fromkeys(names))
    batches = [int(b) for b in args.batches.split(",")]
    nets = [f"{args.run_dir}/best.pt"] if args.run_dir else args.nets.split(",")
    boards = (run_positions(Path(args.run_dir), 4096) if args.run_dir else random_game_boards(4096))
    source = f"replays of {args.run_dir}'s games" if args.run_dir else "random-policy games"
    planes, legal = board_inputs(boards)
    cpu = args.threads == 1 and not args.wall
    clock = time.thread_time if cpu else time.perf_counter
    print(f"bench/inference.py --backends: {device}, {args.threads} torch/ORT thread(s), {args.rounds} rounds of "
          f"{args.round_time:g} s, best round; evaluations per {'CPU second of the thread' if cpu else 'second'}; "
          f"positions: {source}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    gates = []
    for net in nets:
        torch.manual_seed(0)
        model = load_checkpoint(net).model if net.endswith(".pt") else DPVNet(load_net_config(net))
        evaluators = {}
        for name in names:
            backend = build_backend(name, model, device, args.threads)
            if backend is not None:
                evaluators[name] = Evaluator(model, backend=backend)
        reference = evaluators[REFERENCE]
        conf = reference.evaluate(planes[:1024], exit=0)[0].max(1)
        print(f"\n{Path(net).stem}: {model.config.blocks} blocks x {model.config.channels} channels, "
              f"exits after {model.config.exits}\n")
        print("| exit | batch | " + " | ".join(evaluators) + " |")
        print("|---|---:|" + "---:|" * len(evaluators))
        for k in [*range(model.num_exits), -1]:
            rates = measure(evaluators, planes[:256], batches, k, float(np.median(conf)), args.rounds,
                            args.round_time, clock)
            for b in batches:
                cells = [f"{r[b]:,.0f}" + ("" if n == REFERENCE else f" ({r[b] / rates[REFERENCE][b]:.2f}x)")
                         for n, r in rates.items()]
                print(f"| {'dynamic' if k < 0 else k} | {b} | " + " | ".join(cells) + " |")
        if args.gate:
            gates += [gate(reference, e, boards, source, bounds_for(n)).summary() for n, e in evaluators.items()
                      if n != REFERENCE]
    for line in gates:
        print(line)
    return 0


def main() -> int:
    """Print evaluations/s of both paths and their ratio per batch size (or compare the backends)."""
    args = parse_args()
    if args.backends:
        return compare_backends(args)
    import ray
    import torch

    from dpv.nets.checkpoint import save_checkpoint
    from dpv.nets.config import load_net_config
    from dpv.nets.evaluator import Evaluator
    from dpv.nets.model import DPVNet
    from dpv.selfplay.inference import InferenceServer, pick_device

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = pick_device(args.device)
    cfg = load_net_config(args.net)
    batches = [int(b) for b in args.batches.split(",")]
    ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
    tmp = tempfile.TemporaryDirectory()
    ckpt = Path(tmp.name) / "net.pt"
    model = DPVNet(cfg)
    save_checkpoint(ckpt, model)
    bare = Evaluator(model, device, channels_last=device == "cuda")
    k = args.exit % bare.num_exits
    print(f"bench/inference.py: {args.net}, exit {k}, {device}, {args.threads} torch thread(s), "
          f"{args.clients} requests in flight")
    print(f"{'batch':>6} {'bare evals/s':>13} {'server evals/s':>15} {'server/bare':>12}")
    rng = np.random.default_rng(0)
    ok = True
    for batch in batches:
        planes = random_positions(batch, cfg.board_size, rng)
        server = ray.remote(InferenceServer).options(num_gpus=1 if device == "cuda" else 0).remote(
            str(ckpt), device, batch, 0.0, args.threads)
        thresholds = np.zeros(batch, np.float32)
        fixed = np.full(batch, k, np.int32)
        rounds = [(bare_rate(bare, planes, thresholds, fixed, args.round_time),
                   server_rate(server, planes, thresholds, fixed, args.clients, args.round_time))
                  for _ in range(1 + args.rounds)][1:]  # the first round warms up
        b, s = max(r[0] for r in rounds), max(r[1] for r in rounds)
        print(f"{batch:>6} {b:>13,.0f} {s:>15,.0f} {s / b:>11.1%}")
        if batch == 256:
            ok = s >= 0.8 * b
        stats = ray.get(server.stats.remote())
        assert abs(stats.mean_batch - batch) < 1e-6, stats  # one request per server batch
        ray.kill(server)
    ray.shutdown()
    print("floor (server >= 80% of bare at batch 256):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
