"""The thesis's `multi-step` self-play variant (6.3.1): training is split into equal intervals
(four in the thesis) and each interval generates self-play games with a different exit,
shallowest first. The thesis finds it degrades training; `weighted` with the deepest exit is
the default. No torch import.
"""
from __future__ import annotations


def multi_step_exit(progress: float, num_exits: int, intervals: int = 4) -> int:
    """The exit (0-based) that self-play uses at training `progress` (step / total steps,
    clipped to [0, 1]). Interval i of `intervals` maps linearly onto exits 0..num_exits-1, so
    with 4 exits and 4 intervals interval i uses exit i; the last interval uses the deepest."""
    if num_exits < 1 or intervals < 1:
        raise ValueError(f"need num_exits >= 1 and intervals >= 1, got {num_exits}, {intervals}")
    interval = min(int(max(0.0, progress) * intervals), intervals - 1)
    if intervals == 1:
        return num_exits - 1
    return int(interval * (num_exits - 1) / (intervals - 1) + 0.5)
