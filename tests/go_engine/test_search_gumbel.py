"""Tests of the Gumbel root search (`SearchConfig(root="gumbel")`, go_engine/search.pyx) against
hand computations, as mctx's seq_halving_test.py and policies_test.py do: the Gumbel-top-m
candidates, sequential halving over a FLOPs budget, completed Q and the improved policy, every
exit policy, L > 1, and tiny budgets. The references below are written from the paper's and
mctx's formulas, not from the engine's code (LightZero's Gumbel did not learn because of an
indexing bug that a self-consistent test would not catch)."""
from __future__ import annotations

import zlib

import numpy as np
import pytest

from go_engine import BatchedSearch, Board, ExitPolicy, Player, SearchConfig, search_one

FLOPS = [2.90e8, 4.33e8, 5.77e8, 7.20e8]   # Table 6.1
TINY = np.finfo(np.float32).tiny


class HashEvaluator:
    """A deterministic fake network: the priors are softmax(`logits`) at every leaf, the value a
    CRC-32 hash of the leaf's planes in [-0.9, 0.9]; exit k has confidence `confidence[k]`, and a
    leaf leaves at the first exit whose confidence reaches its threshold (eq. 6.6). Records the
    value of the first leaf it answers (the root of a fresh tree)."""

    def __init__(self, num_actions: int = 82, confidence: tuple[float, ...] = (1.0,), seed: int = 0):
        self.logits = np.random.default_rng(seed).normal(0.0, 1.5, num_actions)
        self.confidence = np.asarray(confidence)
        self.first_value: float | None = None

    def __call__(self, planes, thresholds, fixed_exit=None, legal=None):
        n = len(planes)
        values = np.array([np.random.default_rng(zlib.crc32(np.packbits(p > 0.5).tobytes())).uniform(-0.9, 0.9)
                           for p in planes], np.float32)
        if self.first_value is None:
            self.first_value = float(values[0])
        passes = self.confidence[None, :] >= thresholds[:, None]
        dynamic = np.where(passes.any(axis=1), passes.argmax(axis=1), len(self.confidence) - 1)
        exits = np.where(fixed_exit >= 0, fixed_exit, dynamic).astype(np.int32)
        priors = np.tile(np.exp(self.logits - self.logits.max()), (n, 1)).astype(np.float32)
        return priors, values, exits


def reference_sigma(q, visits, prior, raw_value, c_visit=50.0, c_scale=0.1):
    """sigma(completed Q) of mctx's qtransform_completed_by_mix_value, from its formula."""
    visited = visits > 0
    if visited.any():
        p = np.maximum(prior, TINY)
        weighted = np.sum(p[visited] * q[visited]) / np.sum(p[visited])
        mixed = (raw_value + visits.sum() * weighted) / (visits.sum() + 1)
    else:
        mixed = raw_value
    completed = np.where(visited, q, mixed)
    completed = (completed - completed.min()) / max(completed.max() - completed.min(), 1e-8)
    return (c_visit + visits.max()) * c_scale * completed


def gumbel_search(simulations: float, *, max_actions: int = 4, leaves: int = 1, seed: int = 7,
                  policy: ExitPolicy | None = None, flops=(1.0,), board: Board | None = None,
                  sensible: bool = False) -> BatchedSearch:
    config = SearchConfig(root="gumbel", gumbel_max_actions=max_actions, leaves_per_tree=leaves,
                          reuse_tree=False, sensible_moves=sensible)
    player = Player(simulations, policy or ExitPolicy.fixed(-1))
    search = BatchedSearch(1, 9 if board is None else board.size, config=config, exit_flops=flops,
                           players=player, seed=seed, max_moves=None if board is None else board.max_moves)
    if board is not None:
        search.set_board(0, board)
    return search


