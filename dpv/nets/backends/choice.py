"""Which backend runs the network: built by name, measured, gated, and the choice cached.

`choose_backend(model, device, threads, "auto")` takes the fastest backend that passes the
correctness gate (dpv.nets.backends.gate) against torch fp32: on a machine seen before, the
speed ranking and gate verdicts come from the cache (`cache_path()`, keyed by the CPU or GPU
model, torch, onnxruntime and openvino versions, device, threads and network shape); otherwise every
available backend is timed at the deepest exit (batches 64 and 256, interleaved rounds, best
round) and gated fastest first until one passes, and the result is cached. A named backend is
gated before use (its verdict cached too). A backend that is not available or fails the gate is
skipped with one line on stderr and never used; torch fp32, the reference, is always there.

A cached verdict holds for the weights it was made on. New weights (a promotion) are checked by
`regate`: the backend, rebuilt over them, is gated again on REGATE_POSITIONS positions before it
answers; when it fails (bf16 errors grow with sharper policies) its full-precision twin
(`fp32_twin`: folded-bf16's is folded-fp32, 1.4x torch fp32 on net-four) is gated and answers,
and torch fp32 answers when that fails too.
"""
from __future__ import annotations

import importlib.metadata
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
from dpv.nets.backends.gate import GATE_RULE, GateBounds, board_inputs, bounds_for, gate
from dpv.nets.backends.onnx_backend import OnnxBackend
from dpv.nets.backends.openvino_backend import OpenvinoBackend, OpenvinoInt8Backend
from dpv.nets.backends.positions import random_game_boards
from dpv.nets.backends.torch_backend import torch_backend
from dpv.nets.evaluator import Evaluator
from dpv.nets.model import DPVNet
from go_engine import Board

Factory = Callable[[DPVNet, torch.device, int], InferenceBackend]
"""Builds a backend over (model, device, threads); raises BackendUnavailable."""

REFERENCE = "torch-fp32"
RUNTIMES: dict[str, Factory] = {"onnx-fp32": OnnxBackend, "openvino-fp32": OpenvinoBackend,
                                "openvino-int8": OpenvinoInt8Backend}
"""The backends on another runtime than torch, over the exported network."""
FACTORIES: dict[str, Factory] = {
    **{name: (lambda model, device, threads, name=name: torch_backend(name, model, device))
       for name in BACKEND_NAMES if name not in RUNTIMES},
    **RUNTIMES,
}
"""Every backend by name (dpv.nets.backends.BackendName)."""

MEASURE_BATCHES = (64, 256)
ROUNDS = 3
ROUND_S = 0.2
GATE_S = 6.0
"""Seconds the reference may spend on the gate's positions; their number is scaled to fit (256..4096)."""
REGATE_POSITIONS = 256
"""Positions a backend is gated on again after new weights (`regate`)."""
REGATE_SEARCHES = 16
"""Of those, how many are also searched (the same-move share)."""


def cache_path() -> Path:
    """The per-machine cache: $XDG_CACHE_HOME/dpv/backends.json (~/.cache/dpv/backends.json)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dpv" / "backends.json"


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "none"


def machine_key(model: DPVNet, device: torch.device, threads: int) -> str:
    """What a measured choice holds for: the processor, library versions, threads, network shape and
    the gate's rule (`gate.GATE_RULE`: verdicts cached under another rule are not reused)."""
    if device.type == "cuda":
        chip = torch.cuda.get_device_name(device)
    else:
        info = Path("/proc/cpuinfo")
        names = [line.split(":", 1)[1].strip() for line in info.read_text().splitlines()
                 if line.startswith("model name")] if info.exists() else []
        chip = names[0] if names else platform.processor() or platform.machine()
    runtimes = " | ".join(f"{package} {_version(package)}" for package in ("onnxruntime", "openvino"))
    c = model.config
    return (f"{chip} | {device.type} | torch {torch.__version__} | {runtimes} | {threads} threads | "
            f"net {c.board_size}x{c.board_size} {c.input_planes} planes {c.blocks}x{c.channels} exits {c.exits} "
            f"heads {c.policy_head_channels},{c.value_head_channels},{c.value_hidden} | gate {GATE_RULE}")


