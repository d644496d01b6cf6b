"""Prometheus metrics of `dpv launch selfplay`, served by the driver (`metrics.port`).

The driver owns one `RunMetrics`: it starts the HTTP endpoint (prometheus-client on its own
CollectorRegistry), counts the search FLOPs of every game the driver reads, and rebuilds the
whole set of metric families from the run about once a second while the endpoint serves
(`update`, from the poll loop; once at the end of every run):
the game store (games, positions, per-worker counters), the inference servers' and the replay
buffer's `stats()` (asked without blocking: an answer arrives at a later update, so a slow or
restarting actor never stalls the driver), and the driver's training cycles, gating results,
best model version and actor restarts. A scrape serves the last set. When the run ends the
last set is also written to `metrics.prom` in the run directory (Prometheus text format).

Totals are counters (`_total`; Grafana takes `rate()`), levels are gauges; the servers'
cumulative bucket counts are exported as histograms. `METRICS` lists every family; the
Grafana dashboard (cluster/grafana-dashboard.json) reads them, and a test checks that every
expression of the dashboard names an exported metric.
"""
from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from prometheus_client import CollectorRegistry, start_http_server, write_to_textfile
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.utils import floatToGoString

from dpv.selfplay.config import MetricsSection
from dpv.selfplay.inference import BATCH_SIZE_BOUNDS, QUEUE_WAIT_BOUNDS

if TYPE_CHECKING:
    from dpv.selfplay.launch import Driver
    from dpv.selfplay.records import SelfPlayGame

UPDATE_S = 1.0          # the families are rebuilt at most this often
FINAL_TIMEOUT_S = 30.0  # the final update waits this long for the actors' statistics

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
    "dpv_server_model_version": ("gauge", "Model version an inference server answers with.", ("server",)),
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
}

_FAMILIES = {"counter": CounterMetricFamily, "gauge": GaugeMetricFamily, "histogram": HistogramMetricFamily}


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
        self._flops = 0.0
        self._moves = 0
        self._stats: dict[str, dict[str, Any]] = {}
        self._pending: dict[str, Any] = {}
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

    def add_game(self, game: SelfPlayGame) -> None:
        """Count the search FLOPs and moves of a game the driver has read."""
        self._flops += game.flops
        self._moves += game.num_moves

    def update(self, driver: Driver, final: bool = False) -> None:
        """Rebuild the families from the run: while the endpoint serves, at most every UPDATE_S;
        `final` (the end of the run, for metrics.prom) waits for fresh statistics of every actor."""
        now = time.perf_counter()
        if not final and (self._httpd is None or now - self._updated < UPDATE_S):
            return
        self._updated = now
        self._poll_actors(driver, final)
        out = _Families()
        self._add_store(out, driver)
        self._add_actors(out)
        self._add_driver(out, driver)
        self._snapshot.families = list(out.families.values())

    def close(self, path: Path | None = None) -> None:
        """Write the last families to `path` (when there are any) and stop the endpoint."""
        if path is not None and self._snapshot.families:
            write_to_textfile(str(path), self.registry)
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def _poll_actors(self, driver: Driver, final: bool) -> None:
        """Keep the answers of the servers' and the buffer's stats() that are in, and keep one
        request in flight per actor (its answer is read at the next update)."""
        import ray

        actors = {f"server-{i}": s for i, s in enumerate(driver.servers)}
        actors["buffer"] = driver.buffer
        if final:
            self._pending = {name: actor.stats.remote() for name, actor in actors.items()}
        if self._pending:
            refs = list(self._pending.values())
            ready, _ = ray.wait(refs, num_returns=len(refs), timeout=FINAL_TIMEOUT_S if final else 0)
            for name, ref in list(self._pending.items()):
                if ref in ready:
                    del self._pending[name]
                    try:
                        self._stats[name] = ray.get(ref)
                    except ray.exceptions.RayError:  # the actor died: its restart answers a later call
                        pass
        if not final:
            for name, actor in actors.items():
                if name not in self._pending:
                    self._pending[name] = actor.stats.remote()

    def _add_store(self, out: _Families, driver: Driver) -> None:
        store = driver.store
        out.add("dpv_games", store.num_games())
        out.add("dpv_positions", store.num_positions())
        out.add("dpv_search_moves", self._moves)
        out.add("dpv_search_flops", self._flops)
        out.add("dpv_selfplay_exit", store.get_int("selfplay_exit", driver.cfg.search.exit))
        for i in range(driver.cfg.worker.workers):
            counters = store.counters(f"worker:{i}")
            for key, name in (("games", "dpv_worker_games"), ("positions", "dpv_worker_positions"),
                              ("wait_s", "dpv_worker_wait_seconds"), ("wall_s", "dpv_worker_wall_seconds")):
                out.add(name, counters.get(key, 0.0), str(i))

    def _add_actors(self, out: _Families) -> None:
        for name, stats in self._stats.items():
            if name == "buffer":
                out.add("dpv_buffer_games", stats["games"])
                out.add("dpv_buffer_positions", stats["positions"])
                out.add("dpv_buffer_bytes", stats["bytes"])
                continue
            server = name.removeprefix("server-")
            for k, count in enumerate(stats["evals_per_exit"]):
                out.add("dpv_server_evaluations", count, server, str(k))
            out.histogram("dpv_server_batch_size", BATCH_SIZE_BOUNDS, stats["batch_size_counts"],
                          stats["rows"], server)
            out.histogram("dpv_server_queue_wait_seconds", QUEUE_WAIT_BOUNDS, stats["queue_wait_counts"],
                          stats["queue_s"], server)
            out.add("dpv_server_forward_seconds", stats["forward_s"], server)
            out.add("dpv_server_model_version", stats["version"], server)

    def _add_driver(self, out: _Families, driver: Driver) -> None:
        summary = driver.summary
        out.add("dpv_model_version", summary.best_version)
        out.add("dpv_learner_steps", summary.learner_step)
        out.add("dpv_learner_cycles", len(summary.cycles))
        if summary.cycles:
            last = summary.cycles[-1]
            for head in ("policy", "value"):
                for k, value in enumerate(last[f"{head}_loss"]):
                    out.add("dpv_learner_loss", value, head, str(k))
            out.add("dpv_learner_total_loss", last["loss"])
            out.add("dpv_learner_samples_per_second", last["samples_per_s"])
        out.add("dpv_gating_threshold", driver.cfg.gating.threshold)
        out.add("dpv_gating_games", sum(g["games"] for g in summary.gating))
        promoted = sum(g["promote"] for g in summary.gating)
        out.add("dpv_gating_matches", promoted, "promoted")
        out.add("dpv_gating_matches", len(summary.gating) - promoted, "kept")
        if summary.gating:
            out.add("dpv_gating_win_rate", summary.gating[-1]["win_rate"])
        for actor in sorted(set(driver.actors) | set(driver.restarts)):
            out.add("dpv_actor_restarts", driver.restarts.get(actor, 0), actor)