def test_draws_are_seeded_and_the_first_phase_visits_exactly_the_top_m_by_gumbel_plus_logits():
    search = gumbel_search(17, max_actions=4, seed=7)
    evaluator = HashEvaluator()
    search.start_search()
    search.step(evaluator)                        # the root's own evaluation
    snapshots = []
    while search.num_searching():
        search.step(evaluator)
        snapshots.append(search.root_children(0))
    children = snapshots[0]
    # the same draws from numpy: the engine's generator drew one uniform (the resignation draw at reset)
    rng = np.random.default_rng(7)
    rng.random()
    draws = rng.gumbel(size=len(children["action"]))
    np.testing.assert_array_equal(search.gumbel_state(0)["gumbel"], draws)
    logits = np.log(children["prior"].astype(np.float64))
    top4 = set(children["action"][np.argsort(-(draws + logits))[:4]].tolist())
    # budget 17 evaluations: the root, then 16 over log2(4) = 2 phases of 8 -> 2 visits per candidate
    phase1 = snapshots[7]
    assert phase1["visits"].sum() == 8
    assert set(phase1["action"][phase1["visits"] > 0].tolist()) == top4
    assert set(phase1["visits"][phase1["visits"] > 0].tolist()) == {2}
    # the halving keeps the two best by g + logits + sigma(completed Q) at the end of phase 1
    sigma = reference_sigma(phase1["q"].astype(np.float64), phase1["visits"], phase1["prior"].astype(np.float64),
                            evaluator.first_value)
    score = np.where(phase1["visits"] > 0, draws + logits + sigma, -np.inf)
    kept = set(phase1["action"][np.argsort(-score)[:2]].tolist())
    final = search.root_children(0)
    assert final["visits"].sum() == 16
    assert {a: v for a, v in zip(final["action"].tolist(), final["visits"].tolist()) if v} == {
        a: (6 if a in kept else 2) for a in top4}
    assert set(search.gumbel_state(0)["considered"].tolist()) == kept


def test_improved_policy_and_move_match_a_hand_computation():
    search = gumbel_search(24, max_actions=8, seed=3)
    evaluator = HashEvaluator(seed=1)
    result = search.search(evaluator)[0]
    children = search.root_children(0)
    visits, q = children["visits"], children["q"].astype(np.float64)
    prior = children["prior"].astype(np.float64)
    assert visits.sum() == result.simulations == 23
    sigma = reference_sigma(q, visits, prior, evaluator.first_value)
    logits = np.log(prior) + sigma
    expected = np.zeros(82)
    expected[children["action"]] = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    assert result.improved_policy.dtype == np.float32 and result.improved_policy.shape == (82,)
    np.testing.assert_allclose(result.improved_policy, expected, rtol=1e-4, atol=1e-7)
    state = search.gumbel_state(0)
    remaining = np.isin(children["action"], state["considered"])
    assert remaining.sum() == 2                   # 8 -> 4 -> 2
    best = np.argmax(np.where(remaining, state["gumbel"] + logits, -np.inf))
    assert result.action == children["action"][best]
    np.testing.assert_allclose(result.pi, np.bincount(children["action"], visits, 82) / visits.sum(), rtol=1e-6)


def test_puct_root_has_no_improved_policy():
    result = search_one(Board(9, 7.5), HashEvaluator(), player=Player(8))
    assert result.improved_policy is None


