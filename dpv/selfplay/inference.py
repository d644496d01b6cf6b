"""InferenceServer: one network shared by many self-play workers, with micro-batching.

Workers send bit-packed leaf planes (dpv.selfplay.packing) with their exit requests; the server
queues the requests, and a batching task runs one forward over as many whole requests as fit in
`max_batch` rows, waiting at most `max_wait_ms` after the oldest request for more to arrive. The
forward (dpv.nets.Evaluator: one fixed exit, or the dynamic exit of eq. 6.4-6.6) runs in a
thread, so requests keep arriving meanwhile; each request gets its slice of the answer. New
weights (`set_weights`) are swapped in between two batches, so no request is dropped or sees
half-loaded weights. Run it as a Ray async actor (`ray.remote(InferenceServer)`); it runs on the
GPU when Ray gives the actor one. Given the run's game store, a server that Ray restarts after
a crash serves the current best network: the driver promotes by replacing the checkpoint file
(best.pt) and the store's `best_version` before it sends the new weights. The forward runs on
the inference backend `backend` (dpv.nets.backends: "auto" takes the fastest one that passes the
correctness gate, gated on replays of the store's latest games when it holds some, else on
random-policy games); new weights rebuild it, and a backend other than torch fp32 is gated again on
them before it answers (dpv.nets.backends.choice.regate: while it fails, its fp32 twin answers
when that passes, else torch fp32; a restarted server gates the promoted weights it loaded too).
"""
from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from dpv.selfplay.messages import ServerStats
from dpv.selfplay.packing import unpack_mask, unpack_planes

if TYPE_CHECKING:
    from dpv.nets.evaluator import Evaluator
    from dpv.selfplay.store import GameStore
    from go_engine import Board

#: Upper bounds of the histograms in stats(): rows per forward (1, 2, 3, 4, 6, 8, 12, ..., 3072,
#: 4096: powers of two and three times powers of two), and seconds a request waited in the
#: queue (each has one more bucket above its last bound).
BATCH_SIZE_BOUNDS = tuple(sorted({2.0**i for i in range(13)} | {3.0 * 2**i for i in range(11)}))
QUEUE_WAIT_BOUNDS = (1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)
#: The gate replays at most this many of the store's latest games (at most 4,096 positions).
GATE_GAMES = 64


@dataclass
class _Request:
    packed: np.ndarray
    thresholds: np.ndarray
    legal: np.ndarray | None
    fixed_exit: np.ndarray
    arrived: float
    future: asyncio.Future = field(repr=False)


def pick_device(requested: str) -> str:
    """"cuda" when requested or when "auto" finds a GPU, else "cpu"."""
    import torch

    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return requested


def stored_boards(store: GameStore) -> list[Board]:
    """Positions (go_engine Boards) replayed from the store's latest GATE_GAMES games, at most
    4,096; none when they hold fewer than 256 (the gate then plays random-policy games)."""
    from dpv.nets.backends.positions import replay_boards
    from dpv.selfplay.records import decode

    games = [decode(data) for data in store.games(max(0, store.num_games() - GATE_GAMES))]
    if not games:
        return []
    boards = replay_boards((g.actions for g in games), 4096, games[0].size, games[0].komi)
    return boards if len(boards) >= 256 else []


