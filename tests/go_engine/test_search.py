"""Tests of the batched PUCT search (go_engine.search): visits, virtual loss, tactics, FLOPs
budgets, exit policies per player, noise, temperature, resignation, tree reuse."""
from __future__ import annotations

import math

import numpy as np
import pytest

from go_engine import BatchedSearch, Board, ExitPolicy, IllegalMove, Player, SearchConfig, UniformEvaluator, search_one
from go_engine.rollout import RolloutEvaluator

FLOPS = [2.90e8, 4.33e8, 5.77e8, 7.20e8]   # Table 6.1


class MaterialEvaluator:
    """Value tanh(0.5 * (own stones - opponent stones)) from the mover's view; uniform priors
    except `favourite`, which gets `favourite_weight` of the mass (a tempting move)."""

    def __init__(self, num_actions: int, favourite: int | None = None, favourite_weight: float = 0.0):
        self.num_actions = num_actions
        self.favourite = favourite
        self.favourite_weight = favourite_weight

    def __call__(self, planes, thresholds, fixed_exit=None, legal=None):
        n = len(planes)
        material = planes[:, 0].sum(axis=(1, 2)) - planes[:, 8].sum(axis=(1, 2))
        priors = np.ones((n, self.num_actions), np.float32)
        if self.favourite is not None:
            priors[:, self.favourite] = self.favourite_weight * self.num_actions
        return priors, np.tanh(0.5 * material).astype(np.float32), np.zeros(n, np.int32)


class ConfidenceEvaluator:
    """A fake multi-exit network whose exit k has confidence `confidence[k]` on every leaf:
    a leaf leaves at the first exit with confidence >= its threshold (eq. 6.6). Records every
    call's thresholds, fixed exits and side to move (plane 16)."""

    def __init__(self, confidence: list[float], num_actions: int = 82):
        self.confidence = np.asarray(confidence)
        self.num_actions = num_actions
        self.calls: list[dict[str, np.ndarray]] = []
        self.legal_seen: list[np.ndarray] = []

    def __call__(self, planes, thresholds, fixed_exit=None, legal=None):
        n = len(planes)
        assert planes.dtype == np.float32 and thresholds.dtype == np.float32
        assert fixed_exit.dtype == np.int32 and legal.dtype == np.bool_
        assert legal.shape == (n, self.num_actions)
        self.legal_seen.extend(legal.copy())
        passes = self.confidence[None, :] >= thresholds[:, None]
        dynamic = np.where(passes.any(axis=1), passes.argmax(axis=1), len(self.confidence) - 1)
        exits = np.where(fixed_exit >= 0, fixed_exit, dynamic).astype(np.int32)
        black = planes[:, 16, 0, 0] == 1.0
        self.calls.append({"thresholds": thresholds.copy(), "fixed": fixed_exit.copy(),
                           "black": black, "exits": exits})
        return (np.full((n, self.num_actions), 1.0, np.float32), np.zeros(n, np.float32), exits)


def board_after(size: int, moves: list[int], komi: float = 0.5) -> Board:
    board = Board(size, komi)
    for action in moves:
        board.play(action)
    return board


def test_root_visits_sum_to_simulations_and_no_virtual_loss_remains():
    config = SearchConfig(leaves_per_tree=8, reuse_tree=True)
    search = BatchedSearch(3, config=config, players=Player(60))
    evaluator = UniformEvaluator()
    assert search.start_search() == 3
    while search.num_searching():
        assert search.step(evaluator) > 0 or search.num_searching() == 0
        for g in range(3):
            info = search.tree_info(g)
            assert info["virtual_loss"] == 0 and info["pending"] == 0
    results = search.results()
    for r in results:
        visits = search.root_children(r.game)["visits"]
        assert visits.sum() == r.simulations == 59        # + the root's own evaluation
        assert math.isclose(r.pi.sum(), 1.0, rel_tol=1e-6)
        assert r.pi[r.action] > 0
    # with tree reuse, the kept subtree's visits add to the next search's simulations
    search.play(0, results[0].action)
    kept = search.tree_info(0)["root_visits"]
    nxt = search.search(evaluator)[0]
    assert search.root_children(0)["visits"].sum() == kept - 1 + nxt.simulations


