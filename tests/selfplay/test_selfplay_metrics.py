"""Prometheus metrics of `dpv launch selfplay`: the endpoint scraped during a real local run
(tiny network, the session's Ray, embedded Redis), the final `metrics.prom` against the games
the run stored, and the Grafana dashboard and Prometheus config against what is exported."""
from __future__ import annotations

import dataclasses
import json
import math
import re
import threading
import time
from pathlib import Path
from urllib.request import urlopen

import numpy as np
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from test_selfplay import stored_games, tiny

from dpv.selfplay.config import MetricsSection

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "cluster" / "grafana-dashboard.json"
PROMETHEUS = ROOT / "cluster" / "prometheus.yml"

Samples = dict[str, list[tuple[dict[str, str], float]]]


def parse(text: str) -> Samples:
    """Prometheus text format -> sample name -> [(labels, value)]."""
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append((sample.labels, sample.value))
    return out


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of the samples of `name` whose labels include `labels`."""
    return sum(v for have, v in samples.get(name, []) if labels.items() <= have.items())


def start_event(run_dir: Path) -> dict | None:
    """The start event of the run's metrics.jsonl, once it is written."""
    path = run_dir / "metrics.jsonl"
    if path.is_file():
        for line in path.read_text().splitlines():
            event = json.loads(line)
            if event["event"] == "start":
                return event
    return None


@pytest.fixture(scope="module")
def metrics_run(ray_session, tmp_path_factory):
    """A short run (one training cycle, one gating) with its endpoint on a free port, scraped
    every 0.2 s from the start event until the run returns."""
    from dpv.selfplay.launch import launch

    run_dir = tmp_path_factory.mktemp("metrics") / "run"
    cfg = dataclasses.replace(tiny(), metrics=MetricsSection(port=0, host="127.0.0.1"))
    result: dict = {}

    def play() -> None:
        try:
            result["summary"] = launch(cfg, run_dir, max_games=12, quiet=True)
        except BaseException as err:  # re-raised in the test's thread
            result["error"] = err

    thread = threading.Thread(target=play, daemon=True)
    thread.start()
    url, scrapes = None, []
    deadline = time.monotonic() + 180
    while thread.is_alive() and time.monotonic() < deadline:
        event = start_event(run_dir)
        url = event and event["metrics_url"]
        if url:
            try:
                scrapes.append(parse(urlopen(url, timeout=5).read().decode()))
            except OSError:  # the endpoint closed as the run ended
                pass
        time.sleep(0.2)
    thread.join(timeout=60)
    if "error" in result:
        raise result["error"]
    assert "summary" in result, "the run did not finish in time"
    final = parse((run_dir / "metrics.prom").read_text())
    return cfg, run_dir, result["summary"], url, scrapes, final


def test_endpoint_serves_the_run_while_it_plays(metrics_run):
    _, _, summary, url, scrapes, final = metrics_run
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/metrics", url) and not url.endswith(":0/metrics")
    assert len(scrapes) >= 3
    games = [value(s, "dpv_games_total") for s in scrapes]
    assert games == sorted(games) and games[-1] <= value(final, "dpv_games_total")
    playing = [s for s in scrapes if value(s, "dpv_games_total") > 0 and value(s, "dpv_server_batch_size_count") > 0]
    assert playing, "no scrape saw stored games and server batches"
    assert all(value(s, "dpv_positions_total") >= value(s, "dpv_games_total") for s in playing)
    assert all(0 <= value(s, "dpv_model_version") <= summary.best_version for s in scrapes)


def test_final_metrics_agree_with_the_stored_games(metrics_run):
    from dpv.selfplay.records import decode

    cfg, run_dir, summary, _, _, final = metrics_run
    games = [decode(d) for d in stored_games(run_dir)]
    positions = sum(g.num_moves for g in games)
    assert value(final, "dpv_games_total") == len(games) == summary.games >= 12
    assert value(final, "dpv_positions_total") == positions == summary.positions
    assert value(final, "dpv_worker_games_total") == len(games)
    assert value(final, "dpv_worker_positions_total") == positions
    assert 0 < value(final, "dpv_worker_wait_seconds_total") <= value(final, "dpv_worker_wall_seconds_total")
    assert value(final, "dpv_buffer_games") == len(games)  # the window (1,000) holds them all
    assert value(final, "dpv_buffer_positions") == positions
    # FLOPs per move: every self-play leaf answered by the deepest exit, within the budget
    flops, moves = value(final, "dpv_search_flops_total"), value(final, "dpv_search_moves_total")
    assert moves == positions and flops == pytest.approx(sum(g.flops for g in games))
    deepest = sum(g.flops for g in games) / sum(int(g.evals_per_exit[-1]) for g in games)
    assert 0 < flops / moves <= cfg.search.simulations * deepest * (1 + 1e-9)


