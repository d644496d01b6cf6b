"""go_engine: Go rules, input features and symmetries in Cython (imports numpy only).

See go_engine/board.pyx for the board representation and the action convention
(action = row*size + col, row 0 at the top of the GTP diagram, size*size = pass).
"""
from go_engine.board import (
    GTP_LETTERS,
    Board,
    IllegalMove,
    action_to_gtp,
    gtp_to_action,
)
from go_engine.symmetry import (
    NUM_SYMMETRIES,
    compose_symmetries,
    inverse_symmetry,
    point_permutations,
    transform_action,
    transform_planes,
    transform_policy,
)

__all__ = [
    "GTP_LETTERS",
    "Board",
    "IllegalMove",
    "action_to_gtp",
    "gtp_to_action",
    "NUM_SYMMETRIES",
    "compose_symmetries",
    "inverse_symmetry",
    "point_permutations",
    "transform_action",
    "transform_planes",
    "transform_policy",
]

# PUCT and Gumbel-root search (issues 3, 14): go_engine/search.pyx, search_types.py, evaluators.py, rollout.pyx
from go_engine.evaluators import UniformEvaluator
from go_engine.rollout import RolloutEvaluator
from go_engine.search import BatchedSearch, BoardEvaluator, search_one
from go_engine.search_types import ExitPolicy, MoveResult, Player, SearchConfig

__all__ += [
    "BatchedSearch",
    "BoardEvaluator",
    "ExitPolicy",
    "MoveResult",
    "Player",
    "RolloutEvaluator",
    "SearchConfig",
    "UniformEvaluator",
    "search_one",
]
