"""Evaluators for go_engine.search that need no network (tests, benchmarks).

The calling convention is documented in go_engine/search.pyx:
``evaluator(planes, thresholds, fixed_exit=..., legal=...) -> (priors, values, exits)``.
"""
from __future__ import annotations

import numpy as np


class UniformEvaluator:
    """Uniform priors, value 0, and the requested exit (fixed) or the last exit (threshold)."""

    def __init__(self, num_exits: int = 1, num_actions: int = 82) -> None:
        if num_exits < 1:
            raise ValueError(f"num_exits must be >= 1, got {num_exits}")
        self.num_exits = num_exits
        self.num_actions = num_actions

    def __call__(self, planes: np.ndarray, thresholds: np.ndarray,
                 fixed_exit: np.ndarray | None = None,
                 legal: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Answer n leaves: priors float32 [n, num_actions], values float32 [n], exits int32 [n]."""
        n = len(planes)
        priors = np.full((n, self.num_actions), 1.0 / self.num_actions, np.float32)
        exits = np.full(n, self.num_exits - 1, np.int32)
        if fixed_exit is not None:
            exits = np.where(fixed_exit >= 0, fixed_exit, exits).astype(np.int32)
        return priors, np.zeros(n, np.float32), exits
