"""The replay buffer's ownership and score targets (issue 14's auxiliary heads) and a tiny net
with both heads trained on them by the learner's loss: a real embedded Redis, no Ray."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from dpv.nets.config import LossConfig, NetConfig
from dpv.nets.model import DPVNet
from dpv.selfplay.buffer import ReplayBuffer
from dpv.selfplay.learner import batch_loss
from dpv.selfplay.records import SelfPlayGame, decode, encode
from dpv.selfplay.store import EmbeddedRedis, GameStore
from go_engine import Board, transform_action, transform_planes, transform_policy

NET = NetConfig(blocks=2, channels=8, exits=[1, 2], value_hidden=16, ownership_head=True, score_head=True)


def played_out_game(seed: int, size: int = 9) -> SelfPlayGame:
    """A game of random sensible moves played to its end (two passes), with one-hot search targets."""
    rng = np.random.default_rng(seed)
    board = Board(size, komi=7.5)
    actions = []
    while not board.is_over():
        a = int(rng.choice(np.flatnonzero(board.sensible_actions())))
        actions.append(a)
        board.play(a)
    moves = len(actions)
    return SelfPlayGame(size=size, komi=7.5, actions=np.array(actions), root_values=np.zeros(moves, np.float32),
                        pi_counts=np.ones(moves, np.int64), pi_actions=np.array(actions),
                        pi_shares=np.ones(moves, np.float32), winner=board.winner(), resigned=False,
                        score=board.score(), model_version=0, worker=0, serial=seed, seed=seed,
                        evals_per_exit=np.array([0, moves]), flops=0.0)


@pytest.fixture(scope="module")
def store_url(tmp_path_factory):
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"))
    store = GameStore(server.url, "aux")
    for seed in range(6):
        store.add_game(encode(played_out_game(seed)), seed)
    yield server.url
    server.close()


def final_board(game: SelfPlayGame) -> Board:
    board = Board(game.size, game.komi)
    for a in game.actions:
        board.play(int(a))
    return board


def test_targets_are_the_final_boards_ownership_and_score_from_each_movers_view(store_url):
    batch = ReplayBuffer(store_url, "aux", window_games=6, seed=3, aux_targets=True).sample(128, with_index=True)
    games = [decode(data) for data in GameStore(store_url, "aux").games(0)]
    assert batch.ownership.shape == (128, 81) and batch.ownership.dtype == np.float32
    assert {1, -1} <= set(batch.ownership.ravel().tolist()) and len(set(batch.symmetry.tolist())) > 1
    seen_movers = set()
    for row, (gid, t, k) in enumerate(zip(batch.game_id, batch.move, batch.symmetry)):
        game = games[gid]
        board = final_board(game)
        mover = 1 if t % 2 == 0 else -1
        seen_movers.add(mover)
        owners = board.ownership().reshape(9, 9).astype(np.float32)
        np.testing.assert_array_equal(batch.ownership[row], mover * transform_planes(owners, int(k)).ravel())
        assert batch.score[row] == pytest.approx(mover * board.score()) == pytest.approx(mover * game.score)
        assert batch.score[row] * batch.z[row] > 0   # the score's sign is the outcome's (no resignations)
    assert seen_movers == {1, -1}


def test_without_aux_targets_the_batch_has_none(store_url):
    batch = ReplayBuffer(store_url, "aux", window_games=6, seed=3).sample(8)
    assert batch.ownership is None and batch.score is None


def test_symmetry_moves_ownership_like_the_policy_hand_checked_rotation():
    # np.rot90 (symmetry 1) turns the board a quarter counter-clockwise: the top-right corner
    # (row 0, col 8: action 8) goes to the top-left (action 0), and (row 2, col 5: action 23)
    # to (row 3, col 2: action 29).
    for action, expected in ((8, 0), (23, 29)):
        pi = np.zeros(82, np.float32)
        pi[action] = 1
        owner = np.zeros((9, 9), np.float32)
        owner.flat[action] = 1
        assert np.flatnonzero(transform_policy(pi, 1)).tolist() == [expected]
        assert np.flatnonzero(transform_planes(owner, 1).ravel()).tolist() == [expected]
        assert transform_action(action, 1, 9) == expected


def test_a_tiny_net_with_both_heads_trains_learner_steps(store_url):
    torch.manual_seed(0)
    model = DPVNet(NET)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    buffer = ReplayBuffer(store_url, "aux", window_games=6, seed=0, aux_targets=True)
    batch = buffer.sample(32)
    cfg = LossConfig()
    first = batch_loss(model, batch, cfg, "cpu")
    assert len(first.ownership) == len(first.score) == 2
    for _ in range(15):
        terms = batch_loss(model, batch, cfg, "cpu")
        optimizer.zero_grad()
        terms.total.backward()
        optimizer.step()
    last = batch_loss(model, batch, cfg, "cpu")
    assert all(np.isfinite(last.ownership + last.score))
    assert sum(last.ownership) < sum(first.ownership) and sum(last.score) < sum(first.score)
    # A net without the heads trains on the same buffer's batch as before (the targets unused).
    plain = DPVNet(dataclasses.replace(NET, ownership_head=False, score_head=False))
    assert batch_loss(plain, batch, cfg, "cpu").ownership == []


def test_a_resigned_games_positions_are_masked_out_of_the_aux_losses(tmp_path):
    server = EmbeddedRedis(tmp_path / "redis")
    try:
        store = GameStore(server.url, "resigned")
        played, resigned = played_out_game(1), dataclasses.replace(played_out_game(2), resigned=True)
        for game in (played, resigned):
            store.add_game(encode(game), game.num_moves)
        batch = ReplayBuffer(server.url, "resigned", window_games=2, seed=0, aux_targets=True).sample(
            64, with_index=True)
    finally:
        server.close()
    assert batch.aux_target.tolist() == (batch.game_id == 0).tolist() and 0 < batch.aux_target.sum() < 64
    only_resigned = {k: v[~batch.aux_target] for k, v in dataclasses.asdict(batch).items() if v is not None}
    only_resigned = dataclasses.replace(batch, **only_resigned)
    torch.manual_seed(0)
    model = DPVNet(NET)
    masked = batch_loss(model, only_resigned, LossConfig(), "cpu")
    assert masked.ownership == [0.0, 0.0] and masked.score == [0.0, 0.0]  # the resigned board scores nothing
    unmasked = batch_loss(model, dataclasses.replace(only_resigned, aux_target=None), LossConfig(), "cpu")
    assert min(unmasked.ownership) > 0 and min(unmasked.score) > 0
