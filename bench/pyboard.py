"""A plain pure-Python Go board: the reference for go_engine's tests and the slow peer of
bench/engine.py.

It favours obviousness over speed: the position is a list of size*size ints (+1 black,
-1 white, 0 empty), chains and liberties are found by flood fill on every move, and
positional superko keeps a set of every earlier position as a tuple. Conventions match
go_engine.Board: action = row*size + col (row 0 at the top), size*size = pass; suicide is
illegal; Tromp-Taylor area score minus komi; the game ends after two passes or max_moves.
"""
from __future__ import annotations

import random


class PyBoard:
    """Reference board; `play` raises ValueError(reason) with go_engine's reason names."""

    def __init__(self, size: int = 9, komi: float = 7.5, max_moves: int | None = None) -> None:
        self.size = size
        self.komi = komi
        self.max_moves = 2 * size * size if max_moves is None else max_moves
        self.pass_action = size * size
        self.grid = [0] * (size * size)
        self.to_play = 1
        self.passes = 0
        self.move_count = 0
        self.seen = {tuple(self.grid)}
        self.neighbours = [self._neighbours(a) for a in range(size * size)]

    def _neighbours(self, action: int) -> list[int]:
        row, col = divmod(action, self.size)
        return [r * self.size + c
                for r, c in ((row - 1, col), (row + 1, col), (row, col - 1), (row, col + 1))
                if 0 <= r < self.size and 0 <= c < self.size]

    def chain(self, grid: list[int], start: int) -> tuple[set[int], set[int]]:
        """The chain through `start` and its liberties (for an empty point: its empty region)."""
        colour = grid[start]
        stones, liberties, frontier = {start}, set(), [start]
        while frontier:
            for q in self.neighbours[frontier.pop()]:
                if grid[q] == colour and q not in stones:
                    stones.add(q)
                    frontier.append(q)
                elif grid[q] == 0:
                    liberties.add(q)
        return stones, liberties

    def _after(self, action: int) -> tuple[list[int] | None, int, str | None]:
        """(grid after the move, stones captured, None) or (None, 0, reason) if illegal."""
        if self.is_over():
            return None, 0, "game over"
        if action == self.pass_action:
            return list(self.grid), 0, None
        if self.grid[action] != 0:
            return None, 0, "occupied"
        grid = list(self.grid)
        grid[action] = self.to_play
        captured = 0
        for q in self.neighbours[action]:
            if grid[q] == -self.to_play:
                stones, liberties = self.chain(grid, q)
                if not liberties:
                    for s in stones:
                        grid[s] = 0
                    captured += len(stones)
        if not self.chain(grid, action)[1]:
            return None, 0, "suicide"
        if tuple(grid) in self.seen:
            return None, 0, "superko"
        return grid, captured, None

    def illegal_reason(self, action: int) -> str | None:
        """Why `action` is illegal now, or None if it is legal."""
        return self._after(action)[2]

    def is_legal(self, action: int) -> bool:
        return self.illegal_reason(action) is None

    def legal_actions(self) -> list[int]:
        return [a for a in range(self.pass_action + 1) if self.is_legal(a)]

    def play(self, action: int) -> int:
        """Play for the side to move; returns stones captured; ValueError(reason) if illegal."""
        grid, captured, reason = self._after(action)
        if reason is not None:
            raise ValueError(reason)
        self.grid = grid
        self.seen.add(tuple(grid))
        self.passes = self.passes + 1 if action == self.pass_action else 0
        self.move_count += 1
        self.to_play = -self.to_play
        return captured

    def is_over(self) -> bool:
        return self.passes >= 2 or self.move_count >= self.max_moves

    def score(self) -> float:
        """Tromp-Taylor: stones plus empty regions reaching only one colour, minus komi."""
        total = float(sum(self.grid))
        done: set[int] = set()
        for a in range(self.pass_action):
            if self.grid[a] == 0 and a not in done:
                region, _ = self.chain(self.grid, a)       # the chain of an empty point
                done |= region
                bordering = {self.grid[q] for s in region for q in self.neighbours[s]} - {0}
                if len(bordering) == 1:
                    total += len(region) * bordering.pop()
        return total - self.komi


def random_playout(board: PyBoard, rng: random.Random) -> int:
    """Play uniformly random legal actions (pass included) to the end; returns moves played.

    Rejection sampling without replacement over the empty points plus pass, the same policy
    as go_engine's playout with fill_own_eyes=True.
    """
    played = 0
    while not board.is_over():
        candidates = [a for a in range(board.pass_action) if board.grid[a] == 0]
        while True:
            i = rng.randrange(len(candidates) + 1)
            if i == len(candidates):
                action = board.pass_action
                break
            if board.is_legal(candidates[i]):
                action = candidates[i]
                break
            candidates[i] = candidates[-1]
            candidates.pop()
        board.play(action)
        played += 1
    return played
