"""AlphaGo Zero input planes of go_engine.Board."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from go_engine import Board


def test_empty_board_planes():
    planes = Board(9).planes()
    assert planes.shape == (17, 9, 9) and planes.dtype == np.float32
    assert not planes[:16].any()
    assert (planes[16] == 1).all()


def test_planes_follow_the_player_to_move():
    board = Board(9)
    d5, e5 = board.gtp_to_action("D5"), board.gtp_to_action("E5")
    board.play(d5)                              # white to move: D5 is the opponent's stone
    planes = board.planes().reshape(17, -1)
    assert not planes[0].any() and np.flatnonzero(planes[8]).tolist() == [d5]
    assert not planes[16].any()
    assert not planes[1].any() and not planes[9].any()     # t-1 is the empty board
    board.play(e5)                              # black to move
    planes = board.planes().reshape(17, -1)
    assert np.flatnonzero(planes[0]).tolist() == [d5]      # own stones at t
    assert np.flatnonzero(planes[8]).tolist() == [e5]      # opponent stones at t
    assert np.flatnonzero(planes[1]).tolist() == [d5]      # own stones at t-1
    assert not planes[9].any()                              # opponent had none at t-1
    assert (planes[16] == 1).all()


def test_a_captured_stone_leaves_plane_t_but_stays_in_t_minus_1():
    board = Board(5)
    for vertex in "C3 B3 B4 pass B2 pass".split():
        board.play_gtp(vertex)
    board.play_gtp("A3")                                     # black captures white B3
    planes = board.planes().reshape(17, -1)                  # white to move
    b3 = board.gtp_to_action("B3")
    assert planes[0, b3] == 0 and planes[8, b3] == 0         # gone now
    assert planes[1, b3] == 1                                 # white's stone one move ago


@settings(max_examples=25, deadline=None)
@given(size=st.sampled_from([5, 7, 9, 19]), seed=st.integers(0, 2**32 - 1))
def test_planes_are_the_last_eight_positions(size: int, seed: int) -> None:
    board = Board(size)
    positions = [board.stones()]
    rng = np.random.default_rng(seed)
    while not board.is_over() and board.move_count < 40:
        legal = np.flatnonzero(board.legal_actions())
        board.play(int(rng.choice(legal)))
        positions.append(board.stones())
    planes = board.planes()
    me = board.to_play
    for k in range(8):
        t = board.move_count - k
        past = positions[t] if t >= 0 else np.zeros((size, size), np.int8)
        assert np.array_equal(planes[k], past == me)
        assert np.array_equal(planes[8 + k], past == -me)
    assert (planes[16] == (me == 1)).all()


def test_write_planes_fills_a_batch_row_in_place():
    board = Board(9)
    for vertex in "D5 E5 C3".split():
        board.play_gtp(vertex)
    batch = np.full((4, 17, 9, 9), -1.0, dtype=np.float32)
    board.write_planes(batch[2])
    assert np.array_equal(batch[2], board.planes())
    assert (batch[[0, 1, 3]] == -1).all()
    flat = np.zeros(17 * 81, dtype=np.float32)
    board.write_planes(flat)
    assert np.array_equal(flat.reshape(17, 9, 9), board.planes())


@pytest.mark.parametrize("bad", [
    np.zeros((17, 9, 9), dtype=np.float64),
    np.zeros((17, 9, 8), dtype=np.float32),
    np.zeros((17, 9, 18), dtype=np.float32)[:, :, ::2],
])
def test_write_planes_rejects_a_wrong_buffer(bad: np.ndarray) -> None:
    with pytest.raises(ValueError, match="float32"):
        Board(9).write_planes(bad)