class InferenceServer:
    """Micro-batching evaluator over the network in `checkpoint`, whose model version is the
    `best_version` of the store at `store_url` (0 without a store; with one, each start is
    counted there under `name`), run on the inference backend `backend` (a name or "auto",
    dpv.nets.backends.choice)."""

    def __init__(self, checkpoint: str, device: str = "auto", max_batch: int = 256,
                 max_wait_ms: float = 2.0, threads: int = 1, store_url: str | None = None,
                 prefix: str = "dpv", name: str = "server-0", backend: str = "torch-fp32") -> None:
        import torch

        from dpv.nets.backends.choice import FACTORIES, REFERENCE, build_backend, choose_backend, fp32_twin
        from dpv.nets.checkpoint import load_checkpoint
        from dpv.nets.evaluator import Evaluator
        from dpv.selfplay.state import RunState

        torch.set_num_threads(threads)
        self.device = pick_device(device)
        model = load_checkpoint(checkpoint, device=self.device).model
        state = RunState.connect(store_url, prefix) if store_url else None
        boards = stored_boards(state.store) if state and backend != "torch-fp32" else []
        chosen = choose_backend(model, self.device, threads, backend, boards or None,
                                "replays of the store's latest games" if boards else "random-policy games")
        self._state = state
        self._reference = Evaluator(model, backend=chosen if chosen.name == REFERENCE
                                    else FACTORIES[REFERENCE](model, torch.device(self.device), threads))
        twin = fp32_twin(chosen.name)
        fallback = build_backend(twin, model, torch.device(self.device), threads) if twin else None
        #: the backends gated on new weights, fastest first (the chosen one, then its fp32 twin)
        self._candidates = [Evaluator(model, backend=b) for b in (chosen, fallback)
                            if b is not None and b.name != REFERENCE]
        self.evaluator = self._candidates[0] if self._candidates else self._reference
        cfg = model.config
        self.shape = (cfg.input_planes, cfg.board_size, cfg.board_size)
        self.num_actions = cfg.num_actions
        self.max_batch = max_batch
        self.max_wait = max_wait_ms / 1000.0
        self.version = 0
        if state:
            state.count_start(name)
            self.version = state.best_version
            if self.version > 0 and self._candidates:  # restarted after a promotion
                self.evaluator = self._gated(self.version)
        self._pending: list[_Request] = []
        self._pending_rows = 0
        self._arrival: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self._weights: tuple[dict, int] | None = None
        self._busy = False
        self._executor = ThreadPoolExecutor(max_workers=1)
        self._stats = {"requests": 0, "rows": 0, "batches": 0, "forward_s": 0.0, "queue_s": 0.0,
                       "swaps": 0}
        self._evals_per_exit = np.zeros(self.evaluator.num_exits, np.int64)
        self._batch_sizes = np.zeros(len(BATCH_SIZE_BOUNDS) + 1, np.int64)
        self._queue_waits = np.zeros(len(QUEUE_WAIT_BOUNDS) + 1, np.int64)
        self._started = time.perf_counter()

    def exit_flops(self) -> list[float]:
        """FLOPs of one position through each exit (what the search charges per leaf)."""
        return self.evaluator.exit_flops.tolist()

    async def evaluate(self, packed: np.ndarray, thresholds: np.ndarray, legal: np.ndarray | None,
                       fixed_exit: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """The search's evaluator contract over bit-packed planes (`pack_planes`) and a packed
        legal mask (`pack_mask`, or None): (priors, values, exits, model version)."""
        loop = asyncio.get_running_loop()
        if self._task is None:
            self._arrival = asyncio.Event()
            self._task = loop.create_task(self._serve())
        request = _Request(packed, thresholds, legal, fixed_exit, time.perf_counter(), loop.create_future())
        self._pending.append(request)
        self._pending_rows += len(packed)
        self._arrival.set()
        return await request.future

    async def set_weights(self, state_dict: dict[str, Any], version: int) -> int:
        """Swap in new weights (model `version`) before the next batch; returns the version."""
        self._weights = (state_dict, version)
        if not self._busy:  # no forward running: swap now (else the batch loop swaps next)
            self._swap()
        return version

    async def stats(self) -> ServerStats:
        """The counters since this process started."""
        return ServerStats(**self._stats, evals_per_exit=self._evals_per_exit.tolist(),
                           batch_size_counts=self._batch_sizes.tolist(), queue_wait_counts=self._queue_waits.tolist(),
                           version=self.version, device=self.device, uptime_s=time.perf_counter() - self._started,
                           backend=self.evaluator.backend.name)

    def _swap(self) -> None:
        state_dict, version = self._weights
        self._weights = None
        if not self._candidates:
            self.evaluator.load_state_dict(state_dict)
        else:
            for candidate in self._candidates:  # one shared model: loaded again, each backend rebuilt over it
                candidate.load_state_dict(state_dict)
            self.evaluator = self._gated(version)
        self.version = version
        self._stats["swaps"] += 1

    def _gated(self, version: int) -> Evaluator:
        """The first candidate backend that passes the gate again on the weights of `version`, or
        torch fp32 where they all fail."""
        from dpv.nets.backends.choice import regate

        boards = stored_boards(self._state.store) if self._state else []
        return regate(self._reference, self._candidates, boards or None, "replays of the store's latest games",
                      version)

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._arrival.wait()
            self._arrival.clear()
            if not self._pending:
                continue
            deadline = self._pending[0].arrived + self.max_wait
            while self._pending_rows < self.max_batch:
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    break
                try:
                    await asyncio.wait_for(self._arrival.wait(), remaining)
                except asyncio.TimeoutError:
                    break
                self._arrival.clear()
            batch, rows = [], 0
            while self._pending and (not batch or rows + len(self._pending[0].packed) <= self.max_batch):
                request = self._pending.pop(0)
                batch.append(request)
                rows += len(request.packed)
            self._pending_rows -= rows
            if self._weights is not None:
                self._swap()
            now = time.perf_counter()
            waits = [now - r.arrived for r in batch]
            self._stats["queue_s"] += sum(waits)
            np.add.at(self._queue_waits, np.searchsorted(QUEUE_WAIT_BOUNDS, waits), 1)
            version = self.version
            self._busy = True
            try:
                outputs = await loop.run_in_executor(self._executor, self._forward, batch)
            except Exception as err:  # answer every waiting worker with the error
                for r in batch:
                    r.future.set_exception(err)
            else:
                for r, out in zip(batch, outputs):
                    r.future.set_result((*out, version))
            finally:
                self._busy = False
            if self._pending:
                self._arrival.set()

    def _forward(self, batch: list[_Request]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        start = time.perf_counter()
        planes = unpack_planes(np.concatenate([r.packed for r in batch]), self.shape)
        thresholds = np.concatenate([r.thresholds for r in batch])
        fixed = np.concatenate([r.fixed_exit for r in batch])
        legal = None
        if any(r.legal is not None for r in batch):  # rows sent without a mask: all legal
            width = (self.num_actions + 7) // 8
            legal = unpack_mask(np.concatenate([
                r.legal if r.legal is not None else np.full((len(r.packed), width), 255, np.uint8)
                for r in batch]), self.num_actions)
        priors, values, exits = self.evaluator(planes, thresholds, legal=legal, fixed_exit=fixed)
        self._stats["forward_s"] += time.perf_counter() - start
        self._stats["batches"] += 1
        self._stats["requests"] += len(batch)
        self._stats["rows"] += len(planes)
        self._batch_sizes[np.searchsorted(BATCH_SIZE_BOUNDS, len(planes))] += 1
        self._evals_per_exit += np.bincount(exits, minlength=len(self._evals_per_exit))
        splits = np.cumsum([len(r.packed) for r in batch])[:-1]
        return list(zip(np.split(priors, splits), np.split(values, splits), np.split(exits, splits)))
