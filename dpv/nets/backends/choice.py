"""Which backend runs the network: built by name, measured, gated, and the choice cached.

`choose_backend(model, device, threads, "auto")` takes the fastest backend that passes the
correctness gate (dpv.nets.backends.gate) against torch fp32: on a machine seen before, the
speed ranking and gate verdicts come from the cache (`cache_path()`, keyed by the CPU or GPU
model, torch and onnxruntime versions, device, threads and network shape); otherwise every
available backend is timed at the deepest exit (batches 64 and 256, interleaved rounds, best
round) and gated fastest first until one passes, and the result is cached. A named backend is
gated before use. A backend that is not available or fails the gate is skipped with one line on
stderr and never used; torch fp32, the reference, is always there.
"""
from __future__ import annotations

import json
import os
import platform
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TextIO

import numpy as np
import torch

from dpv.nets.backends import BACKEND_NAMES
from dpv.nets.backends.base import BackendUnavailable, InferenceBackend
from dpv.nets.backends.gate import BOUNDS, GateBounds, board_inputs, gate
from dpv.nets.backends.onnx_backend import OnnxBackend
from dpv.nets.backends.positions import random_game_boards
from dpv.nets.backends.torch_backend import torch_backend
from dpv.nets.evaluator import Evaluator
from dpv.nets.model import DPVNet
from go_engine import Board

Factory = Callable[[DPVNet, torch.device, int], InferenceBackend]
"""Builds a backend over (model, device, threads); raises BackendUnavailable."""

REFERENCE = "torch-fp32"
FACTORIES: dict[str, Factory] = {
    **{name: (lambda model, device, threads, name=name: torch_backend(name, model, device))
       for name in BACKEND_NAMES if name != "onnx-fp32"},
    "onnx-fp32": OnnxBackend,
}
"""Every backend by name (dpv.nets.backends.BackendName)."""

MEASURE_BATCHES = (64, 256)
ROUNDS = 3
ROUND_S = 0.2
GATE_S = 6.0
"""Seconds the reference may spend on the gate's positions; their number is scaled to fit (256..4096)."""


