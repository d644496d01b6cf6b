"""Golden regression test of `go_engine.BatchedSearch` (as mctx's tree_test.py and KataGo's
cpp/tests/results/ do): a fixed seed and a deterministic evaluator give stored root visit
counts, root values, actions, FLOPs and evaluations per exit, move after move, so that a
change to search.pyx (a speed-up, a refactor) cannot change the search silently.

The evaluator's answer for a leaf is a pure function of its input planes (a CRC-32 of their
bits seeds the leaf's priors, value and per-exit confidences), so it does not depend on the
batch a leaf arrives in. After a deliberate change of the search, regenerate the stored
results and commit them with the change:

    DPV_REGEN_GOLDEN=1 .venv/bin/python -m pytest tests/go_engine/test_search_golden.py
"""
from __future__ import annotations

import json
import os
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from go_engine import BatchedSearch, Board, ExitPolicy, Player, SearchConfig

GOLDEN = Path(__file__).parent / "golden" / "search.json"
REGEN = os.environ.get("DPV_REGEN_GOLDEN") == "1"


class HashEvaluator:
    """A fake `num_exits`-exit network whose answers are a hash of the planes: exit k's priors
    are random cubes (peaked), its confidence the largest legal prior (eq. 6.4); a leaf leaves
    at the first exit whose confidence reaches its threshold (eq. 6.6), else at the deepest."""

    def __init__(self, num_exits: int, num_actions: int) -> None:
        self.num_exits = num_exits
        self.num_actions = num_actions

    def __call__(self, planes, thresholds, fixed_exit=None, legal=None):
        n = len(planes)
        priors = np.empty((n, self.num_actions), np.float32)
        values = np.empty(n, np.float32)
        exits = np.empty(n, np.int32)
        for i in range(n):
            rng = np.random.default_rng(zlib.crc32(np.packbits(planes[i] > 0.5).tobytes()))
            raw = rng.random((self.num_exits, self.num_actions)) ** 3
            leaf_values = rng.uniform(-0.9, 0.9, self.num_exits)
            shares = np.where(legal[i], raw, 0.0)
            confidence = shares.max(axis=1) / shares.sum(axis=1)
            if fixed_exit[i] >= 0:
                k = int(fixed_exit[i])
            else:
                passing = np.flatnonzero(confidence >= thresholds[i])
                k = int(passing[0]) if passing.size else self.num_exits - 1
            priors[i], values[i], exits[i] = raw[k], leaf_values[k], k
        return priors, values, exits


def _position(size: int, moves: list[int]) -> Board:
    board = Board(size, 7.5)
    for action in moves:
        board.play(action)
    return board


# name -> (games, board size, starting moves, SearchConfig kwargs, exit FLOPs, black, white)
CASES: dict[str, tuple[int, int, list[int], dict[str, Any], list[float], Player, Player]] = {
    "puct-l1": (2, 9, [], dict(leaves_per_tree=1, temperature_moves=0), [1.0],
                Player(48), Player(48)),
    "puct-l8-noise": (2, 9, [40, 30, 50], dict(leaves_per_tree=8, root_noise=True, temperature_moves=2),
                      [1.0], Player(64), Player(64)),
    "puct-l8-no-reuse-fpu0": (2, 7, [24, 16], dict(leaves_per_tree=8, reuse_tree=False, fpu_absolute=0.0,
                                                    temperature_moves=0, sensible_moves=True),
                              [1.0], Player(40), Player(40)),
    "dynamic-3-exits-l8": (3, 9, [], dict(leaves_per_tree=8, temperature_moves=0),
                           [2.0, 3.0, 4.0], Player(40, ExitPolicy.dynamic(0.042, 0.012)),
                           Player(40, ExitPolicy.fixed(0))),
    "dynamic-3-exits-l1": (2, 9, [20, 60], dict(leaves_per_tree=1, temperature_moves=0),
                           [2.0, 3.0, 4.0], Player(30, ExitPolicy.threshold(0.047)),
                           Player(30, ExitPolicy.dynamic(0.044, 0.01))),
    "depth-and-confidence-all-l8": (2, 9, [40], dict(leaves_per_tree=8, temperature_moves=0, sensible_moves=True),
                                    [2.0, 3.0, 4.0], Player(40, ExitPolicy.depth(1, 0.5)),
                                    Player(40, ExitPolicy.dynamic(0.03, 0.02, "all"))),
}


def run_case(name: str, moves: int = 4) -> list[dict[str, Any]]:
    """Play `moves` moves in every game of case `name`; per move and game the root's visit
    counts (action -> visits), root value, action, FLOPs, evaluations per exit, simulations."""
    games, size, start, config, flops, black, white = CASES[name]
    search = BatchedSearch(games, size, 7.5, config=SearchConfig(**config), exit_flops=flops,
                           players=(black, white), seed=1234)
    for g in range(games):
        search.set_board(g, _position(size, start + ([g] if g else [])))
    evaluator = HashEvaluator(len(flops), size * size + 1)
    record = []
    for _ in range(moves):
        search.start_search()
        while search.num_searching():
            search.step(evaluator)
        for r in search.results():
            kids = search.root_children(r.game)
            record.append({
                "game": r.game, "player": r.player, "action": r.action,
                "visits": {str(int(a)): int(v) for a, v in zip(kids["action"], kids["visits"]) if v},
                "root_value": round(r.root_value, 6), "flops": r.flops,
                "evals_per_exit": r.evals_per_exit.tolist(), "simulations": r.simulations})
            search.play(r.game, r.action)
    return record


def test_golden_file_covers_every_case():
    if REGEN:
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps({name: run_case(name) for name in CASES}, indent=1, sort_keys=True) + "\n")
    assert sorted(json.loads(GOLDEN.read_text())) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_search_matches_the_stored_results(name):
    stored = json.loads(GOLDEN.read_text())[name]
    got = run_case(name)
    assert len(got) == len(stored)
    for move, (mine, theirs) in enumerate(zip(got, stored)):
        where = f"{name}, move {move // CASES[name][0]} of game {mine['game']}"
        assert mine["root_value"] == pytest.approx(theirs["root_value"], abs=1e-5), where
        assert {k: v for k, v in mine.items() if k != "root_value"} == \
            {k: v for k, v in theirs.items() if k != "root_value"}, where


def test_the_evaluator_answers_a_leaf_the_same_in_any_batch():
    evaluator = HashEvaluator(3, 82)
    boards = [_position(9, moves) for moves in ([], [40], [40, 41])]
    planes = np.stack([b.planes() for b in boards]).astype(np.float32)
    legal = np.stack([b.legal_actions() for b in boards])
    thresholds = np.array([0.05, 0.5, 0.0], np.float32)
    fixed = np.array([-1, -1, 2], np.int32)
    together = evaluator(planes, thresholds, fixed_exit=fixed, legal=legal)
    for i in range(3):
        alone = evaluator(planes[i:i + 1], thresholds[i:i + 1], fixed_exit=fixed[i:i + 1], legal=legal[i:i + 1])
        for whole, part in zip(together, alone):
            np.testing.assert_array_equal(whole[i:i + 1], part)