@pytest.mark.parametrize("root", ["puct", "gumbel"])
def test_search_finds_an_obvious_capture(root):
    # 5x5: the white stone at C3 (12) has one liberty left, at C2 (17); a Gumbel root plays the
    # deterministic search (no draws after the opening) over every move (m = 32 > 21 legal moves)
    board = board_after(5, [11, 12, 13, 0, 7, 4])
    result = search_one(board, MaterialEvaluator(26), player=Player(200),
                        config=SearchConfig(temperature_moves=0, leaves_per_tree=4, root=root,
                                            gumbel_max_actions=32, gumbel_every_move=False))
    assert result.action == 17


@pytest.mark.parametrize("root", ["puct", "gumbel"])
def test_search_avoids_an_obvious_self_atari_even_with_a_tempting_prior(root):
    # 5x5: black at C5 (2) would have one liberty (D5) between white B5 and C4: the reply
    # below the root (PUCT, also below a Gumbel root) must find the capture
    board = board_after(5, [12, 1, 22, 7])
    evaluator = MaterialEvaluator(26, favourite=2, favourite_weight=0.5)
    result = search_one(board, evaluator, player=Player(400),
                        config=SearchConfig(temperature_moves=0, leaves_per_tree=4, root=root,
                                            gumbel_max_actions=32, gumbel_every_move=False))
    assert result.action != 2
    target = result.pi if root == "puct" else result.improved_policy
    assert target[2] < target[result.action]


def test_search_one_leaves_the_board_alone_and_rejects_finished_games():
    board = board_after(5, [12])
    before = board.history
    result = search_one(board, UniformEvaluator(num_actions=26), player=Player(30))
    assert board.history == before and board.is_legal(result.action)
    board.play(25)
    board.play(25)
    with pytest.raises(ValueError, match="over"):
        search_one(board, UniformEvaluator(num_actions=26))


def test_terminal_leaves_are_scored_by_the_board():
    # black passed; white wins at once by passing (komi 7.5 on an empty board)
    board = board_after(5, [25], komi=7.5)
    result = search_one(board, UniformEvaluator(num_actions=26), player=Player(100),
                        config=SearchConfig(temperature_moves=0))
    assert result.action == 25
    assert result.root_value > 0.5


@pytest.mark.parametrize("k", range(len(FLOPS)))
@pytest.mark.parametrize("leaves", [1, 8])
def test_fixed_exit_budget_is_exact(k, leaves):
    sims = 37
    config = SearchConfig(leaves_per_tree=leaves, temperature_moves=0)
    search = BatchedSearch(2, config=config, exit_flops=FLOPS, players=Player(sims, ExitPolicy.fixed(k)))
    evaluator = UniformEvaluator(num_exits=len(FLOPS))
    expected = math.floor(sims * FLOPS[-1] / FLOPS[k])
    for _ in range(3):          # the first move evaluates its root, later ones reuse it
        for r in search.run_move(evaluator):
            assert r.evals_per_exit.sum() == r.evals_per_exit[k] == expected
            assert r.flops == pytest.approx(expected * FLOPS[k])
            assert r.flops <= sims * FLOPS[-1]


@pytest.mark.parametrize("leaves", [1, 8])
def test_dynamic_threshold_rises_with_spent_budget_and_never_overshoots_by_an_evaluation(leaves):
    tau0, alpha, sims = 0.2, 0.9, 40
    evaluator = ConfidenceEvaluator([0.3, 0.5, 0.7, 0.9])
    search = BatchedSearch(1, config=SearchConfig(leaves_per_tree=leaves), exit_flops=FLOPS,
                           players=Player(sims, ExitPolicy.dynamic(tau0, alpha)))
    result = search.search(evaluator)[0]
    taus = np.concatenate([c["thresholds"] for c in evaluator.calls])
    assert np.all(np.concatenate([c["fixed"] for c in evaluator.calls]) == -1)
    assert taus[0] == pytest.approx(tau0)
    assert np.all(np.diff(taus) >= 0) and taus[-1] > 0.8 and taus.max() <= tau0 + alpha + 1e-6
    budget = sims * FLOPS[-1]
    assert budget - FLOPS[0] < result.flops <= budget + FLOPS[-1]
    used = np.concatenate([c["exits"] for c in evaluator.calls])
    assert result.evals_per_exit.tolist() == np.bincount(used, minlength=4).tolist()
    assert result.flops == pytest.approx(float(np.dot(result.evals_per_exit, FLOPS)))
    assert len(set(used.tolist())) > 1        # shallow exits early, deep ones late


