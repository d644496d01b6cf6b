"""Property tests of go_engine.Board over random games, and agreement with bench/pyboard.py."""
from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from hypothesis import given, settings, strategies as st

from go_engine import (
    Board,
    IllegalMove,
    compose_symmetries,
    inverse_symmetry,
    transform_action,
    transform_planes,
    transform_policy,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from pyboard import PyBoard

SIZES = st.sampled_from([5, 6, 7, 9, 13])
SEEDS = st.integers(0, 2**32 - 1)
SETTINGS = settings(max_examples=25, deadline=None)


def random_actions(board: Board, seed: int, pass_probability: float = 0.03) -> Iterator[int]:
    """Random legal actions for `board` until its game ends; the caller plays each one."""
    rng = np.random.default_rng(seed)
    while not board.is_over():
        moves = np.flatnonzero(board.legal_actions()[:-1])
        if len(moves) == 0 or rng.random() < pass_probability:
            yield board.num_actions - 1
        else:
            yield int(rng.choice(moves))


def chains(stones: np.ndarray) -> Iterator[tuple[set[int], set[int]]]:
    """Every chain on an int8 [n, n] position with its liberties (pyboard's flood fill)."""
    reference = PyBoard(stones.shape[0])
    grid = [int(v) for v in stones.ravel()]
    seen: set[int] = set()
    for point, colour in enumerate(grid):
        if colour and point not in seen:
            chain, liberties = reference.chain(grid, point)
            seen |= chain
            yield chain, liberties


def rebuilt(board: Board) -> Board:
    """A board with the same stones placed from scratch, in row-major order."""
    fresh = Board(board.size, max_moves=2048)
    flat = board.stones().ravel()
    black = list(np.flatnonzero(flat == 1))
    white = list(np.flatnonzero(flat == -1))
    while black or white:
        pending = black if fresh.to_play == 1 else white
        fresh.play(int(pending.pop(0)) if pending else fresh.num_actions - 1)
    return fresh


@SETTINGS
@given(size=SIZES, seed=SEEDS)
def test_invariants_along_random_games(size: int, seed: int) -> None:
    board = Board(size)
    for action in random_actions(board, seed):
        board.play(action)
        for _, liberties in chains(board.stones()):
            assert liberties, "a chain without liberties is on the board"
        moves = np.array(board.history)
        placed_black = np.count_nonzero(moves[0::2] != size * size)
        placed_white = np.count_nonzero(moves[1::2] != size * size)
        by_black, by_white = board.captures
        stones = board.stones()
        assert np.count_nonzero(stones == 1) == placed_black - by_white
        assert np.count_nonzero(stones == -1) == placed_white - by_black
    assert board.is_over()
    assert rebuilt(board).zobrist_hash == board.zobrist_hash


@SETTINGS
@given(size=SIZES, seed=SEEDS)
def test_legal_actions_agree_with_is_legal_and_play(size: int, seed: int) -> None:
    board = Board(size)
    for step, action in enumerate(random_actions(board, seed)):
        mask = board.legal_actions()
        assert mask[-1] and mask.dtype == np.bool_ and mask.shape == (size * size + 1,)
        assert list(mask) == [board.is_legal(a) for a in range(board.num_actions)]
        if step % 10 == 0:
            for a in np.flatnonzero(~mask):
                probe = board.copy()
                try:
                    probe.play(int(a))
                    raise AssertionError(f"illegal action {a} was accepted")
                except IllegalMove:
                    pass
        board.play(action)
    assert not board.legal_actions().any()


@SETTINGS
@given(size=SIZES, seed=SEEDS, split=st.integers(0, 200))
def test_copy_is_equal_then_independent(size: int, seed: int, split: int) -> None:
    board = Board(size)
    actions = random_actions(board, seed)
    for _, action in zip(range(split), actions):
        board.play(action)
    clone = board.copy()
    snapshot = (board.stones(), board.zobrist_hash, board.history, board.planes(), board.legal_actions())
    same = (clone.stones(), clone.zobrist_hash, clone.history, clone.planes(), clone.legal_actions())
    for x, y in zip(snapshot, same):
        assert np.array_equal(x, y)
    clone.random_playout(seed)
    after = (board.stones(), board.zobrist_hash, board.history, board.planes(), board.legal_actions())
    for x, y in zip(snapshot, after):
        assert np.array_equal(x, y)
    # The original keeps playing as if nothing happened, the clone's game is over.
    assert clone.is_over()
    for action in actions:
        board.play(action)


@SETTINGS
@given(size=SIZES, seed=SEEDS, fill_own_eyes=st.booleans())
def test_random_playout_ends_the_game_with_a_consistent_board(size: int, seed: int, fill_own_eyes: bool) -> None:
    board = Board(size)
    played = board.random_playout(seed, fill_own_eyes)
    assert board.is_over() and played == board.move_count
    assert rebuilt(board).zobrist_hash == board.zobrist_hash
    reference = PyBoard(size)
    for action in board.history:                # every playout move is legal for the reference
        reference.play(action)
    assert reference.score() == board.score()
    start = Board(size)
    moves, black_wins = start.random_playouts(5, seed, fill_own_eyes)
    assert start.move_count == 0 and 5 <= moves <= 5 * start.max_moves and 0 <= black_wins <= 5


def test_matches_the_reference_board_over_many_random_games() -> None:
    """Same legal actions, same illegal reasons, same captures and score as pyboard."""
    for game in range(100):
        size = (5, 6, 7, 9)[game % 4]
        board, reference = Board(size), PyBoard(size)
        for step, action in enumerate(random_actions(board, seed=game, pass_probability=0.02)):
            legal = board.legal_actions()
            expected = reference.legal_actions()
            assert list(np.flatnonzero(legal)) == expected, (game, step)
            if size <= 6:
                for a in np.flatnonzero(~legal):
                    try:
                        board.copy().play(int(a))
                    except IllegalMove as error:
                        assert error.reason == reference.illegal_reason(int(a))
            assert board.play(action) == reference.play(action)
        assert reference.is_over()
        assert board.score() == reference.score()


# --- symmetries ---------------------------------------------------------------------------

def test_symmetries_form_the_dihedral_group() -> None:
    generic = np.arange(2 * 7 * 7, dtype=np.float32).reshape(2, 7, 7)
    images = [transform_planes(generic, k) for k in range(8)]
    assert np.array_equal(images[0], generic)
    assert len({image.tobytes() for image in images}) == 8
    for k in range(8):
        assert np.array_equal(transform_planes(images[k], inverse_symmetry(k)), generic)
        assert compose_symmetries(k, inverse_symmetry(k)) == 0
        for j in range(8):
            composed = transform_planes(images[k], j)
            assert np.array_equal(composed, transform_planes(generic, compose_symmetries(k, j)))


def test_policy_symmetry_keeps_pass_and_inverts() -> None:
    policy = np.random.default_rng(0).random((3, 26))
    for k in range(8):
        moved = transform_policy(policy, k)
        assert np.array_equal(moved[:, -1], policy[:, -1])
        assert np.array_equal(transform_policy(moved, inverse_symmetry(k)), policy)
        board_part = transform_planes(policy[:, :-1].reshape(3, 5, 5), k).reshape(3, 25)
        assert np.array_equal(moved[:, :-1], board_part)


@SETTINGS
@given(size=SIZES, seed=SEEDS, k=st.integers(0, 7))
def test_features_of_a_symmetric_game_are_symmetric_features(size: int, seed: int, k: int) -> None:
    board, mirror = Board(size), Board(size)
    for step, action in enumerate(random_actions(board, seed)):
        board.play(action)
        mirror.play(transform_action(action, k, size))
        if step % 7 == 0:
            assert np.array_equal(mirror.planes(), transform_planes(board.planes(), k))
            assert np.array_equal(mirror.legal_actions(), transform_policy(board.legal_actions(), k))
            assert np.array_equal(mirror.stones(), transform_planes(board.stones(), k))
    assert mirror.score() == board.score()
