"""Policy targets of self-play: Gumbel's improved policy, playout cap randomization's policy-target
flags (record, worker, buffer) and the learner's masked policy loss. No Ray: the worker's
game-playing loop is driven directly on a real BatchedSearch and a real store."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dpv.config import from_dict
from dpv.selfplay.config import SearchSection
from dpv.selfplay.records import MAGIC_V1, decode, encode
from dpv.selfplay.store import EmbeddedRedis, GameStore

ACTIONS = 82


class LocalEvaluator:
    """Seeded random priors and values from a one-exit "network", with the counters of
    dpv.selfplay.worker.ServerEvaluator (rows, wait_s, version)."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.rows = 0
        self.wait_s = 0.0
        self.version = 0

    def __call__(self, planes: np.ndarray, thresholds: np.ndarray, legal: np.ndarray | None = None,
                 fixed_exit: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = len(planes)
        self.rows += n
        logits = self.rng.normal(size=(n, ACTIONS))
        priors = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        return priors.astype(np.float32), self.rng.uniform(-0.5, 0.5, n).astype(np.float32), np.zeros(n, np.int32)


class RecordingSearch:
    """A real BatchedSearch that keeps every MoveResult and the budget each move was searched with."""

    def __init__(self, search: Any) -> None:
        self._search = search
        self.moves: list[list[tuple[Any, float]]] = [[] for _ in range(search.num_games)]  # per slot, this game
        self.finished: list[list[tuple[Any, float]]] = []  # games in the order they ended

    def __getattr__(self, name: str) -> Any:
        return getattr(self._search, name)

    def run_move(self, evaluator: Any) -> list[Any]:
        budgets = {g: self._search.players(g)[0].simulations for g in self._search.active_games()}
        results = self._search.run_move(evaluator)
        for r in results:
            self.moves[r.game].append((r, budgets[r.game]))
            if r.game_over:
                self.finished.append(self.moves[r.game])
                self.moves[r.game] = []
        return results


def play(store_dir: Path, search_keys: dict, games: int, max_games: int, seed: int = 0):
    """Drive one SelfPlayWorker's game loop (`_play`) on `games` slots to `max_games` finished
    games; returns the decoded stored games and the recorded moves of each, in store order."""
    from dpv.selfplay.worker import SelfPlayWorker
    from go_engine import BatchedSearch

    search_cfg = from_dict(SearchSection, {"max_moves": 24, "leaves_per_tree": 2, **search_keys})
    server = EmbeddedRedis(store_dir)
    try:
        worker = SelfPlayWorker(0, search_cfg, games, 1, 9, server.url, "dpv", None, seed)
        worker._max_games = max_games
        search = RecordingSearch(BatchedSearch(games, 9, search_cfg.komi, config=search_cfg.engine_config("selfplay"),
                                               exit_flops=[1.0], players=worker._player(), seed=seed,
                                               max_moves=search_cfg.max_moves))
        worker._play(search, LocalEvaluator(seed), seed, worker._zero_counts())
        stored = [decode(d) for d in GameStore(server.url).games(0)]
    finally:
        server.close()
    return stored, search.finished[:len(stored)]


def test_gumbel_selfplay_stores_the_improved_policy(tmp_path):
    stored, recorded = play(tmp_path / "redis", {"root": "gumbel", "simulations": 8, "gumbel_max_actions": 4},
                            games=1, max_games=3)
    assert len(stored) == 3
    for game, moves in zip(stored, recorded):
        assert game.num_moves == len(moves)
        for t, (r, _) in enumerate(moves):
            assert r.improved_policy is not None
            assert game.actions[t] == r.action
            np.testing.assert_allclose(game.dense_pi(t), r.improved_policy, atol=1 / 131070 + 1e-7)
            assert not np.allclose(r.improved_policy, r.pi)  # the visit counts are not the target
        assert game.policy_target.all()


def test_puct_selfplay_stores_the_visit_distribution(tmp_path):
    stored, recorded = play(tmp_path / "redis", {"simulations": 8}, games=1, max_games=1)
    (game,), (moves,) = stored, recorded
    for t, (r, _) in enumerate(moves):
        assert r.improved_policy is None
        np.testing.assert_allclose(game.dense_pi(t), r.pi, atol=1 / 131070 + 1e-7)


@pytest.mark.parametrize("root", ["puct", "gumbel"])
def test_playout_cap_flags_only_full_searches_as_policy_targets(tmp_path, root):
    cap = {"full_share": 0.3, "cheap_simulations": 3}
    stored, recorded = play(tmp_path / "redis", {"root": root, "simulations": 12, "playout_cap": cap},
                            games=4, max_games=16, seed=7)
    flags, full_flops = [], []
    for game, moves in zip(stored, recorded):
        assert game.num_moves == len(moves)
        for t, (r, budget) in enumerate(moves):
            assert budget in (12, 3)
            assert game.policy_target[t] == (budget == 12)
            assert r.flops <= budget  # one FLOP per evaluation: the move's budget in simulations
            if budget == 12:
                full_flops.append(r.flops)
            flags.append(bool(game.policy_target[t]))
    assert len(flags) > 300
    assert abs(np.mean(flags) - 0.3) < 0.06
    assert np.mean(full_flops) > 8  # the full searches spend their budget (terminal visits are free)


def test_policy_target_flags_roundtrip_and_old_records_are_all_targets():
    from tests.selfplay.test_selfplay_records import random_game

    game = random_game(np.random.default_rng(0), moves=13)
    game.policy_target = np.arange(13) % 3 == 0
    data = encode(game)
    assert decode(data).policy_target.tolist() == game.policy_target.tolist()
    old = MAGIC_V1 + data[4:-2]  # version 1: the same bytes without the 2 bytes of flags
    assert decode(old).policy_target.tolist() == [True] * 13
    assert decode(old).actions.tolist() == game.actions.tolist()


def test_buffer_samples_carry_the_policy_target_flags(tmp_path):
    from dpv.selfplay.buffer import ReplayBuffer
    from tests.selfplay.test_selfplay_records import random_game

    server = EmbeddedRedis(tmp_path / "redis")
    try:
        store = GameStore(server.url)
        games = [random_game(np.random.default_rng(i), moves=20) for i in range(3)]
        for i, game in enumerate(games):
            game.policy_target = np.random.default_rng(10 + i).random(20) < 0.5
            store.add_game(encode(game), game.num_moves)
        batch = ReplayBuffer(server.url, "dpv", 10, seed=1).sample(64, with_index=True)
    finally:
        server.close()
    expected = [games[g].policy_target[t] for g, t in zip(batch.game_id, batch.move)]
    assert batch.policy_target.tolist() == expected
    assert 0 < batch.policy_target.sum() < 64


def test_policy_loss_ignores_positions_that_are_no_policy_target():
    import torch

    from dpv.nets.config import LossConfig
    from dpv.nets.loss import deep_supervision_loss, policy_loss

    gen = torch.Generator().manual_seed(0)
    logits, value = torch.randn(4, ACTIONS, generator=gen), torch.randn(4, generator=gen)
    pi = torch.softmax(torch.randn(4, ACTIONS, generator=gen), dim=1)
    z = torch.tensor([1.0, -1.0, 1.0, -1.0])
    mask = torch.tensor([True, False, True, False])
    by_hand = -(pi[[0, 2]] * logits[[0, 2]].log_softmax(dim=1)).sum() / 2  # averaged over the 2 targets
    assert torch.allclose(policy_loss(logits, pi, mask), by_hand)
    assert torch.allclose(policy_loss(logits, pi, mask), policy_loss(logits[mask], pi[mask]))  # the cap's scale
    assert torch.allclose(policy_loss(logits, pi, torch.ones(4, dtype=torch.bool)), policy_loss(logits, pi))
    assert float(policy_loss(logits, pi, torch.zeros(4, dtype=torch.bool))) == 0.0  # no target, no term

    cfg = LossConfig()
    terms = deep_supervision_loss([(logits, value)], pi, z, cfg, policy_target=mask)
    other = pi.clone()
    other[[1, 3]] = torch.softmax(torch.randn(2, ACTIONS, generator=gen), dim=1)  # only masked rows change
    same = deep_supervision_loss([(logits, value)], other, z, cfg, policy_target=mask)
    assert same.policy == terms.policy and float(same.total) == float(terms.total)
    flipped = deep_supervision_loss([(logits, value)], pi, -z, cfg, policy_target=mask)
    assert flipped.value != terms.value  # the value term uses every position
    unmasked = deep_supervision_loss([(logits, value)], other, z, cfg)
    assert unmasked.policy != terms.policy

    logits.requires_grad_(True)
    policy_loss(logits, pi, mask).backward()
    assert logits.grad[[1, 3]].abs().max() == 0 and logits.grad[[0, 2]].abs().max() > 0