def test_r_is_per_leaf_rising_across_the_leaves_of_a_move_and_at_most_one():
    # tau0 = 0, alpha = 1: each leaf's threshold is its r (eq. 6.5); the leaves of one step each
    # count the cheapest exit's FLOPs for the leaves in flight before them
    evaluator = ConfidenceEvaluator([0.3, 0.5, 0.7, 0.9])
    search = BatchedSearch(1, config=SearchConfig(leaves_per_tree=8), exit_flops=FLOPS,
                           players=Player(40, ExitPolicy.dynamic(0.0, 1.0)))
    search.search(evaluator)
    budget = 40 * FLOPS[-1]
    spent = 0.0
    for call in evaluator.calls:
        r = call["thresholds"].astype(np.float64)
        np.testing.assert_allclose(r, np.minimum(1.0, (spent + FLOPS[0] * np.arange(len(r))) / budget), rtol=1e-6)
        spent += float(np.dot(np.bincount(call["exits"], minlength=4), FLOPS))
    rs = np.concatenate([c["thresholds"] for c in evaluator.calls])
    assert max(len(c["thresholds"]) for c in evaluator.calls) == 8
    assert np.all(np.diff(rs) > 0) and rs[0] == 0.0 and rs[-1] <= 1.0


def test_confidence_all_sends_every_action_to_the_exit_decision_and_keeps_the_legal_priors():
    board = board_after(5, [12, 6, 18])
    legal_count = int(board.legal_actions().sum())
    for confidence, width in (("legal", legal_count), ("all", 26)):
        evaluator = ConfidenceEvaluator([0.3, 0.9], num_actions=26)
        result = search_one(board, evaluator, player=Player(10, ExitPolicy.dynamic(0.5, 0.0, confidence)),
                            exit_flops=FLOPS[:2])
        assert {int(mask.sum()) for mask in evaluator.legal_seen[:1]} == {width}
        assert int(np.count_nonzero(result.pi)) <= legal_count and result.pi[6] == 0   # 6 is occupied
    with pytest.raises(ValueError, match="confidence"):
        ExitPolicy.threshold(0.5, confidence="some")


class StoneCountEvaluator(ConfidenceEvaluator):
    """ConfidenceEvaluator that also records the stones on each leaf's board (its depth below an
    empty root while nothing is captured)."""

    def __init__(self, confidence: list[float]):
        super().__init__(confidence)
        self.stones: list[np.ndarray] = []

    def __call__(self, planes, thresholds, fixed_exit=None, legal=None):
        self.stones.append((planes[:, 0] + planes[:, 8]).sum(axis=(1, 2)).astype(int))
        return super().__call__(planes, thresholds, fixed_exit, legal)


def test_depth_policy_answers_shallow_leaves_early_in_the_search_at_the_shallow_exit():
    sims, budget = 60, 60 * FLOPS[-1]
    evaluator = StoneCountEvaluator([0.3, 0.5, 0.7, 0.9])
    config = SearchConfig(leaves_per_tree=1, sensible_moves=True, temperature_moves=0)   # r = spent / budget
    search = BatchedSearch(1, config=config, exit_flops=FLOPS, players=Player(sims, ExitPolicy.depth(1, 0.5)))
    result = search.search(evaluator)[0]
    exits = np.concatenate([c["exits"] for c in evaluator.calls])
    fixed = np.concatenate([c["fixed"] for c in evaluator.calls])
    depth = np.concatenate(evaluator.stones)
    spent = np.concatenate([[0.0], np.cumsum(np.asarray(FLOPS)[exits])])[:-1]
    assert np.array_equal(fixed, exits) and set(exits.tolist()) == {0, 3}
    # a leaf leaves at exit 0 only within one ply of the root, and only in the first half of the budget
    shallow = (depth <= 1) & (spent < 0.5 * budget)
    assert np.array_equal(exits == 0, shallow)
    assert np.any(~shallow & (depth <= 1)) and np.any(~shallow & (depth > 1))   # both reasons for the deep exit
    assert result.evals_per_exit.tolist() == np.bincount(exits, minlength=4).tolist()
    assert budget - FLOPS[0] < result.flops <= budget + FLOPS[-1]
    with pytest.raises(ValueError, match="max_depth"):
        ExitPolicy.depth(-1)


