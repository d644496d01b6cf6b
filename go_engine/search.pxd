# cython: language_level=3
"""C-level layout of the batched PUCT / Gumbel search (go_engine/search.pyx), for `cimport`.

A tree is one pool of `Node` structs. The children of an expanded node are a contiguous block
`nodes[first_child : first_child + num_children]`, created at expansion for the legal moves
only; a node's own statistics are those of the edge that leads to it. The root is node 0.
"""
from libc.stdint cimport int16_t, int32_t, uint8_t

from go_engine.board cimport Board


ctypedef struct Node:              # 24 bytes
    int32_t first_child            # index of the first child, -1 while not expanded
    int32_t n                      # completed visits through this node
    float w                        # sum of backed-up values, from the view of the player who
                                   # moved INTO this node (so Q(s, a) = w / n for the parent)
    float prior                    # P(s, a)
    int16_t action
    int16_t num_children
    int16_t vloss                  # virtual losses of simulations in flight
    uint8_t flags                  # PENDING / TERMINAL / TERMINAL_WIN / TERMINAL_LOSS
    uint8_t pad


ctypedef struct Tree:
    Node* nodes
    int32_t size
    int32_t capacity


cdef class BoardEvaluator:
    """Base of evaluators that read the leaf's board directly (Cython), e.g. random rollouts.

    The search calls `c_evaluate` once per leaf while it collects the leaves (no planes are
    written for it); the answers are applied with the step's batch as for any evaluator.
    """
    cdef readonly int num_exits
    cdef void c_evaluate(self, Board board, float threshold, int fixed_exit,
                         float* priors, float* value, int* exit_used) noexcept