@pytest.mark.parametrize("leaves", [1, 8])
def test_a_fixed_exit_spends_exactly_its_budget(leaves):
    k = 1
    search = gumbel_search(40, max_actions=16, leaves=leaves, policy=ExitPolicy.fixed(k), flops=FLOPS)
    result = search.search(HashEvaluator(confidence=(0.2, 0.4, 0.6, 1.0)))[0]
    budget = 40 * FLOPS[-1]
    evaluations = int(budget // FLOPS[k])
    assert result.evals_per_exit.tolist() == [0, evaluations, 0, 0]
    assert result.flops == pytest.approx(evaluations * FLOPS[k])
    assert 0 <= budget - result.flops < FLOPS[k]
    info = search.tree_info(0)
    assert info["virtual_loss"] == 0 and info["pending"] == 0
    children = search.root_children(0)
    assert (children["visits"] > 0).sum() == 16   # only the 16 candidates, each visited


@pytest.mark.parametrize("policy", [ExitPolicy.dynamic(0.3, 0.6), ExitPolicy.threshold(0.5)])
@pytest.mark.parametrize("leaves", [1, 8])
def test_dynamic_and_threshold_exits_spend_within_budget(policy, leaves):
    search = gumbel_search(30, max_actions=8, leaves=leaves, policy=policy, flops=FLOPS)
    result = search.search(HashEvaluator(confidence=(0.2, 0.4, 0.6, 1.0)))[0]
    budget = 30 * FLOPS[-1]
    assert abs(budget - result.flops) < max(FLOPS)   # within one leaf's cost, as for PUCT
    charged = sum(n * f for n, f in zip(result.evals_per_exit.tolist(), FLOPS))
    assert result.flops == pytest.approx(charged)
    if policy.kind == "dynamic":                  # tau = 0.3 + 0.6 r rose with the budget spent (eq. 6.5)
        assert result.evals_per_exit[1] > 0 and result.evals_per_exit[3] > 0
    else:                                         # tau = 0.5: exit 2 (confidence 0.6) answers all
        assert result.evals_per_exit.tolist() == [0, 0, result.evals_per_exit.sum(), 0]
    assert (search.root_children(0)["visits"] > 0).sum() == 8


@pytest.mark.parametrize("simulations", [1, 2, 3])
def test_tiny_budgets_play_a_gumbel_top_1_sample(simulations):
    search = gumbel_search(simulations, max_actions=16, seed=5)
    evaluator = HashEvaluator()
    result = search.search(evaluator)[0]
    children = search.root_children(0)
    assert children["visits"].sum() == simulations - 1 == result.simulations
    draws = search.gumbel_state(0)["gumbel"]
    logits = np.log(children["prior"].astype(np.float64))
    order = np.argsort(-(draws + logits))
    assert set(children["action"][children["visits"] > 0].tolist()) == set(children["action"][order[:simulations - 1]])
    assert np.isclose(result.improved_policy.sum(), 1.0)
    if simulations == 1:                          # nothing visited: sigma = 0, pi' is the prior
        assert result.action == children["action"][order[0]]
        np.testing.assert_allclose(result.improved_policy[children["action"]], children["prior"], rtol=1e-5)


def test_two_candidates_share_the_budget_in_one_phase():
    search = gumbel_search(11, max_actions=2, seed=9)
    result = search.search(HashEvaluator())[0]
    children = search.root_children(0)
    logits = np.log(children["prior"].astype(np.float64))
    top2 = children["action"][np.argsort(-(search.gumbel_state(0)["gumbel"] + logits))[:2]]
    assert {a: v for a, v in zip(children["action"].tolist(), children["visits"].tolist()) if v} == {
        int(top2[0]): 5, int(top2[1]): 5}
    assert result.action in top2.tolist() and result.flops == 11.0


def test_fewer_legal_moves_than_m_and_a_terminal_candidate():
    """Black fills a 5x5 board but two eyes while White passes: Black has 3 legal moves (the two
    eyes, and pass, which ends the game), fewer than m = 16. The pass is terminal (no FLOPs);
    the halving still spends the budget on evaluations."""
    board = Board(5, 0.5, 200)
    for action in range(25):
        if action not in (6, 18):
            board.play(action)
            board.play(25)
    search = gumbel_search(12, max_actions=16, board=board)
    result = search.search(HashEvaluator(num_actions=26))[0]
    children = search.root_children(0)
    assert sorted(children["action"].tolist()) == [6, 18, 25]
    assert (children["visits"] > 0).all()
    assert result.evals_per_exit.tolist() == [12]   # the root and 11 leaves, none wasted on the pass
    assert len(search.gumbel_state(0)["considered"]) == 2                          # 3 -> 2
    assert np.count_nonzero(result.improved_policy) == 3


def test_self_play_games_run_to_the_end_with_the_gumbel_root():
    config = SearchConfig(root="gumbel", gumbel_max_actions=8, sensible_moves=True, root_noise=True)
    search = BatchedSearch(2, board_size=5, config=config, players=Player(16), seed=2)
    evaluator = HashEvaluator(num_actions=26)
    moves = 0
    while search.active_games() and moves < 200:
        for r in search.run_move(evaluator):
            assert np.isclose(r.improved_policy.sum(), 1.0) and r.improved_policy[r.action] > 0
        moves += 1
    assert not search.active_games()


def test_bad_gumbel_settings_are_one_line_errors():
    with pytest.raises(ValueError, match="root must be 'puct' or 'gumbel'"):
        SearchConfig(root="alphazero")
    with pytest.raises(ValueError, match="gumbel_max_actions"):
        SearchConfig(root="gumbel", gumbel_max_actions=0)
    with pytest.raises(ValueError, match="gumbel_state"):
        BatchedSearch(1).gumbel_state(0)


def test_without_gumbel_every_move_only_the_opening_draws():
    config = SearchConfig(root="gumbel", gumbel_every_move=False, temperature_moves=2, reuse_tree=False)
    search = BatchedSearch(1, config=config, players=Player(12), seed=4)
    evaluator = HashEvaluator()
    draws = []
    for _ in range(4):
        result = search.search(evaluator)[0]
        draws.append(search.gumbel_state(0)["gumbel"])
        search.play(0, result.action)
    assert all(np.any(d != 0) for d in draws[:2]) and all(np.all(d == 0) for d in draws[2:])