def cache_path() -> Path:
    """The per-machine cache: $XDG_CACHE_HOME/dpv/backends.json (~/.cache/dpv/backends.json)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dpv" / "backends.json"


def machine_key(model: DPVNet, device: torch.device, threads: int) -> str:
    """What a measured choice holds for: the processor, library versions, threads and network shape."""
    if device.type == "cuda":
        chip = torch.cuda.get_device_name(device)
    else:
        info = Path("/proc/cpuinfo")
        names = [line.split(":", 1)[1].strip() for line in info.read_text().splitlines()
                 if line.startswith("model name")] if info.exists() else []
        chip = names[0] if names else platform.processor() or platform.machine()
    try:
        import onnxruntime
        ort = onnxruntime.__version__
    except ImportError:
        ort = "none"
    c = model.config
    return (f"{chip} | {device.type} | torch {torch.__version__} | onnxruntime {ort} | {threads} threads | "
            f"net {c.board_size}x{c.board_size} {c.input_planes} planes {c.blocks}x{c.channels} exits {c.exits} "
            f"heads {c.policy_head_channels},{c.value_head_channels},{c.value_hidden}")


def build_backend(name: str, model: DPVNet, device: torch.device, threads: int,
                  factories: Mapping[str, Factory] = FACTORIES, log: TextIO | None = None) -> InferenceBackend | None:
    """The backend `name` over `model`, or None (said in one line on `log`, stderr by default)
    when it is not available here."""
    try:
        return factories[name](model, device, threads)
    except BackendUnavailable as why:
        print(f"dpv: inference backend {name} skipped: {why}", file=log or sys.stderr)
        return None


def measure(evaluators: Mapping[str, Evaluator], planes: np.ndarray,
            batches: Sequence[int] = MEASURE_BATCHES) -> dict[str, dict[int, float]]:
    """Evaluations/s of each evaluator at the deepest exit per batch size: interleaved rounds of
    ROUND_S seconds each (at least one call), the best round counts (the machines are shared)."""
    rates: dict[str, dict[int, float]] = {name: {} for name in evaluators}
    for batch in batches:
        x = np.resize(planes, (batch, *planes.shape[1:]))
        ones = np.ones(batch, np.float32)
        for evaluator in evaluators.values():
            evaluator.evaluate(x[:8], exit=evaluator.num_exits - 1)  # warm up
        for _ in range(ROUNDS):
            for name, evaluator in evaluators.items():
                deepest = np.full(batch, evaluator.num_exits - 1, np.int64)
                calls, start = 0, time.perf_counter()
                while calls == 0 or time.perf_counter() - start < ROUND_S:
                    evaluator(x, ones, fixed_exit=deepest)
                    calls += 1
                rate = batch * calls / (time.perf_counter() - start)
                rates[name][batch] = max(rates[name].get(batch, 0.0), rate)
    return rates


def gate_positions(reference_rate: float, num_exits: int) -> int:
    """How many gate positions the reference evaluates in about GATE_S seconds (256..4096)."""
    return int(np.clip(reference_rate * GATE_S / (num_exits + 1), 256, 4096))


def _read_cache(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _write_cache(path: Path, key: str, entry: dict, log: TextIO) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        cache = _read_cache(path)
        cache[key] = entry
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(cache, indent=1, sort_keys=True))
        os.replace(tmp, path)
    except OSError as err:
        print(f"dpv: the backend choice is not cached ({path}: {err.strerror})", file=log)


def _boards(boards: Sequence[Board] | None, n: int, size: int) -> Sequence[Board]:
    return boards[:n] if boards else random_game_boards(n, size)


def _probe(model: DPVNet, boards: Sequence[Board] | None) -> np.ndarray:
    """Planes of up to 256 positions to time the backends on."""
    return board_inputs(_boards(boards, 256, model.config.board_size))[0]


def choose_backend(model: DPVNet, device: str | torch.device = "cpu", threads: int = 1, requested: str = "auto",
                   boards: Sequence[Board] | None = None, source: str = "random-policy games", *,
                   cache: Path | None = None, factories: Mapping[str, Factory] = FACTORIES,
                   bounds: GateBounds = BOUNDS, log: TextIO | None = None) -> InferenceBackend:
    """The backend to run `model` on (see the module docstring): `requested` by name, or "auto".
    The gate runs on `boards` (described by `source`), else on positions of random-policy games.
    Each decision is one line on `log` (stderr by default)."""
    log = log or sys.stderr
    device = torch.device(device)
    if requested != "auto" and requested not in factories:
        raise ValueError(f"unknown inference backend {requested!r}; choose auto or one of {list(factories)}")
    reference = Evaluator(model, backend=factories[REFERENCE](model, device, threads))
    if requested == REFERENCE:
        return reference.backend
    size = model.config.board_size
    if requested != "auto":
        backend = build_backend(requested, model, device, threads, factories, log)
        if backend is None:
            return reference.backend
        rate = measure({REFERENCE: reference}, _probe(model, boards), (max(MEASURE_BATCHES),))[REFERENCE]
        positions = _boards(boards, gate_positions(rate[max(MEASURE_BATCHES)], model.num_exits), size)
        result = gate(reference, Evaluator(model, backend=backend), positions, source, bounds)
        print(f"dpv: inference backend {'' if result.passed else requested + ' skipped: '}{result.summary()}", file=log)
        return backend if result.passed else reference.backend
    path = cache or cache_path()
    key = machine_key(model, device, threads)
    entry = _read_cache(path).get(key)
    built: dict[str, InferenceBackend] = {}
    if entry is None:
        built = {name: b for name in factories if name != REFERENCE
                 and (b := build_backend(name, model, device, threads, factories, log)) is not None}
        rates = measure({REFERENCE: reference, **{n: Evaluator(model, backend=b) for n, b in built.items()}},
                        _probe(model, boards))
        speedup = {name: float(np.mean([r[b] / rates[REFERENCE][b] for b in r])) for name, r in rates.items()}
        entry = {"ranking": sorted(speedup, key=speedup.get, reverse=True), "speedup": speedup, "passed": {},
                 "gate": {}, "positions": gate_positions(rates[REFERENCE][max(MEASURE_BATCHES)], model.num_exits),
                 "evals_per_s": {name: {str(b): round(v) for b, v in r.items()} for name, r in rates.items()}}
    chosen = reference.backend
    for name in entry["ranking"]:
        if name == REFERENCE:
            break
        backend = built.get(name) or (build_backend(name, model, device, threads, factories, log)
                                      if name in factories else None)
        if backend is None:
            continue
        if name not in entry["passed"]:
            positions = _boards(boards, entry["positions"], size)
            result = gate(reference, Evaluator(model, backend=backend), positions, source, bounds)
            entry["passed"][name], entry["gate"][name] = result.passed, result.summary()
        if entry["passed"][name]:
            chosen = backend
            break
        print(f"dpv: inference backend {name} skipped: {entry['gate'][name]}", file=log)
    _write_cache(path, key, entry, log)
    speed = entry["speedup"].get(chosen.name, 1.0)
    why = entry["gate"].get(chosen.name, "the reference")
    print(f"dpv: inference backend {chosen.name}, {speed:.2f}x torch-fp32 measured on this machine ({why})", file=log)
    return chosen
