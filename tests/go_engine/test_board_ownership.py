"""Board.ownership: the Tromp-Taylor owner of every point, from the flood fill score() uses."""
from __future__ import annotations

import numpy as np
import pytest

from go_engine import Board
from tests.go_engine.test_board_rules import setup


def reference_ownership(board: Board) -> np.ndarray:
    """Area-scoring owners computed in Python from stones(): +1 black, -1 white, 0 neutral."""
    stones = board.stones()
    n = board.size
    owner = stones.astype(np.int8).copy()
    seen = np.zeros((n, n), bool)
    for r0 in range(n):
        for c0 in range(n):
            if stones[r0, c0] != 0 or seen[r0, c0]:
                continue
            region, reaches, todo = [], set(), [(r0, c0)]
            seen[r0, c0] = True
            while todo:
                r, c = todo.pop()
                region.append((r, c))
                for rr, cc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
                    if 0 <= rr < n and 0 <= cc < n:
                        if stones[rr, cc] == 0 and not seen[rr, cc]:
                            seen[rr, cc] = True
                            todo.append((rr, cc))
                        elif stones[rr, cc] != 0:
                            reaches.add(int(stones[rr, cc]))
            mark = reaches.pop() if len(reaches) == 1 else 0
            for r, c in region:
                owner[r, c] = mark
    return owner.ravel()


@pytest.mark.parametrize("size", [5, 9, 13])
def test_ownership_matches_area_scoring_on_played_out_and_unfinished_games(size):
    for seed in range(30):
        board = Board(size, komi=7.5)
        # Stop some games early so regions reaching both colours (neutral) and none occur too.
        board.random_playout(seed, max_moves=-1 if seed % 3 == 0 else seed * 3)
        owner = board.ownership()
        assert owner.dtype == np.int8 and owner.shape == (size * size,)
        np.testing.assert_array_equal(owner, reference_ownership(board))
        assert float(owner.sum()) - board.komi == board.score()


def test_empty_board_is_neutral_and_one_stone_owns_everything():
    board = Board(9, komi=7.5)
    assert not board.ownership().any() and board.score() == -7.5
    board.play_gtp("E5")
    assert (board.ownership() == 1).all() and board.score() == 81 - 7.5


def test_seki_shared_liberty_is_neutral_and_the_eyes_are_owned():
    # The seki of test_board_rules: C1 is both sides' shared liberty, A5 black's eye, E5 white's.
    board = Board(5, komi=0.0)
    setup(board, black="A1 A2 A3 A4 B1 B2 B3 B4 B5 C2 C3 C4 C5",
          white="D1 D2 D3 D4 D5 E1 E2 E3 E4", to_play=-1)
    owner = board.ownership()
    at = {v: int(owner[board.gtp_to_action(v)]) for v in ("C1", "A5", "E5", "B3", "D3")}
    assert at == {"C1": 0, "A5": 1, "E5": -1, "B3": 1, "D3": -1}
    assert (owner == 0).sum() == 1
    assert owner.sum() - board.komi == board.score() == 4


def test_dame_between_walls_is_neutral():
    # 5x5: black wall on column B, white wall on column D; column C touches both.
    board = Board(5, komi=0.5)
    setup(board, black="B1 B2 B3 B4 B5", white="D1 D2 D3 D4 D5")
    owner = board.ownership().reshape(5, 5)
    assert (owner[:, 0] == 1).all() and (owner[:, 4] == -1).all() and (owner[:, 2] == 0).all()
    assert board.score() == -0.5