class VoteRecorder(ConfidenceEvaluator):
    """ConfidenceEvaluator that also takes the search's `vote` rows and records them."""

    def __init__(self, confidence: list[float]):
        super().__init__(confidence)
        self.votes: list[np.ndarray | None] = []

    def __call__(self, planes, thresholds, fixed_exit=None, legal=None, vote=None):
        self.votes.append(None if vote is None else vote.copy())
        return super().__call__(planes, thresholds, fixed_exit, legal)


def test_collaborative_players_leaves_are_sent_with_vote_and_others_without():
    black = Player(20, ExitPolicy.dynamic(0.4, 0.5, vote=True))
    white = Player(20, ExitPolicy.dynamic(0.4, 0.5))
    search = BatchedSearch(2, exit_flops=FLOPS, players=(black, white))
    search.play(1, 40)                 # game 0: black (voting) searches, game 1: white
    evaluator = VoteRecorder([0.3, 0.5, 0.7, 0.9])
    results = {r.game: r for r in search.search(evaluator)}
    voted = sum(int(v.sum()) for v in evaluator.votes if v is not None)
    assert voted == results[0].evals_per_exit.sum()
    assert any(v is not None and not v.all() for v in evaluator.votes)    # a batch shared with white's leaves
    alone = VoteRecorder([0.3, 0.5, 0.7, 0.9])
    BatchedSearch(1, exit_flops=FLOPS, players=white).search(alone)
    assert alone.votes and all(vote is None for vote in alone.votes)


def test_threshold_policy_keeps_tau_constant():
    evaluator = ConfidenceEvaluator([0.3, 0.5, 0.7, 0.9])
    search = BatchedSearch(1, exit_flops=FLOPS, players=Player(20, ExitPolicy.threshold(0.6)))
    result = search.search(evaluator)[0]
    taus = np.concatenate([c["thresholds"] for c in evaluator.calls])
    assert np.allclose(taus, 0.6)
    assert result.evals_per_exit[[0, 1, 3]].tolist() == [0, 0, 0]       # always exit 2 here
    assert 20 * FLOPS[-1] - FLOPS[0] < result.flops <= 20 * FLOPS[-1] + FLOPS[-1]


def test_players_with_different_exit_policies_share_a_batch():
    black = Player(30, ExitPolicy.fixed(0))
    white = Player(30, ExitPolicy.dynamic(0.4, 0.5))
    search = BatchedSearch(2, exit_flops=FLOPS, players=(black, white))
    search.play(1, 40)                 # game 1: white to move, game 0: black to move
    evaluator = ConfidenceEvaluator([0.3, 0.5, 0.7, 0.9])
    results = {r.game: r for r in search.search(evaluator)}
    fixed = np.concatenate([c["fixed"] for c in evaluator.calls])
    taus = np.concatenate([c["thresholds"] for c in evaluator.calls])
    assert any((c["fixed"] == 0).any() and (c["fixed"] == -1).any() for c in evaluator.calls)
    assert set(fixed.tolist()) == {0, -1} and np.all(taus[fixed == -1] >= 0.4)
    assert results[0].player == 1 and results[1].player == -1
    assert (fixed == 0).sum() == results[0].evals_per_exit[0] == results[0].evals_per_exit.sum()
    assert (fixed == -1).sum() == results[1].evals_per_exit.sum()
    assert results[1].flops <= 30 * FLOPS[-1] + FLOPS[-1]


def test_a_pair_of_evaluators_answers_each_colour():
    search = BatchedSearch(2, players=(Player(20), Player(35)))
    search.play(1, 40)                 # game 0: black searches, game 1: white searches
    black_eval, white_eval = ConfidenceEvaluator([1.0]), ConfidenceEvaluator([1.0])
    results = search.search((black_eval, white_eval))
    assert sum(len(c["fixed"]) for c in black_eval.calls) == results[0].evals_per_exit.sum() == 20
    assert sum(len(c["fixed"]) for c in white_eval.calls) == results[1].evals_per_exit.sum() == 35


