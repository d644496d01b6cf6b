"""The driver's statistics without Ray: server counters over restarts, rates, the metrics
snapshot into Prometheus families."""
from __future__ import annotations

import dataclasses

import pytest
from prometheus_client.parser import text_string_to_metric_families

from dpv.selfplay.messages import BufferStats, GatingResult, ServerStats, TrainResult, WorkerCounters
from dpv.selfplay.metrics import METRICS, MetricsSnapshot, RunMetrics
from dpv.selfplay.stats import StatsPoller, throughput


def server_stats(rows: int, batches: int, forward_s: float, uptime_s: float, version: int = 0) -> ServerStats:
    """A server's answer with these counters (every request one batch)."""
    return ServerStats(requests=batches, rows=rows, batches=batches, forward_s=forward_s, queue_s=0.5, swaps=0,
                       evals_per_exit=[0, rows], batch_size_counts=[batches], queue_wait_counts=[batches],
                       version=version, device="cpu", uptime_s=uptime_s)


def test_server_counters_continue_over_a_restart():
    poller = StatsPoller([], buffer=None)
    poller.receive("server-0", server_stats(100, 10, 1.0, uptime_s=5.0))
    poller.receive("server-0", server_stats(300, 20, 2.0, uptime_s=9.0))
    poller.receive("server-0", server_stats(40, 4, 0.5, uptime_s=1.0, version=2))  # restarted by Ray
    poller.receive("buffer", BufferStats(games=3, positions=90, bytes=900, first_id=0, next_id=3))
    [total] = poller.server_totals()
    assert (total.rows, total.batches, total.requests, total.forward_s, total.queue_s) == (340, 24, 24, 2.5, 1.0)
    assert total.version == 2 and total.mean_batch == pytest.approx(340 / 24)
    assert poller.servers["server-0"].rows == 40  # the metrics export what the server sent
    assert poller.buffer.games == 3


def test_throughput_of_the_servers_and_workers():
    workers = [WorkerCounters(games=2, positions=60, evals=500, wait_s=1.0, wall_s=4.0),
               WorkerCounters(games=1, positions=40, evals=300, wait_s=1.0, wall_s=4.0)]
    rates = throughput(10.0, [server_stats(800, 40, 5.0, 10.0), server_stats(200, 10, 1.0, 10.0)], workers)
    assert rates.games_per_h == pytest.approx(3 / 10 * 3600) and rates.positions_per_s == pytest.approx(10.0)
    assert rates.evals_per_s == pytest.approx(100.0) and rates.mean_batch == pytest.approx(20.0)
    assert rates.wait_share == pytest.approx(0.25) and rates.server_forward_share == pytest.approx(0.3)
    empty = throughput(1.0, [], [])  # before the first answers
    assert (empty.evals_per_s, empty.mean_batch, empty.wait_share) == (0.0, 0.0, 0.0)


def snapshot(**changes) -> MetricsSnapshot:
    """A snapshot of a run with one worker, one server, a cycle and a promotion."""
    from dpv.selfplay.messages import GatingRecord, TrainingCycle

    cycle = TrainingCycle(**vars(TrainResult(step=5, checkpoint="c", loss=2.0, policy_loss=[1.0, 0.8],
                                              value_loss=[0.5, 0.4], samples_per_s=50.0, seconds=1.0)),
                          games=12, selfplay_exit=None)
    gating = GatingRecord(**vars(GatingResult(games=4, wins=3, losses=1, draws=0, win_rate=0.75, promote=True,
                                              candidate="c")), step=5, best_version=1)
    run = MetricsSnapshot(
        games=12, positions=300, search_moves=300, search_flops=3e9, selfplay_exit=-1,
        workers=[WorkerCounters(games=12, positions=300, evals=2000, wait_s=3.0, wall_s=9.0)],
        servers={"server-0": server_stats(2000, 100, 4.0, 20.0, version=1)},
        buffer=BufferStats(games=12, positions=300, bytes=4000, first_id=0, next_id=12), best_version=1,
        learner_step=cycle.step, cycles=1, last_cycle=cycle, gating_threshold=0.55, gating_games=gating.games,
        gatings=1, promotions=1, last_win_rate=gating.win_rate, restarts={"learner": 0, "worker-0": 2})
    return dataclasses.replace(run, **changes)


def exported(run: MetricsSnapshot, tmp_path) -> dict[str, list[tuple[dict[str, str], float]]]:
    """The samples RunMetrics writes for `run`."""
    metrics = RunMetrics()
    metrics.update(run)
    metrics.close(tmp_path / "metrics.prom")
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families((tmp_path / "metrics.prom").read_text()):
        for sample in family.samples:
            out.setdefault(sample.name, []).append((sample.labels, sample.value))
    return out


def test_metrics_export_the_snapshot(tmp_path):
    samples = exported(snapshot(), tmp_path)
    assert {name for name in METRICS if not any(s.startswith(name) for s in samples)} == set()
    assert samples["dpv_games_total"] == [({}, 12.0)] and samples["dpv_search_flops_total"] == [({}, 3e9)]
    assert samples["dpv_worker_wait_seconds_total"] == [({"worker": "0"}, 3.0)]
    assert samples["dpv_server_evaluations_total"] == [({"server": "0", "exit": "0"}, 0.0),
                                                       ({"server": "0", "exit": "1"}, 2000.0)]
    assert samples["dpv_learner_loss"][1] == ({"head": "policy", "exit": "1"}, 0.8)
    assert samples["dpv_gating_matches_total"] == [({"outcome": "promoted"}, 1.0), ({"outcome": "kept"}, 0.0)]
    assert samples["dpv_actor_restarts_total"] == [({"actor": "learner"}, 0.0), ({"actor": "worker-0"}, 2.0)]


def test_metrics_of_a_run_before_its_first_answers_and_cycle(tmp_path):
    samples = exported(snapshot(servers={}, buffer=None, cycles=0, last_cycle=None, gatings=0, promotions=0,
                                gating_games=0, last_win_rate=None), tmp_path)
    assert "dpv_buffer_games" not in samples and "dpv_server_batch_size_count" not in samples
    assert "dpv_learner_loss" not in samples and "dpv_gating_win_rate" not in samples
    assert samples["dpv_learner_cycles_total"] == [({}, 0.0)]


def test_the_cpu_meter_counts_a_process_from_its_start_and_keeps_its_reading_after_it_ended():
    import os
    import subprocess
    import sys
    import time

    from dpv.selfplay.stats import CpuMeter

    assert CpuMeter().roots == [os.getpid()]  # by default: the driver and every process below it
    code = "import sys\nsys.stdin.readline()\nx = sum(i * i for i in range(3_000_000))\nsys.stdin.read()"
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE)
    try:
        meter = CpuMeter([child.pid])
        child.stdin.write(b"go\n")
        child.stdin.flush()
        used = 0.0
        for _ in range(1200):  # until the child's sum has used some CPU (polled, no time asserted)
            used = meter.seconds()
            if used >= 0.1:
                break
            time.sleep(0.05)
        assert used >= 0.1
    finally:
        child.communicate(b"")
    assert meter.seconds() >= used  # the child ended: its last reading still counts
