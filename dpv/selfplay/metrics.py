"""Prometheus metrics of `dpv launch selfplay`, served by the driver (`metrics.port`).

The driver owns one `RunMetrics`: it starts the HTTP endpoint (prometheus-client on its own
CollectorRegistry) and rebuilds the whole set of metric families from a `MetricsSnapshot` of
the run about once a second while the endpoint serves (`due`, `update`; once at the end of
every run): the game store (games, positions, per-worker counters), the search FLOPs of the
games the driver read, the inference servers' and the replay buffer's last `stats()` (polled
without blocking, dpv.selfplay.stats), and the training cycles, gating results, best model
version and actor restarts. A scrape serves the last set. When the run ends the last set is
also written to `metrics.prom` in the run directory (Prometheus text format).

Totals are counters (`_total`; Grafana takes `rate()`), levels are gauges; the servers'
cumulative bucket counts are exported as histograms. `METRICS` lists every family; the
Grafana dashboard (cluster/grafana-dashboard.json) reads them, and a test checks that every
expression of the dashboard names an exported metric.
"""
from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import CollectorRegistry, start_http_server, write_to_textfile
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.utils import floatToGoString

from dpv.selfplay.config import MetricsSection
from dpv.selfplay.inference import BATCH_SIZE_BOUNDS, QUEUE_WAIT_BOUNDS
from dpv.selfplay.messages import BufferStats, ServerStats, TrainingCycle, WorkerCounters

UPDATE_S = 1.0  # the families are rebuilt at most this often

#: Every metric family: name -> (type, help, label names). Counters are exposed with `_total`.
METRICS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "dpv_games": ("counter", "Self-play games in the game store.", ()),
    "dpv_positions": ("counter", "Positions (moves) of the games in the game store.", ()),
    "dpv_search_moves": ("counter", "Moves of the games this driver has read (the denominator of "
                                    "FLOPs per move).", ()),
    "dpv_search_flops": ("counter", "FLOPs the search charged for those games: every leaf evaluation "
                                    "costs the FLOPs of the exit that answered it.", ()),
    "dpv_selfplay_exit": ("gauge", "Exit that answers the self-play leaves (-1: the deepest).", ()),
    "dpv_worker_games": ("counter", "Games a self-play worker has stored.", ("worker",)),
    "dpv_worker_positions": ("counter", "Positions a self-play worker has stored.", ("worker",)),
    "dpv_worker_wait_seconds": ("counter", "Pipeline-seconds a worker waited for server answers.", ("worker",)),
    "dpv_worker_wall_seconds": ("counter", "Pipeline-seconds a worker ran (its waiting share is "
                                           "wait / wall).", ("worker",)),
    "dpv_server_evaluations": ("counter", "Leaf evaluations an inference server answered, by exit.",
                               ("server", "exit")),
    "dpv_server_batch_size": ("histogram", "Rows (leaf positions) per forward of an inference server.",
                              ("server",)),
    "dpv_server_queue_wait_seconds": ("histogram", "Seconds a request waited in an inference server's "
                                                   "queue before its forward began.", ("server",)),
    "dpv_server_forward_seconds": ("counter", "Seconds an inference server spent in forwards.", ("server",)),
    "dpv_server_model_version": ("gauge", "Model version an inference server answers with; its backend label "
                                          "names the inference backend that runs the forwards.", ("server", "backend")),
    "dpv_buffer_games": ("gauge", "Games in the replay buffer's window.", ()),
    "dpv_buffer_positions": ("gauge", "Positions in the replay buffer's window.", ()),
    "dpv_buffer_bytes": ("gauge", "Bytes of the encoded games in the replay buffer's window.", ()),
    "dpv_learner_steps": ("counter", "Learner SGD steps (at the end of the last training cycle).", ()),
    "dpv_learner_cycles": ("counter", "Training cycles this driver has run.", ()),
    "dpv_learner_loss": ("gauge", "Mean loss of the last training cycle per head (policy: cross-entropy, "
                                  "value: squared error) and exit (eq. 6.1-6.2).", ("head", "exit")),
    "dpv_learner_total_loss": ("gauge", "Mean weighted deep-supervision loss of the last training cycle, "
                                        "L2 term included (eq. 6.3).", ()),
    "dpv_learner_samples_per_second": ("gauge", "Training samples per second of the last cycle.", ()),
    "dpv_gating_win_rate": ("gauge", "Win rate of the last candidate against the best network "
                                     "(a draw counts half).", ()),
    "dpv_gating_threshold": ("gauge", "Win rate at which a candidate is promoted (thesis: 0.55).", ()),
    "dpv_gating_games": ("counter", "Games played in gating matches.", ()),
    "dpv_gating_matches": ("counter", "Gating matches by outcome (promoted, kept: the best stayed).",
                           ("outcome",)),
    "dpv_model_version": ("gauge", "Version of the best network (0: the random initial one; +1 per "
                                   "promotion).", ()),
    "dpv_actor_restarts": ("counter", "Restarts of an actor of the run.", ("actor",)),
    "dpv_quarantined_games": ("gauge", "Stored games whose record is damaged, set aside (never sampled, no "
                                       "SGF).", ()),
}