def test_evaluator_answers_are_validated():
    search = BatchedSearch(1, exit_flops=FLOPS, players=Player(5, ExitPolicy.fixed(1)))
    wrong_exit = lambda planes, t, fixed_exit=None, legal=None: (  # noqa: E731
        np.ones((len(planes), 82), np.float32), np.zeros(len(planes), np.float32),
        np.full(len(planes), 3, np.int32))
    with pytest.raises(ValueError, match="fixed at exit 1"):
        search.search(wrong_exit)
    wrong_shape = lambda planes, t, fixed_exit=None, legal=None: (  # noqa: E731
        np.ones((len(planes), 81), np.float32), np.zeros(len(planes)), np.zeros(len(planes)))
    with pytest.raises(ValueError, match="priors"):
        BatchedSearch(1).search(wrong_shape)


def test_bad_configuration_and_moves_are_clear_errors():
    with pytest.raises(ValueError, match="exit 4 is out of range"):
        BatchedSearch(1, exit_flops=FLOPS, players=Player(5, ExitPolicy.fixed(4)))
    with pytest.raises(ValueError, match="exit_flops"):
        BatchedSearch(1, exit_flops=[])
    with pytest.raises(ValueError, match="simulations"):
        Player(0)
    with pytest.raises(ValueError, match="kind"):
        ExitPolicy("sometimes")
    search = BatchedSearch(1)
    search.play(0, 40)
    with pytest.raises(IllegalMove):
        search.play(0, 40)
    with pytest.raises(IndexError):
        search.board(1)


def test_tree_reuse_keeps_the_subtree_of_the_move_played():
    search = BatchedSearch(1, config=SearchConfig(temperature_moves=0), players=Player(100))
    r = search.search(UniformEvaluator())[0]
    children = search.root_children(0)
    visits = dict(zip(children["action"].tolist(), children["visits"].tolist()))
    search.play(0, r.action)
    assert search.tree_info(0)["root_visits"] == visits[r.action]
    unvisited = next(a for a, v in visits.items() if v == 0 and a != r.action)
    search.play(0, unvisited if search.board(0).is_legal(unvisited) else 81)
    assert search.tree_info(0)["root_visits"] == 0
    assert search.board(0).move_count == 2


def test_root_noise_changes_priors_and_temperature_samples_by_visits():
    config = SearchConfig(root_noise=True, temperature_moves=30, leaves_per_tree=4)
    search = BatchedSearch(1, config=config, players=Player(50), seed=3)
    search.search(UniformEvaluator())
    priors = search.root_children(0)["prior"]
    assert priors.sum() == pytest.approx(1.0, rel=1e-5)
    assert priors.std() > 1e-3                       # uniform without the noise
    chosen = {BatchedSearch(1, config=config, players=Player(50), seed=s)
              .search(UniformEvaluator())[0].action for s in range(8)}
    assert len(chosen) > 1


def test_resignation_and_the_share_of_games_that_may_not_resign():
    black_loses = lambda planes, t, fixed_exit=None, legal=None: (  # noqa: E731
        np.ones((len(planes), 82), np.float32),
        np.where(planes[:, 16, 0, 0] == 1.0, -0.99, 0.99).astype(np.float32),
        np.zeros(len(planes), np.int32))
    config = SearchConfig(resign_threshold=-0.9, no_resign_fraction=0.5)
    search = BatchedSearch(16, config=config, players=Player(4), seed=1)
    results = search.run_move(black_loses)
    resigned = [r for r in results if r.resigned]
    kept = [r for r in results if r.would_resign]
    assert resigned and kept and len(resigned) + len(kept) == 16
    for r in resigned:
        assert r.action == -1 and r.game_over and search.winner(r.game) == -r.player
        assert search.is_finished(r.game) and search.may_resign(r.game)
    for r in kept:
        assert not search.is_finished(r.game) and not search.may_resign(r.game)
    assert sorted(search.active_games()) == sorted(r.game for r in kept)


