"""Faults in `dpv launch selfplay`, injected into real local runs (the session's Ray, embedded
Redis, a tiny network): killed workers, inference server, learner and gating actors, a game
store that goes away and comes back, and `--resume` of a stopped run. Each checks that no
stored game is lost or stored twice."""
from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from test_selfplay import stored_games, tiny

from dpv.selfplay.records import decode
from dpv.selfplay.store import EmbeddedRedis, GameStore

WAIT_S = 120.0


def wait_for(condition: Callable[[], Any], what: str, timeout: float = WAIT_S) -> Any:
    """Poll `condition` until it is truthy (its value), failing after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def game_keys(games: list[bytes]) -> list[tuple[int, int, int]]:
    """(worker, seed, serial) of each stored game: unique unless a game was stored twice or a
    restarted worker replayed an earlier start's games."""
    return [(g.worker, g.seed, g.serial) for g in map(decode, games)]


def test_store_waits_while_redis_is_down_and_adds_each_game_once(tmp_path, caplog):
    server = EmbeddedRedis(tmp_path / "redis")
    url = server.url
    store = GameStore(url)
    try:
        for i in range(3):
            assert store.add_game(b"game-%d" % i, 10) == i
        server.close()  # Redis goes away: the next add must wait, not fail or drop the game
        added: dict[str, int] = {}
        thread = threading.Thread(target=lambda: added.update(id=store.add_game(b"game-3", 10, token="g3")),
                                  daemon=True)
        with caplog.at_level(logging.WARNING, logger="dpv.selfplay"):
            thread.start()
            wait_for(lambda: "unreachable" in caplog.text, "the retry log line", 30)
            assert thread.is_alive() and not added
            server = EmbeddedRedis(tmp_path / "redis")  # same directory: same socket, AOF data
            assert server.url == url
            thread.join(timeout=60)
        assert added == {"id": 3}
        assert f"redis at {url} unreachable" in caplog.text and "retrying in" in caplog.text
        assert store.add_game(b"game-3", 10, token="g3") == 3  # a retried add stores nothing
        assert store.games(0) == [b"game-%d" % i for i in range(4)]
        assert store.num_positions() == 40
    finally:
        server.close()


def kill_in_flight(driver: Any, attribute: str, actor: str, kills: dict[str, int]) -> None:
    """Kill `actor` while the driver waits on its call (`driver.<attribute>`) until the driver
    has seen the call fail and submitted it again (a call that finishes before the kill lands
    is tried on the next one)."""
    for _ in range(5):
        call = wait_for(lambda: getattr(driver, attribute), f"a {actor} call in flight")
        ref = call.ref
        kill(driver, actor, kills)
        wait_for(lambda call=call, ref=ref: call.ref is not ref or getattr(driver, attribute) is not call,
                 f"the driver to see {actor}'s call end")
        if call.ref is not ref:
            return
    pytest.fail(f"{actor}'s calls kept finishing before the kill landed")


def kill(driver: Any, actor: str, kills: dict[str, int], process: bool = False) -> None:
    """Kill one of the run's actors: `ray.kill` as when its node fails, or SIGKILL to its
    process (`process`, async actors only); Ray restarts it either way."""
    import ray

    handle = driver.actors[actor]
    if process:
        os.kill(ray.get(handle.__ray_call__.remote(lambda _self: os.getpid())), signal.SIGKILL)
    else:
        ray.kill(handle, no_restart=False)
    kills[actor] = kills.get(actor, 0) + 1


