"""The run's statistics as the driver gathers them without ever waiting on an actor.

The inference servers' and the replay buffer's `stats()` are polled: one request in flight per
actor, whose answer is read at a later poll once it is in (`ray.wait` with timeout 0), so a slow
or restarting actor never stalls the driver's loop; only the end of the run waits for fresh
answers (`refresh`). A server's counters start from zero when Ray restarts it: `server_totals`
continues them from the last answer before the restart. `throughput` turns the totals into the
rates of the progress line and summary.json. `GameTally` counts the games the driver has read.
`CpuMeter` sums the CPU seconds of the run's processes on the driver's machine (psutil).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace
from typing import Any

from dpv.selfplay.messages import BufferStats, ServerStats, WorkerCounters
from dpv.selfplay.records import SelfPlayGame
from dpv.selfplay.retry import call_actor

#: ServerStats counters that add up over a server's restarts.
COUNTERS = ("requests", "rows", "batches", "forward_s", "queue_s")
#: Seconds between two requests to an actor.
POLL_INTERVAL_S = 1.0


@dataclass(frozen=True)
class Throughput:
    """Self-play rates since the start of a session (summary.json `throughput`, the progress
    line and metrics.jsonl's `progress` lines)."""

    seconds: float
    """Seconds since the actors started."""
    games_per_h: float
    """Games stored per hour."""
    positions_per_s: float
    """Positions stored per second."""
    evals_per_s: float
    """Leaf evaluations the servers answered per second."""
    mean_batch: float
    """Rows per server forward."""
    wait_share: float
    """Share of the workers' pipeline time spent waiting for the servers."""
    server_forward_share: float
    """Share of a server's time spent in forwards (mean over the servers)."""


def throughput(seconds: float, servers: list[ServerStats], workers: list[WorkerCounters]) -> Throughput:
    """The rates over `seconds` of the servers' and the workers' counts of a session."""
    elapsed = max(1e-9, seconds)
    rows = sum(s.rows for s in servers)
    wall = sum(w.wall_s for w in workers)
    return Throughput(seconds=seconds, games_per_h=sum(w.games for w in workers) / elapsed * 3600,
                      positions_per_s=sum(w.positions for w in workers) / elapsed, evals_per_s=rows / elapsed,
                      mean_batch=rows / max(1, sum(s.batches for s in servers)),
                      wait_share=sum(w.wait_s for w in workers) / wall if wall else 0.0,
                      server_forward_share=sum(s.forward_s for s in servers) / elapsed / max(1, len(servers)))


@dataclass
class GameTally:
    """What the driver has read of the stored games."""

    seen: int = 0
    """Id of the next game to read."""
    positions: int = 0
    """Positions of the stored games (those of earlier sessions included)."""
    moves: int = 0
    """Moves of the games read in this session."""
    flops: float = 0.0
    """Search FLOPs those games charged (each leaf at the FLOPs of the exit that answered it)."""
    evals_per_exit: list[int] = field(default_factory=list)
    """Leaf evaluations of those games answered by each exit (their records' evals_per_exit):
    the exit histogram of self-play."""

    def skip(self) -> None:
        """Pass over a game whose record is damaged (quarantined): only its id counts."""
        self.seen += 1

    def add(self, game: SelfPlayGame) -> None:
        """Count a game read in this session."""
        self.seen += 1
        self.positions += game.num_moves
        self.moves += game.num_moves
        self.flops += game.flops
        evals = [int(v) for v in game.evals_per_exit]
        counts = self.evals_per_exit + [0] * (len(evals) - len(self.evals_per_exit))
        self.evals_per_exit = [c + (evals[k] if k < len(evals) else 0) for k, c in enumerate(counts)]


class StatsPoller:
    """The last `stats()` answers of the inference servers (`servers`, named server-<i>) and
    of the replay buffer, asked at most every `interval` seconds."""

    def __init__(self, servers: list[Any], buffer: Any, interval: float = POLL_INTERVAL_S) -> None:
        self.actors = {f"server-{i}": s for i, s in enumerate(servers)}
        self.actors["buffer"] = buffer
        self.servers: dict[str, ServerStats] = {}
        """The last answer of each server, as it sent it."""
        self.buffer: BufferStats | None = None
        """The buffer's last answer."""
        self.interval = interval
        self._asked = float("-inf")
        self._pending: dict[str, Any] = {}
        self._earlier: dict[str, dict[str, float]] = {}  # counters of the servers' earlier lives

    def poll(self) -> None:
        """Keep the answers that are in; send a request to every actor without one in flight
        (every `interval` seconds)."""
        import ray

        now = time.monotonic()
        if now - self._asked < self.interval:
            return
        self._asked = now
        if self._pending:
            ready, _ = ray.wait(list(self._pending.values()), num_returns=len(self._pending), timeout=0)
            for name, ref in list(self._pending.items()):
                if ref in ready:
                    del self._pending[name]
                    try:
                        self.receive(name, ray.get(ref))
                    except ray.exceptions.RayError:  # the actor died: its restart answers a later request
                        pass
        for name, actor in self.actors.items():
            if name not in self._pending:
                self._pending[name] = actor.stats.remote()

    def refresh(self) -> None:
        """Wait for a fresh answer of every actor (asked again while one is being restarted)."""
        self._pending = {}
        for name, actor in self.actors.items():
            self.receive(name, call_actor(actor.stats.remote, f"{name} stats"))

    def receive(self, name: str, stats: ServerStats | BufferStats) -> None:
        """Keep an answer of the actor `name` (a server that restarted since its last answer
        starts its counters again: the last ones before the restart are kept apart)."""
        if isinstance(stats, BufferStats):
            self.buffer = stats
            return
        last = self.servers.get(name)
        if last is not None and stats.uptime_s < last.uptime_s:  # restarted since the last answer
            earlier = self._earlier.setdefault(name, dict.fromkeys(COUNTERS, 0.0))
            for key in COUNTERS:
                earlier[key] += getattr(last, key)
        self.servers[name] = stats

    def server_totals(self) -> list[ServerStats]:
        """Each server's last answer with its counters continued over its restarts."""
        out = []
        for name, stats in self.servers.items():
            earlier = self._earlier.get(name, {})
            out.append(replace(stats, **{k: getattr(stats, k) + v for k, v in earlier.items()}))
        return out


def process_tree(roots: list[int]) -> list[Any]:
    """The psutil processes of `roots` and of every process below them (those gone are left out)."""
    import psutil

    found: dict[int, Any] = {}
    for pid in roots:
        try:
            root = psutil.Process(pid)
            for p in [root, *root.children(recursive=True)]:
                found[p.pid] = p
        except psutil.NoSuchProcess:
            continue
    return list(found.values())


class CpuMeter:
    """CPU seconds (user + system) the run's processes used since the meter was made: the
    driver's process and every process below it (a local Ray and its actors), plus the actor
    processes `add` names (a cluster's actors on this machine). A process that ended keeps its
    last reading, so an actor Ray restarted still counts; one started later counts from zero."""

    def __init__(self, roots: list[int] | None = None) -> None:
        self.roots = [os.getpid()] if roots is None else list(roots)
        self._first: dict[tuple[int, float], float] = {}  # (pid, create time) -> CPU s at the first reading
        self._last: dict[tuple[int, float], float] = {}
        self._read(first=True)

    def add(self, pids: list[int]) -> None:
        """Count the processes `pids` (and those below them) too, from now on."""
        self.roots += [pid for pid in pids if pid not in self.roots]
        self._read(first=True)

    def _read(self, first: bool = False) -> None:
        for p in process_tree(self.roots):
            try:
                t = p.cpu_times()
                key = (p.pid, p.create_time())
            except Exception:  # exited between the listing and the reading, or not ours to read
                continue
            if first:
                self._first.setdefault(key, t.user + t.system)
            self._last[key] = t.user + t.system

    def seconds(self) -> float:
        """CPU seconds used since the meter was made."""
        self._read()
        return sum(max(0.0, used - self._first.get(key, 0.0)) for key, used in self._last.items())


def local_actor_pids(actors: list[Any]) -> list[int]:
    """Process ids of those of `actors` that run on the caller's Ray node (asked of each actor:
    call it while they are idle)."""
    import ray

    def where(_self: Any) -> tuple[str, int]:
        import os

        import ray

        return ray.get_runtime_context().get_node_id(), os.getpid()

    node = ray.get_runtime_context().get_node_id()
    return [pid for actor_node, pid in ray.get([a.__ray_call__.remote(where) for a in actors]) if actor_node == node]