def test_final_metrics_agree_with_the_servers_learner_and_gating(metrics_run):
    _, _, summary, _, _, final = metrics_run
    evals = [value(final, "dpv_server_evaluations_total", exit=str(k)) for k in range(2)]
    assert evals[0] == 0 and evals[1] > 0  # self-play asks the deepest exit only
    count = value(final, "dpv_server_batch_size_count")
    assert count > 0 and value(final, "dpv_server_batch_size_sum") == sum(evals)
    buckets = sorted((float(labels["le"]), v) for labels, v in final["dpv_server_batch_size_bucket"])
    assert [v for _, v in buckets] == sorted(v for _, v in buckets) and buckets[-1] == (math.inf, count)
    assert value(final, "dpv_server_queue_wait_seconds_count") >= count  # a batch answers 1+ requests
    assert value(final, "dpv_server_queue_wait_seconds_sum") >= 0
    assert value(final, "dpv_model_version") == summary.best_version == summary.promotions >= 1
    assert value(final, "dpv_server_model_version", server="0") == summary.best_version
    backend = summary.server_backends[0]  # the server's backend, in summary.json and as the version's label
    assert value(final, "dpv_server_model_version", server="0", backend=backend) == summary.best_version
    assert value(final, "dpv_learner_steps_total") == summary.learner_step > 0
    assert value(final, "dpv_learner_cycles_total") == len(summary.cycles)
    last = summary.cycles[-1]
    for head in ("policy", "value"):
        losses = [value(final, "dpv_learner_loss", head=head, exit=str(k)) for k in range(2)]
        assert np.allclose(losses, getattr(last, f"{head}_loss"))
    assert value(final, "dpv_learner_total_loss") == pytest.approx(last.loss)
    assert value(final, "dpv_gating_games_total") == sum(g.games for g in summary.gating) > 0
    assert value(final, "dpv_gating_matches_total", outcome="promoted") == summary.promotions
    assert value(final, "dpv_gating_win_rate") == pytest.approx(summary.gating[-1].win_rate)
    assert value(final, "dpv_gating_threshold") == 0.0  # the tiny config promotes every candidate
    restarts = {labels["actor"]: v for labels, v in final["dpv_actor_restarts_total"]}
    assert restarts.keys() == summary.actor_rss_mib.keys() and not any(restarts.values())


def dashboard_exprs(dashboard: dict) -> list[str]:
    """Every query expression of the dashboard's panels (rows' panels included)."""
    panels = [p for top in dashboard["panels"] for p in (top, *top.get("panels", []))]
    return [t["expr"] for p in panels for t in p.get("targets", [])]


def metric_names(expr: str) -> set[str]:
    """The metrics a Grafana PromQL expression selects; a syntax error raises ValueError."""
    import promql_parser

    for macro, value in (("$__rate_interval", "1m"), ("$__range", "1h"), ("$instance", ".*")):
        expr = expr.replace(macro, value)
    names: set[str] = set()
    promql_parser.walk(promql_parser.parse(expr), lambda node: names.add(node.name)
                       if isinstance(node, promql_parser.VectorSelector) else None)
    return names


def test_dashboard_reads_exactly_the_exported_metrics(metrics_run):
    from dpv.selfplay.metrics import METRICS

    *_, final = metrics_run
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = dashboard_exprs(dashboard)
    used = set().union(*map(metric_names, exprs))
    assert exprs and used <= final.keys(), f"not exported: {sorted(used - final.keys())}"
    families = {name + ("_total" if kind == "counter" else "") for name, (kind, _, _) in METRICS.items()}
    unseen = {f for f in families if not any(u == f or u.startswith(f + "_") for u in used)}
    assert not unseen, f"exported but on no panel: {sorted(unseen)}"
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    panels = [p for top in dashboard["panels"] for p in (top, *top.get("panels", []))]
    assert all(p["datasource"]["uid"] == "${datasource}" for p in panels if p.get("targets"))
    gating = [p for p in panels if any("dpv_gating_win_rate" in t["expr"] for t in p.get("targets", []))]
    steps = gating[0]["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert 0.55 in [s["value"] for s in steps]


def test_prometheus_scrapes_the_paper_preset_endpoint():
    from dpv.selfplay.config import load_selfplay_config

    port = load_selfplay_config(ROOT / "configs" / "selfplay-9x9.yaml").metrics.port
    jobs = yaml.safe_load(PROMETHEUS.read_text())["scrape_configs"]
    targets = [t for job in jobs for group in job["static_configs"] for t in group["targets"]]
    assert any(t.endswith(f":{port}") for t in targets)


def test_a_busy_port_is_a_one_line_error():
    from dpv.selfplay.metrics import RunMetrics

    first = RunMetrics()
    try:
        url = first.serve(MetricsSection(port=0))
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        with pytest.raises(ValueError, match=rf"127\.0\.0\.1:{port}.*metrics\.port") as err:
            RunMetrics().serve(MetricsSection(port=port))
        assert "\n" not in str(err.value)
    finally:
        first.close()
    assert RunMetrics().serve(MetricsSection(port=None)) is None  # null: no endpoint
