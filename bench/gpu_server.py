"""The paper network's InferenceServer on one GPU, without Ray: evaluations/s through the
server's batching path against the bare forward at the same batch, and GPU utilisation.

For a machine with torch and CUDA but no Ray: the InferenceServer class (dpv.selfplay.inference)
runs in this process, its asyncio batching loop fed by client coroutines that keep
2 x batch / --request-rows requests of --request-rows bit-packed positions (with a packed legal
mask, as the workers send them) in flight, so a full batch is always queued while one runs.
The server path is the workers' view: unpack planes and masks, concatenate, forward, split.
The bare path calls dpv.nets.Evaluator on float32 planes (host to device and back included).
Both run the deepest exit (self-play's), in interleaved rounds, the best round counting.
GPU utilisation is sampled while each path runs (torch.cuda.utilization, else nvidia-smi).

    python bench/gpu_server.py --out bench/results/gpu_server.json     # selfplay-9x9 net, 256/512/1024
    python bench/gpu_server.py --quick --out /tmp/gpu_server.json       # tiny net, CPU, seconds

Prints one Markdown table; finishes in under 3 minutes with the defaults.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import platform
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default=str(ROOT / "configs/selfplay-9x9.yaml"), help="config with the network")
    p.add_argument("--batches", default="256,512,1024", help="comma-separated server batch sizes")
    p.add_argument("--device", default="auto", help="cuda, cpu or auto")
    p.add_argument("--threads", type=int, default=4, help="torch threads (the paper preset's server.threads)")
    p.add_argument("--request-rows", type=int, default=128, help="positions per request (a worker pipeline's leaves)")
    p.add_argument("--max-wait-ms", type=float, default=2.0, help="server micro-batching wait")
    p.add_argument("--rounds", type=int, default=2, help="interleaved rounds (best counts)")
    p.add_argument("--round-time", type=float, default=6.0, help="seconds per path per round")
    p.add_argument("--quick", action="store_true", help="tiny net on the CPU, batches 16 and 32, short rounds")
    p.add_argument("--out", required=True, help="JSON results")
    args = p.parse_args()
    if args.quick:
        args.config, args.batches, args.device, args.threads = str(ROOT / "configs/net-tiny.yaml"), "16,32", "cpu", 1
        args.request_rows, args.rounds, args.round_time = 8, 1, 0.5
    return args


class UtilisationSampler:
    """Mean GPU utilisation (%) while it runs: torch.cuda.utilization() when it works, else
    `nvidia-smi --query-gpu=utilization.gpu`, every `interval` seconds; None on a CPU."""

    def __init__(self, device: str, interval: float = 0.2) -> None:
        self.read = self._reader(device)
        self.interval = interval
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    @staticmethod
    def _reader(device: str) -> Callable[[], float] | None:
        if device != "cuda":
            return None
        import torch

        index = torch.cuda.current_device()
        try:
            torch.cuda.utilization(index)
            return lambda: float(torch.cuda.utilization(index))
        except Exception:  # no pynvml: ask nvidia-smi
            command = ["nvidia-smi", f"--id={index}", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"]
            try:
                subprocess.run(command, capture_output=True, check=True, timeout=10)
            except Exception:
                return None
            return lambda: float(subprocess.run(command, capture_output=True, text=True, timeout=10).stdout.split()[0])

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.samples.append(self.read())

    def __enter__(self) -> UtilisationSampler:
        if self.read is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    @property
    def mean(self) -> float | None:
        """Mean of the samples (None without a reader or samples)."""
        return float(np.mean(self.samples)) if self.samples else None


def random_planes(n: int, shape: tuple[int, int, int], rng: np.random.Generator) -> np.ndarray:
    """Binary feature planes (stones ~20% per plane, a constant colour plane)."""
    planes = (rng.random((n, *shape)) < 0.2).astype(np.float32)
    planes[:, -1] = rng.integers(0, 2, (n, 1, 1))
    return planes


def unpack_seconds(packed: np.ndarray, mask: np.ndarray, shape: tuple[int, int, int], actions: int) -> float:
    """Best seconds of the server's CPU work on one batch before the forward: unpacking the
    planes and the legal mask (dpv.selfplay.packing)."""
    from dpv.selfplay.packing import unpack_mask, unpack_planes

    best = float("inf")
    for _ in range(20):
        start = time.perf_counter()
        unpack_planes(packed, shape)
        unpack_mask(mask, actions)
        best = min(best, time.perf_counter() - start)
    return best


async def measure(args: argparse.Namespace, device: str, checkpoint: Path, model: Any) -> list[dict[str, Any]]:
    """Rounds of bare forward and server path per batch size."""
    import torch

    from dpv.nets.evaluator import Evaluator

    bare = Evaluator(model, device, channels_last=device == "cuda")
    rng = np.random.default_rng(0)
    rows = []
    for batch in [int(b) for b in args.batches.split(",")]:
        rows.append(await measure_batch(args, device, checkpoint, bare, batch, rng))
        print(f"  batch {batch}: bare {rows[-1]['bare_evals_per_s']:,.0f}/s, "
              f"server {rows[-1]['server_evals_per_s']:,.0f}/s", file=sys.stderr)
        if device == "cuda":
            torch.cuda.empty_cache()  # the batch's server and its network are released
    return rows


async def measure_batch(args: argparse.Namespace, device: str, checkpoint: Path, bare: Any, batch: int,
                        rng: np.random.Generator) -> dict[str, Any]:
    """Interleaved rounds of the bare forward and of a fresh server at one batch size: one table row."""
    from dpv.selfplay.inference import InferenceServer
    from dpv.selfplay.packing import pack_mask, pack_planes

    cfg = bare.model.config
    shape = (cfg.input_planes, cfg.board_size, cfg.board_size)
    request = min(args.request_rows, batch)
    planes = random_planes(batch, shape, rng)
    thresholds = np.zeros(batch, np.float32)
    fixed = np.full(batch, bare.num_exits - 1, np.int32)  # the deepest exit
    legal = np.ones((batch, cfg.num_actions), bool)
    packed, mask = pack_planes(planes[:request]), pack_mask(legal[:request])
    server = InferenceServer(str(checkpoint), device, batch, args.max_wait_ms, args.threads)
    in_flight = 2 * max(1, batch // request)

    def bare_round() -> tuple[float, float | None]:
        with UtilisationSampler(device) as gpu:
            calls, start = 0, time.perf_counter()
            while time.perf_counter() - start < args.round_time:
                bare(planes, thresholds, legal=legal, fixed_exit=fixed)
                calls += 1
            rate = calls * batch / (time.perf_counter() - start)
        return rate, gpu.mean

    async def server_round() -> tuple[float, float | None, float]:
        done = 0
        forward_before = (await server.stats()).forward_s

        async def client() -> None:
            nonlocal done
            while time.perf_counter() - start < args.round_time:
                await server.evaluate(packed, thresholds[:request], mask, fixed[:request])
                done += request

        with UtilisationSampler(device) as gpu:
            start = time.perf_counter()
            await asyncio.gather(*(client() for _ in range(in_flight)))
            wall = time.perf_counter() - start
        forward = (await server.stats()).forward_s - forward_before
        return done / wall, gpu.mean, forward / wall

    bare(planes, thresholds, legal=legal, fixed_exit=fixed)  # warm-up (cuDNN picks its kernels)
    await server.evaluate(packed, thresholds[:request], mask, fixed[:request])
    rounds = []
    for _ in range(args.rounds):
        rounds.append((bare_round(), await server_round()))
    (b_rate, b_util), (s_rate, s_util, s_busy) = (max((r[i] for r in rounds), key=lambda t: t[0]) for i in (0, 1))
    stats = await server.stats()
    copies = batch // request
    unpack_s = unpack_seconds(np.concatenate([packed] * copies), np.concatenate([mask] * copies), shape,
                              cfg.num_actions)
    return {"batch": batch, "request_rows": request, "requests_in_flight": in_flight,
            "bare_evals_per_s": b_rate, "server_evals_per_s": s_rate, "server_vs_bare": s_rate / b_rate,
            "server_mean_batch": stats.mean_batch, "gpu_util_bare": b_util, "gpu_util_server": s_util,
            "server_thread_busy": s_busy, "unpack_ms_per_batch": unpack_s * 1e3,
            "bare_ms_per_batch": batch / b_rate * 1e3}


def markdown(rows: list[dict[str, Any]], title: str) -> str:
    """The results table."""
    def pct(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.0f} %"

    lines = [title, "", "| batch | bare forward evals/s | server evals/s | server / bare | mean server batch |"
             " GPU util (bare) | GPU util (server) | server thread busy | unpack / bare forward (ms) |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['batch']} | {r['bare_evals_per_s']:,.0f} | {r['server_evals_per_s']:,.0f} | "
                     f"{r['server_vs_bare']:.1%} | {r['server_mean_batch']:.0f} | {pct(r['gpu_util_bare'])} | "
                     f"{pct(r['gpu_util_server'])} | {r['server_thread_busy']:.0%} | "
                     f"{r['unpack_ms_per_batch']:.2f} / {r['bare_ms_per_batch']:.2f} |")
    return "\n".join(lines)


def main() -> int:
    """Measure, print the table, write the JSON."""
    args = parse_args()
    import torch

    from dpv.nets.checkpoint import save_checkpoint
    from dpv.nets.config import load_net_config
    from dpv.nets.model import DPVNet
    from dpv.selfplay.inference import pick_device

    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    cfg = load_net_config(args.config)
    model = DPVNet(cfg)
    name = torch.cuda.get_device_name() if device == "cuda" else platform.processor() or "CPU"
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = Path(tmp) / "net.pt"
        save_checkpoint(checkpoint, model)
        rows = asyncio.run(measure(args, device, checkpoint, model))
    title = (f"InferenceServer without Ray (`python bench/gpu_server.py`), {Path(args.config).name} net "
             f"({cfg.blocks} blocks x {cfg.channels}, deepest exit), {device} ({name}), fp32"
             f"{' channels-last' if device == 'cuda' else ''}, requests of {rows[0]['request_rows']} positions, "
             f"max_wait {args.max_wait_ms:g} ms, torch {torch.__version__}")
    print(markdown(rows, title))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"config": args.config, "device": device, "device_name": name,
                               "torch": torch.__version__, "threads": args.threads, "max_wait_ms": args.max_wait_ms,
                               "seconds": time.perf_counter() - started, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
