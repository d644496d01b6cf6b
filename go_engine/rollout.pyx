# cython: language_level=3
"""Random-playout evaluator for go_engine.search (benchmarks against OpenSpiel's MCTS, tests).

Each leaf is scored by one (or more) uniformly random playouts to the end of the game: the
value is the mean of sign(score) from the view of the player to move at the leaf; the priors
are uniform over the legal moves.
"""
from libc.stdint cimport uint64_t

from go_engine.board cimport Board
from go_engine.rng cimport Rng, rng_seed
from go_engine.search cimport BoardEvaluator


cdef class RolloutEvaluator(BoardEvaluator):
    """`playouts` random games per leaf; `fill_own_eyes=True` draws uniformly over all legal
    actions, pass included (OpenSpiel's RandomRolloutEvaluator), False skips moves that fill
    the mover's own eyes (the usual Monte-Carlo policy, shorter games)."""

    cdef Board scratch
    cdef Rng rng
    cdef readonly int playouts
    cdef readonly bint fill_own_eyes

    def __init__(self, playouts: int = 1, seed: int = 0, fill_own_eyes: bool = False,
                 num_exits: int = 1) -> None:
        super().__init__(num_exits)
        if playouts < 1:
            raise ValueError(f"playouts must be >= 1, got {playouts}")
        self.playouts = playouts
        self.fill_own_eyes = fill_own_eyes
        self.scratch = Board.__new__(Board)
        rng_seed(&self.rng, <uint64_t>seed)

    cdef void c_evaluate(self, Board board, float threshold, int fixed_exit,
                         float* priors, float* value, int* exit_used) noexcept:
        cdef int a, i, mover = board.c_to_play()
        cdef double score, total = 0.0
        for a in range(board.num_actions):
            priors[a] = 1.0
        for i in range(self.playouts):
            self.scratch.c_copy_from(board)
            self.scratch.c_random_playout(&self.rng, self.fill_own_eyes, -1)
            score = self.scratch.c_score() * mover
            total += (score > 0) - (score < 0)
        value[0] = <float>(total / self.playouts)
        exit_used[0] = fixed_exit if fixed_exit >= 0 else self.num_exits - 1