_FAMILIES = {"counter": CounterMetricFamily, "gauge": GaugeMetricFamily, "histogram": HistogramMetricFamily}


@dataclass(frozen=True)
class MetricsSnapshot:
    """The numbers of a run that the metrics export, taken by the driver."""

    games: int
    """Games in the game store."""
    positions: int
    """Positions of those games."""
    search_moves: int
    """Moves of the games the driver has read this session."""
    search_flops: float
    """Search FLOPs those games charged."""
    selfplay_exit: int
    """Exit that answers the self-play leaves."""
    workers: list[WorkerCounters]
    """Each worker's counters in the run state (all sessions)."""
    servers: dict[str, ServerStats]
    """The last stats() answer of each server ("server-0": ...), as it sent it."""
    buffer: BufferStats | None
    """The buffer's last stats() answer (None before the first)."""
    best_version: int
    """Version of the best network."""
    learner_step: int
    """Learner steps at the end of the last cycle."""
    cycles: int
    """Training cycles run."""
    last_cycle: TrainingCycle | None
    """The last training cycle (None before the first)."""
    gating_threshold: float
    """Win rate at which a candidate is promoted."""
    gating_games: int
    """Games played in gating matches."""
    gatings: int
    """Gating matches played."""
    promotions: int
    """Gating matches that promoted the candidate."""
    last_win_rate: float | None
    """Win rate of the last candidate (None before the first gating)."""
    restarts: dict[str, int]
    """Restarts of every actor of the run."""
    quarantined: int = 0
    """Stored games whose record is damaged, set aside."""


class _Families:
    """One rebuild of every family of METRICS (all declared, samples added as known)."""

    def __init__(self) -> None:
        self.families: dict[str, Metric] = {name: _FAMILIES[kind](name, doc, labels=list(labels))
                                            for name, (kind, doc, labels) in METRICS.items()}

    def add(self, name: str, value: float, *labels: str) -> None:
        """One sample of a counter or gauge family."""
        self.families[name].add_metric(list(labels), float(value))

    def histogram(self, name: str, bounds: tuple[float, ...], counts: list[int], total: float,
                  *labels: str) -> None:
        """One histogram from the counts per bucket (the last one above the last bound)."""
        cumulative, buckets = 0, []
        for bound, count in zip((*bounds, float("inf")), counts):
            cumulative += count
            buckets.append((floatToGoString(bound), cumulative))
        self.families[name].add_metric(list(labels), buckets, float(total))


class _Snapshot:
    """The registry's collector: serves the last rebuilt families."""

    def __init__(self) -> None:
        self.families: list[Metric] = []

    def collect(self) -> Iterator[Metric]:
        """The families of the last update."""
        return iter(self.families)