def build_backend(name: str, model: DPVNet, device: torch.device, threads: int,
                  factories: Mapping[str, Factory] = FACTORIES, log: TextIO | None = None) -> InferenceBackend | None:
    """The backend `name` over `model`, or None (said in one line on `log`, stderr by default)
    when it is not available here."""
    try:
        return factories[name](model, device, threads)
    except BackendUnavailable as why:
        print(f"dpv: inference backend {name} skipped: {why}", file=log or sys.stderr)
        return None


def measure(evaluators: Mapping[str, Evaluator], planes: np.ndarray, batches: Sequence[int] | None = None,
            exit: int | None = None, threshold: float = 1.0, rounds: int | None = None,
            round_s: float | None = None, clock: Callable[[], float] = time.perf_counter
            ) -> dict[str, dict[int, float]]:
    """Evaluations/s of each evaluator per batch size (MEASURE_BATCHES by default; rows repeated
    from `planes`) at `exit`
    (None: the deepest; -1: the dynamic exit with `threshold`): interleaved rounds (ROUNDS) of
    ROUND_S seconds each, at least one call each; the best round counts (the machines are shared).
    Seconds are `clock`'s: wall time, or `time.thread_time` (this thread's CPU time, which other
    processes' load hardly changes) for backends that compute on the calling thread alone."""
    rounds, round_s = rounds or ROUNDS, round_s or ROUND_S
    rates: dict[str, dict[int, float]] = {name: {} for name in evaluators}
    for batch in batches or MEASURE_BATCHES:
        x = np.resize(planes, (batch, *planes.shape[1:]))
        thresholds = np.full(batch, threshold, np.float32)
        for evaluator in evaluators.values():
            evaluator.evaluate(x[:8], exit=evaluator.num_exits - 1)  # warm up
        for _ in range(rounds):
            for name, evaluator in evaluators.items():
                fixed = np.full(batch, evaluator.num_exits - 1 if exit is None else exit, np.int64)
                calls, start, wall = 0, clock(), time.perf_counter()
                while calls == 0 or time.perf_counter() - wall < round_s:
                    evaluator(x, thresholds, fixed_exit=fixed)
                    calls += 1
                rate = batch * calls / max(clock() - start, 1e-9)
                rates[name][batch] = max(rates[name].get(batch, 0.0), rate)
    return rates


def gate_positions(reference_rate: float, num_exits: int) -> int:
    """How many gate positions the reference evaluates in about GATE_S seconds of its compute (256..4096)."""
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


def _speeds(reference: Evaluator, evaluators: Mapping[str, Evaluator], model: DPVNet,
            boards: Sequence[Board] | None, threads: int) -> dict:
    """The cache entry's measurements: evaluations/s, speed-up over the reference, the ranking
    (fastest first) and how many positions the gate takes. With one thread, the seconds are the
    thread's CPU time, so a loaded machine ranks the backends as a quiet one does."""
    probe = board_inputs(_boards(boards, 256, model.config.board_size))[0]
    clock = time.thread_time if threads == 1 else time.perf_counter
    rates = measure({REFERENCE: reference, **evaluators}, probe, clock=clock)
    speedup = {name: float(np.mean([r[b] / rates[REFERENCE][b] for b in r])) for name, r in rates.items()}
    return {"ranking": sorted(speedup, key=speedup.get, reverse=True), "speedup": speedup,
            "positions": gate_positions(rates[REFERENCE][max(MEASURE_BATCHES)], model.num_exits),
            "evals_per_s": {name: {str(b): round(v) for b, v in r.items()} for name, r in rates.items()}}