def test_run_survives_faults_and_resumes(ray_session, tmp_path, caplog):
    """One run: Redis goes away and comes back; the worker, the inference server (its
    process), the learner and the gating actor are killed while they work; the run stops and
    is resumed to more games. No stored game is lost or duplicated."""
    from dpv.selfplay.cycle import Limits
    from dpv.selfplay.launch import Driver, launch
    from dpv.selfplay.learner import Learner
    from dpv.selfplay.retry import call_actor
    from dpv.selfplay.rundir import RunDir

    # A cycle per 6 games (tiny's 12 halved): the promotion and the training and gating calls to kill come sooner.
    cfg = tiny(learner={"steps": 40, "min_games": 6, "games_per_cycle": 6}, gating={"games": 6})
    run_dir = tmp_path / "run"
    RunDir(run_dir).prepare(resume=False)
    driver = Driver(cfg, run_dir, max_games=None, quiet=True)
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["summary"] = driver.run()
        except BaseException as err:  # raised in the test below
            outcome["error"] = err

    thread = threading.Thread(target=run, daemon=True)
    store = driver.store
    kills: dict[str, int] = {}
    faults: list[tuple[str, int]] = []  # (fault, games stored just before it)
    snapshots: list[list[bytes]] = []  # the stored games before each fault

    def before(fault: str) -> None:
        snapshots.append(store.games(0))
        faults.append((fault, len(snapshots[-1])))

    def more_games(n: int = 3) -> None:
        wait_for(lambda: store.num_games() >= faults[-1][1] + n, f"{n} games after the {faults[-1][0]} fault")

    thread.start()
    try:
        wait_for(lambda: "worker-0" in driver.actors and store.num_games() >= 4, "the first games")
        before("redis")
        with caplog.at_level(logging.WARNING, logger="dpv.selfplay"):
            driver.embedded.close()  # the driver and the worker block until it is back
            time.sleep(1.0)
            driver.embedded = EmbeddedRedis(run_dir / "redis")
            more_games()
        assert "unreachable, retrying in" in caplog.text

        before("worker-0")
        kill(driver, "worker-0", kills)
        more_games()

        version = wait_for(lambda: driver.summary.best_version, "the first promotion")
        before("server-0")
        kill(driver, "server-0", kills, process=True)
        more_games()
        restarted = call_actor(driver.actors["server-0"].stats.remote, "stats")
        assert restarted.version >= version >= 1  # not the version it was first started with

        before("learner")
        kill_in_flight(driver, "training", "learner", kills)
        before("gating")
        kill_in_flight(driver, "gating", "gating", kills)
        gated = len(driver.summary.gating)
        wait_for(lambda: len(driver.summary.gating) > gated, "the gating submitted again")
        driver.cycle.limits = Limits(max_games=store.num_games() + 1)
        thread.join(timeout=WAIT_S)
    finally:
        if thread.is_alive():
            driver.cycle.limits = Limits(max_games=0)
            thread.join(timeout=WAIT_S)
    if "error" in outcome:
        raise outcome["error"]
    first = outcome["summary"]
    games = stored_games(run_dir)
    for snapshot in snapshots:  # every game stored before a fault is still there, unchanged
        assert games[:len(snapshot)] == snapshot
    assert len(games) == first.games == len(list((run_dir / "sgf").glob("*.sgf")))
    assert len(set(game_keys(games))) == len(games)
    # Every killed actor came back; a second kill that lands while Ray is still restarting the
    # actor (kill_in_flight retries when a call finished first) costs no extra start.
    assert first.restarts == driver.restarts and first.restarts.keys() == kills.keys()
    assert all(1 <= first.restarts[actor] <= kills[actor] for actor in kills), (first.restarts, kills)
    events = [line for line in (run_dir / "metrics.jsonl").read_text().splitlines() if '"restart"' in line]
    assert len(events) == sum(first.restarts.values())
    steps = [c.step for c in first.cycles]
    assert steps == [cfg.learner.steps * (i + 1) for i in range(len(steps))]  # each cycle resumed
    assert first.server_versions == [first.best_version] == [first.promotions]
    restarted_learner = Learner(cfg.net, cfg.loss, cfg.learner, str(run_dir / "checkpoints" / "initial.pt"),
                                str(run_dir / "checkpoints"), buffer=None)  # what Ray runs on a restart
    assert restarted_learner.step == first.learner_step and restarted_learner.optimizer.state  # momentum kept

    for path in sorted((run_dir / "sgf").glob("*.sgf"))[-5:]:  # as if the driver died before writing them
        path.unlink()
    more = cfg.learner.games_per_cycle  # enough for a new cycle
    second = launch(cfg, run_dir, max_games=first.games + more, resume=True, quiet=True)
    resumed = stored_games(run_dir)
    assert resumed[:len(games)] == games
    assert len(list((run_dir / "sgf").glob("*.sgf"))) == len(resumed)
    assert len(resumed) == second.games >= first.games + more
    assert len(set(game_keys(resumed))) == len(resumed)
    steps = [c.step for c in second.cycles]
    assert steps[:len(first.cycles)] == [c.step for c in first.cycles]  # the history is kept
    assert len(steps) > len(first.cycles)
    assert steps == [cfg.learner.steps * (i + 1) for i in range(len(steps))]  # the step count continues
    assert second.best_version == second.promotions > first.best_version
    assert second.server_versions == [second.best_version]
    assert second.restarts == {}
    print(f"\nfaults (fault, games stored before it): {faults}; kills {kills}; restarts seen {first.restarts}; "
          f"games after the faulty run {len(games)}, after --resume {len(resumed)}; games lost 0 (every game "
          f"stored before each fault is still stored, byte for byte); duplicates "
          f"{len(resumed) - len(set(game_keys(resumed)))}; learner steps {steps}; "
          f"best version {first.best_version} -> {second.best_version}")


def test_a_store_left_running_by_a_dead_driver_is_taken_over(tmp_path):
    """A driver killed outright leaves its embedded redis-server running: the next
    EmbeddedRedis on the directory (--resume) stops it and serves every game it held."""
    import subprocess
    import sys

    import psutil

    script = ("import os, sys; from dpv.selfplay.store import EmbeddedRedis, GameStore; "
              "s = EmbeddedRedis(sys.argv[1]); [GameStore(s.url).add_game(b'g%d' % i, 1) for i in range(5)]; "
              "print(s.server.pid, flush=True); os._exit(0)")  # no cleanup: the server outlives its driver
    orphan = int(subprocess.run([sys.executable, "-c", script, str(tmp_path / "redis")], check=True,
                                timeout=60, capture_output=True, text=True).stdout)
    assert psutil.pid_exists(orphan)
    server = EmbeddedRedis(tmp_path / "redis")
    try:
        assert not psutil.pid_exists(orphan)  # one server on the data, not two
        assert GameStore(server.url).games(0) == [b"g%d" % i for i in range(5)]
        assert GameStore(server.url).add_game(b"g5", 1) == 5
    finally:
        server.close()
    assert stored_games(tmp_path) == [b"g%d" % i for i in range(6)]
