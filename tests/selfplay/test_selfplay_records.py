"""The self-play game format, bit-packed planes, the game store and the config: no Ray."""
from __future__ import annotations

import numpy as np
import pytest

from dpv.config import ConfigError, from_dict
from dpv.nets.config import load_net_config
from dpv.selfplay.config import SelfPlayConfig, load_selfplay_config
from dpv.selfplay.messages import WorkerCounters
from dpv.selfplay.packing import pack_mask, pack_planes, unpack_mask, unpack_planes
from dpv.selfplay.records import RecordError, SelfPlayGame, decode, encode, num_moves
from dpv.selfplay.state import RunState
from dpv.selfplay.store import EmbeddedRedis, GameStore


def random_game(rng: np.random.Generator, moves: int = 30, size: int = 9) -> SelfPlayGame:
    """A game of random legal moves with random sparse search distributions."""
    from go_engine import Board

    board = Board(size)
    actions, pa, ps = [], [], []
    for _ in range(moves):
        legal = np.flatnonzero(board.legal_actions())
        a = int(rng.choice(legal))
        support = np.unique(np.append(rng.choice(legal, size=min(len(legal), 5)), a))
        shares = rng.random(len(support)).astype(np.float32)
        actions.append(a)
        pa.append(support)
        ps.append(shares / shares.sum())
        board.play(a)
    return SelfPlayGame(size=size, komi=7.5, actions=np.array(actions),
                        root_values=rng.uniform(-1, 1, moves).astype(np.float32),
                        pi_counts=np.array([len(a) for a in pa]), pi_actions=np.concatenate(pa),
                        pi_shares=np.concatenate(ps), winner=board.winner(), resigned=False, score=board.score(),
                        model_version=3, worker=1, serial=7, seed=11, evals_per_exit=np.array([0, 5, 90]), flops=1.5e9)


def test_record_roundtrip_is_compact():
    rng = np.random.default_rng(0)
    game = random_game(rng)
    data = encode(game)
    back = decode(data)
    assert num_moves(data) == game.num_moves == back.num_moves
    assert back.actions.tolist() == game.actions.tolist()
    np.testing.assert_allclose(back.root_values, game.root_values, atol=1e-3)
    for t in range(game.num_moves):
        assert back.sparse_pi(t)[0].tolist() == game.sparse_pi(t)[0].tolist()
        np.testing.assert_allclose(back.dense_pi(t), game.dense_pi(t), atol=1 / 131070 + 1e-7)
    assert (back.winner, back.score, back.model_version, back.worker, back.serial, back.seed, back.flops) == \
        (game.winner, game.score, 3, 1, 7, 11, 1.5e9)
    assert back.evals_per_exit.tolist() == [0, 5, 90]
    assert back.z(0) == game.winner and back.z(1) == -game.winner
    # 6 bytes per move + 4 per searched child (here up to 6) + a fixed header: far below planes
    assert len(data) < 6 * 30 + 4 * 6 * 30 + 100
    with pytest.raises(RecordError):
        decode(b"XXXX" + data[4:])
    with pytest.raises(RecordError):
        decode(data[:20])


def test_packed_planes_roundtrip():
    rng = np.random.default_rng(1)
    planes = (rng.random((5, 17, 9, 9)) < 0.3).astype(np.float32)
    packed = pack_planes(planes)
    assert packed.dtype == np.uint8 and packed.shape == (5, (17 * 81 + 7) // 8)
    assert np.array_equal(unpack_planes(packed, (17, 9, 9)), planes)
    mask = rng.random((5, 82)) < 0.5
    assert np.array_equal(unpack_mask(pack_mask(mask), 82), mask)


def test_store_keeps_games_in_order(tmp_path):
    server = EmbeddedRedis(tmp_path / "redis")
    try:
        store = GameStore(server.url, "t")
        ids = [store.add_game(bytes([i]) * 3, i) for i in range(5)]
        assert ids == list(range(5))
        assert store.num_games() == 5 and store.num_positions() == 10
        assert store.games(1, 3) == [b"\x01" * 3, b"\x02" * 3]
        assert store.games(3) == [b"\x03" * 3, b"\x04" * 3]
        state = RunState(store)
        state.add_worker_counters(2, WorkerCounters(games=1.0, wait_s=1.5))
        state.add_worker_counters(2, WorkerCounters(games=2.0, wait_s=1.0, wall_s=4.0))
        assert state.worker_counters(2) == WorkerCounters(games=3.0, wait_s=2.5, wall_s=4.0)
        assert state.worker_counters(0) == WorkerCounters()
    finally:
        server.close()
    server = EmbeddedRedis(tmp_path / "redis")  # the data outlive the server
    try:
        assert GameStore(server.url, "t").num_games() == 5
    finally:
        server.close()


@pytest.mark.parametrize("data, key", [
    ({"learner": {"stpes": 3}}, "learner.stpes"),
    ({"search": {"simulations": 0}}, "search.simulations"),
    ({"search": {"exit": 3}, "net": {"blocks": 2, "exits": [1, 2]}}, "search.exit"),
    ({"learner": {"exit_schedule": "multi-step"}}, "learner.total_steps"),
    ({"gating": {"games": 7}}, "gating.games"),
    ({"net": {"exits": [2, 4]}}, "exits"),
    ({"search": {"playout_cap": {"full_share": 0}}}, "search.playout_cap.full_share"),
    ({"search": {"playout_cap": {"cheap_simulations": 0}}}, "search.playout_cap.cheap_simulations"),
    ({"search": {"simulations": 4, "playout_cap": {"cheap_simulations": 5}}}, "search.playout_cap.cheap_simulations"),
    ({"search": {"playout_cap": {"full_shar": 0.5}}}, "search.playout_cap.full_shar"),
])
def test_bad_config_names_the_key(data, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        from_dict(SelfPlayConfig, data, source="x.yaml")


def test_presets_load():
    local = load_selfplay_config("configs/local.yaml")
    paper = load_selfplay_config("configs/selfplay-9x9.yaml")
    assert local.net == load_net_config("net-four") and local.net.exits == [2, 3, 4, 5]  # the four-exit preset
    assert paper.net.exits == [6, 9, 12, 15] and paper.search.simulations == 200
    assert (paper.learner.min_games, paper.learner.games_per_cycle, paper.learner.steps) == (3000, 500, 1000)
    assert local.search.playout_cap is None and paper.search.playout_cap is None  # off: today's runs


def test_self_play_search_plays_sensible_moves():
    local = load_selfplay_config("configs/local.yaml")
    assert local.search.sensible_moves and local.search.engine_config("selfplay").sensible_moves