def test_games_run_to_the_end_with_rollouts():
    search = BatchedSearch(2, board_size=5, komi=0.5, config=SearchConfig(temperature_moves=4),
                           players=Player(16), max_moves=60)
    evaluator = RolloutEvaluator(seed=7)
    moves = 0
    while search.active_games():
        moves += len(search.run_move(evaluator))
        assert moves <= 2 * 60
    for g in range(2):
        board = search.board(g)
        assert board.is_over() and search.winner(g) == board.winner()


def assert_sensible(size: int, komi: float, moves: list[int]) -> None:
    """Replaying `moves`, no move fills the mover's own eye and every pass came when no other
    legal move was left."""
    board = Board(size, komi)
    for action in moves:
        if action == size * size:
            legal = board.legal_actions()[:-1]
            early = f"early pass at move {board.move_count}"
            assert all(board.is_own_eye(int(a)) for a in np.flatnonzero(legal)), early
        else:
            assert not board.is_own_eye(action), f"own eye filled at move {board.move_count}"
        board.play(action)


def test_sensible_moves_keep_own_eyes_and_early_passes_out_of_the_tree():
    # Black owns the corner A9 (action 0): its neighbours B9 and A8 are black.
    board = board_after(5, [1, 24, 5, 23])
    assert board.is_own_eye(0)
    evaluator = ConfidenceEvaluator([1.0], num_actions=26)
    search = BatchedSearch(1, board_size=5, config=SearchConfig(sensible_moves=True), players=Player(64))
    search.set_board(0, board)
    search.search(evaluator)
    actions = set(search.root_children(0)["action"].tolist())
    assert 0 not in actions and 25 not in actions and len(actions) == 21 - 1
    assert np.array_equal(search.board(0).sensible_actions(), np.isin(np.arange(26), sorted(actions)))
    root_legal = evaluator.legal_seen[0]   # the root is the first leaf evaluated
    assert not root_legal[0] and not root_legal[25] and root_legal.sum() == 20


def test_sensible_games_are_played_out_without_early_passes():
    search = BatchedSearch(4, board_size=7, komi=7.5, config=SearchConfig(sensible_moves=True, temperature_moves=100),
                           players=Player(8), seed=3)
    moves: list[list[int]] = [[] for _ in range(4)]
    while search.active_games():
        for r in search.run_move(UniformEvaluator(num_actions=50)):
            moves[r.game].append(r.action)
    for game in moves:
        assert game[-2:] == [49, 49] and len(game) > 40
        assert_sensible(7, 7.5, game)


def test_sensible_actions_of_a_board_full_of_eyes_is_the_pass():
    board = Board(5, 0.5)
    eyes = [r * 5 + c for r in (0, 2, 4) for c in (0, 2, 4)]
    for action in range(25):   # black everywhere else (one chain), white passing
        if action not in eyes:
            board.play(action)
            board.play(25)
    assert board.to_play == 1 and all(board.is_own_eye(a) for a in eyes)
    assert board.sensible_actions().tolist() == [False] * 25 + [True]
    assert board.legal_actions()[eyes].all()


def test_players_with_different_networks_are_budgeted_and_charged_by_their_own_flops():
    # black: a 3-exit network answering at exit 1; white: a 1-exit network of another width
    black = Player(20, ExitPolicy.fixed(1), exit_flops=(2.0, 3.0, 5.0))
    white = Player(20, ExitPolicy.dynamic(0.5, 0.0), exit_flops=(7.0,))
    search = BatchedSearch(2, config=SearchConfig(temperature_moves=0, leaves_per_tree=4), players=(black, white))
    search.play(1, 40)                 # game 0: black searches, game 1: white searches
    black_eval, white_eval = ConfidenceEvaluator([0.2, 0.4, 0.9]), ConfidenceEvaluator([1.0])
    for _ in range(3):
        for r in search.run_move((black_eval, white_eval)):
            if r.player == 1:
                assert len(r.evals_per_exit) == 3 and r.evals_per_exit[1] == r.evals_per_exit.sum()
                assert r.evals_per_exit[1] == math.floor(20 * 5.0 / 3.0)     # its budget: 20 x its deepest exit
                assert r.flops == pytest.approx(3.0 * r.evals_per_exit[1])
            else:
                assert r.evals_per_exit.tolist() == [20] and r.flops == pytest.approx(20 * 7.0)
    assert all((c["fixed"] == 1).all() for c in black_eval.calls)
    assert all((c["fixed"] == -1).all() for c in white_eval.calls)
    with pytest.raises(ValueError, match="exit 3 is out of range"):
        BatchedSearch(1, players=Player(5, ExitPolicy.fixed(3), exit_flops=(1.0, 2.0, 3.0)))
    with pytest.raises(ValueError, match="exit_flops"):
        Player(5, exit_flops=(1.0, 0.0))