class RunMetrics:
    """The metrics of one run; `serve` starts the endpoint, `close` stops it."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._snapshot = _Snapshot()
        self.registry.register(self._snapshot)
        self.url: str | None = None
        self._httpd = None
        self._updated = float("-inf")

    def serve(self, section: MetricsSection) -> str | None:
        """Start the HTTP endpoint of `section` (none when its port is null); its URL."""
        if section.port is None:
            return None
        try:
            self._httpd, _ = start_http_server(section.port, section.host, self.registry)
        except OSError as err:
            raise ValueError(f"metrics endpoint {section.host}:{section.port}: {err.strerror or err}; "
                             f"set metrics.port to a free port, 0 (any free port) or null (off)") from None
        port = self._httpd.server_address[1]
        host = socket.gethostname() if section.host in ("", "0.0.0.0", "::") else section.host
        self.url = f"http://{host}:{port}/metrics"
        return self.url

    def due(self) -> bool:
        """Whether the endpoint serves and its families are older than UPDATE_S."""
        return self._httpd is not None and time.perf_counter() - self._updated >= UPDATE_S

    def update(self, run: MetricsSnapshot) -> None:
        """Rebuild the families from `run`."""
        self._updated = time.perf_counter()
        out = _Families()
        self._add_store(out, run)
        self._add_actors(out, run)
        self._add_cycle(out, run)
        self._snapshot.families = list(out.families.values())

    def close(self, path: Path | None = None) -> None:
        """Write the last families to `path` (when there are any) and stop the endpoint."""
        if path is not None and self._snapshot.families:
            write_to_textfile(str(path), self.registry)
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    @staticmethod
    def _add_store(out: _Families, run: MetricsSnapshot) -> None:
        out.add("dpv_games", run.games)
        out.add("dpv_quarantined_games", run.quarantined)
        out.add("dpv_positions", run.positions)
        out.add("dpv_search_moves", run.search_moves)
        out.add("dpv_search_flops", run.search_flops)
        out.add("dpv_selfplay_exit", run.selfplay_exit)
        for i, counters in enumerate(run.workers):
            for value, name in ((counters.games, "dpv_worker_games"), (counters.positions, "dpv_worker_positions"),
                                (counters.wait_s, "dpv_worker_wait_seconds"),
                                (counters.wall_s, "dpv_worker_wall_seconds")):
                out.add(name, value, str(i))

    @staticmethod
    def _add_actors(out: _Families, run: MetricsSnapshot) -> None:
        if run.buffer is not None:
            out.add("dpv_buffer_games", run.buffer.games)
            out.add("dpv_buffer_positions", run.buffer.positions)
            out.add("dpv_buffer_bytes", run.buffer.bytes)
        for name, stats in run.servers.items():
            server = name.removeprefix("server-")
            for k, count in enumerate(stats.evals_per_exit):
                out.add("dpv_server_evaluations", count, server, str(k))
            out.histogram("dpv_server_batch_size", BATCH_SIZE_BOUNDS, stats.batch_size_counts, stats.rows, server)
            out.histogram("dpv_server_queue_wait_seconds", QUEUE_WAIT_BOUNDS, stats.queue_wait_counts,
                          stats.queue_s, server)
            out.add("dpv_server_forward_seconds", stats.forward_s, server)
            out.add("dpv_server_model_version", stats.version, server, stats.backend)

    @staticmethod
    def _add_cycle(out: _Families, run: MetricsSnapshot) -> None:
        out.add("dpv_model_version", run.best_version)
        out.add("dpv_learner_steps", run.learner_step)
        out.add("dpv_learner_cycles", run.cycles)
        if run.last_cycle is not None:
            for head, losses in (("policy", run.last_cycle.policy_loss), ("value", run.last_cycle.value_loss)):
                for k, value in enumerate(losses):
                    out.add("dpv_learner_loss", value, head, str(k))
            out.add("dpv_learner_total_loss", run.last_cycle.loss)
            out.add("dpv_learner_samples_per_second", run.last_cycle.samples_per_s)
        out.add("dpv_gating_threshold", run.gating_threshold)
        out.add("dpv_gating_games", run.gating_games)
        out.add("dpv_gating_matches", run.promotions, "promoted")
        out.add("dpv_gating_matches", run.gatings - run.promotions, "kept")
        if run.last_win_rate is not None:
            out.add("dpv_gating_win_rate", run.last_win_rate)
        for actor, restarts in run.restarts.items():
            out.add("dpv_actor_restarts", restarts, actor)