def choose_backend(model: DPVNet, device: str | torch.device = "cpu", threads: int = 1, requested: str = "auto",
                   boards: Sequence[Board] | None = None, source: str = "random-policy games", *,
                   cache: Path | None = None, factories: Mapping[str, Factory] = FACTORIES,
                   bounds: GateBounds | None = None, log: TextIO | None = None) -> InferenceBackend:
    """The backend to run `model` on (see the module docstring): `requested` by name, or "auto".
    The gate runs on `boards` (described by `source`), else on positions of random-policy games,
    with `bounds` (None: each backend's own, `gate.bounds_for`).
    A skipped backend is one line on `log` (stderr by default), and so is the choice."""
    log = log or sys.stderr
    device = torch.device(device)
    if requested != "auto" and requested not in factories:
        raise ValueError(f"unknown inference backend {requested!r}; choose auto or one of {list(factories)}")
    reference = Evaluator(model, backend=factories[REFERENCE](model, device, threads))
    if requested == REFERENCE:
        return reference.backend
    path = cache or cache_path()
    key = machine_key(model, device, threads)
    entry = _read_cache(path).get(key, {})
    candidates = [name for name in factories if name != REFERENCE] if requested == "auto" else [requested]
    built: dict[str, InferenceBackend] = {}
    if requested == "auto" and "ranking" not in entry:
        built = {name: b for name in candidates
                 if (b := build_backend(name, model, device, threads, factories, log)) is not None}
        entry.update(_speeds(reference, {n: Evaluator(model, backend=b) for n, b in built.items()}, model, boards,
                             threads))
    passed, verdicts = entry.setdefault("passed", {}), entry.setdefault("gate", {})
    chosen = reference.backend
    for name in entry["ranking"] if requested == "auto" else candidates:
        if name == REFERENCE:
            break
        backend = built.get(name) or (build_backend(name, model, device, threads, factories, log)
                                      if name in factories else None)
        if backend is None:
            continue
        if name not in passed:
            if "positions" not in entry:  # the reference's rate sizes the gate
                entry["positions"] = _speeds(reference, {}, model, boards, threads)["positions"]
            positions = _boards(boards, entry["positions"], model.config.board_size)
            result = gate(reference, Evaluator(model, backend=backend), positions, source, bounds or bounds_for(name))
            passed[name], verdicts[name] = result.passed, result.summary()
        if passed[name]:
            chosen = backend
            break
        print(f"dpv: inference backend {name} skipped: {verdicts[name]}", file=log)
    _write_cache(path, key, entry, log)
    speed = entry.get("speedup", {}).get(chosen.name)
    measured = f", {speed:.2f}x torch-fp32 measured on this machine" if speed else ""
    print(f"dpv: inference backend {chosen.name}{measured} ({verdicts.get(chosen.name, 'the reference')})", file=log)
    return chosen


def regate(reference: Evaluator, candidates: Sequence[Evaluator], boards: Sequence[Board] | None, source: str,
           version: int, bounds: GateBounds | None = None, log: TextIO | None = None) -> Evaluator:
    """The evaluator to answer with once new weights (model `version`) are in the candidates' shared
    model and their backends were rebuilt over them (`Evaluator.load_state_dict`):
    the first of `candidates` (fastest first) that passes the gate again against `reference`
    (torch fp32 over the same model) on REGATE_POSITIONS positions spread over `boards` (described
    by `source`; random-policy games when None) with `bounds` (None: each backend's own), else
    `reference`. One line on `log` (stderr by default) per candidate gated."""
    log = log or sys.stderr
    if boards:
        positions = list(boards[::max(1, len(boards) // REGATE_POSITIONS)][:REGATE_POSITIONS])
    else:
        positions = random_game_boards(REGATE_POSITIONS, reference.model.config.board_size)
        source = "random-policy games"
    for k, candidate in enumerate(candidates):
        start = time.perf_counter()
        name = candidate.backend.name
        result = gate(reference, candidate, positions, source, bounds or bounds_for(name), searches=REGATE_SEARCHES)
        took = time.perf_counter() - start
        if result.passed:
            print(f"dpv: inference backend {name} gated again on the weights of v{version} ({took:.1f} s): "
                  f"{result.summary()}", file=log)
            return candidate
        after = candidates[k + 1] if k + 1 < len(candidates) else reference
        print(f"dpv: inference backend {name} falls back to {after.backend.name} on the weights of v{version} "
              f"({took:.1f} s): {result.summary()}", file=log)
    return reference


def fp32_twin(name: str, factories: Mapping[str, Factory] = FACTORIES) -> str | None:
    """The full-precision backend of the same kind as `name` (folded-bf16: folded-fp32; openvino-int8:
    openvino-fp32), to answer when `name` fails a regate and before torch fp32 does; None when
    `name` is full precision already, or its twin is the reference or not in `factories`."""
    twin = name.replace("-bf16", "-fp32").replace("-int8", "-fp32")
    return twin if twin != name and twin != REFERENCE and twin in factories else None