def test_an_answer_beyond_the_movers_exits_is_an_error():
    one_exit = Player(5, ExitPolicy.threshold(0.5), exit_flops=(1.0,))
    search = BatchedSearch(1, exit_flops=(1.0, 2.0, 3.0), players=(one_exit, one_exit))
    deepest_of_three = lambda planes, t, fixed_exit=None, legal=None: (  # noqa: E731
        np.ones((len(planes), 82), np.float32), np.zeros(len(planes), np.float32), np.full(len(planes), 2, np.int32))
    with pytest.raises(ValueError, match=r"outside \[0, 1\)"):
        search.search(deepest_of_three)


def test_principal_variation_follows_the_most_visited_child_below_each_root_child():
    # 5x5 capture position of test_search_finds_an_obvious_capture; with tree reuse, playing the
    # line's moves one by one shows each step's children at the root: the line's next action is
    # the most-visited of them (the first on a tie, as argmax)
    board = board_after(5, [11, 12, 13, 0, 7, 4])
    config = SearchConfig(temperature_moves=0, leaves_per_tree=4, reuse_tree=True)
    search = BatchedSearch(1, board_size=5, config=config, players=Player(200))
    search.set_board(0, board)
    result = search.search(MaterialEvaluator(26))[0]
    lines = search.principal_variation(0, max_length=4)
    children = search.root_children(0)
    assert sorted(lines) == children["action"].tolist()
    for unvisited in children["action"][children["visits"] == 0]:
        assert lines[int(unvisited)] == [int(unvisited)]
    assert search.principal_variation(0, max_length=1)[17] == [17]
    best = lines[result.action]
    assert best[0] == 17 and len(best) == 4
    for played, expected_next in zip(best, best[1:]):
        search.play(0, played)
        below = search.root_children(0)
        assert below["visits"].max() > 0
        assert int(below["action"][np.argmax(below["visits"])]) == expected_next
    with pytest.raises(ValueError, match="max_length"):
        search.principal_variation(0, max_length=0)


def test_search_progress_counts_the_move_in_progress_after_every_step():
    sims = 30
    evaluator = ConfidenceEvaluator([0.3, 0.5, 0.7, 0.9])
    search = BatchedSearch(1, config=SearchConfig(leaves_per_tree=4, reuse_tree=True), exit_flops=FLOPS,
                           players=Player(sims, ExitPolicy.dynamic(0.2, 0.9)))
    before = search.search_progress(0)
    assert (before["spent"], before["budget"], before["simulations"], before["searching"]) == (0.0, 0.0, 0, False)
    assert before["evals_per_exit"].tolist() == [0, 0, 0, 0]
    for move in range(2):  # the first move evaluates its root, the second reuses it
        search.start_search()
        evaluator.calls.clear()
        spent = 0.0
        while search.num_searching():
            search.step(evaluator)
            progress = search.search_progress(0)
            used = np.concatenate([c["exits"] for c in evaluator.calls])
            assert progress["evals_per_exit"].tolist() == np.bincount(used, minlength=4).tolist()
            assert progress["evals_per_exit"].sum() == progress["simulations"] + (move == 0)
            assert progress["spent"] == pytest.approx(float(np.dot(progress["evals_per_exit"], FLOPS)))
            assert progress["spent"] >= spent and progress["budget"] == sims * FLOPS[-1]
            spent = progress["spent"]
        result = search.results()[0]
        assert not progress["searching"] and progress["simulations"] == result.simulations > 0
        assert progress["spent"] == result.flops <= progress["budget"] + FLOPS[-1]  # one evaluation over at most
        assert progress["evals_per_exit"].tolist() == result.evals_per_exit.tolist()
        search.play(0, result.action)
