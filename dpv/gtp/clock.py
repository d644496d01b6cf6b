"""Time control of a GTP game (`time_settings`, `time_left`): how many seconds the engine may
spend on its next move.

Canadian byo-yomi as GTP defines it: `main_time` seconds, then periods of `byo_yomi_time`
seconds for `byo_yomi_stones` moves; `byo_yomi_time > 0` with `byo_yomi_stones == 0` means no
limit. The controller's `time_left COLOR TIME STONES` overrides the engine's own bookkeeping
(STONES 0: still in main time).
"""
from __future__ import annotations

from dataclasses import dataclass, field

SAFETY_SHARE = 0.8  # of the time computed for a move, kept for the search
SAFETY_SECONDS = 0.05  # lag and bookkeeping per move
MIN_SECONDS = 0.02


@dataclass
class Clock:
    """Both colours' remaining time under one time control; unlimited until set."""

    main_time: float = 0.0
    byo_yomi_time: float = 0.0
    byo_yomi_stones: int = 0
    limited: bool = False
    left: dict[int, tuple[float, int]] = field(default_factory=dict)
    """colour -> (seconds left in the current period, stones left in it; 0 = main time)."""

    def set(self, main_time: float, byo_yomi_time: float, byo_yomi_stones: int) -> None:
        """`time_settings`: start both colours' clocks."""
        if main_time < 0 or byo_yomi_time < 0 or byo_yomi_stones < 0:
            raise ValueError("time settings must not be negative")
        self.main_time, self.byo_yomi_time, self.byo_yomi_stones = main_time, byo_yomi_time, byo_yomi_stones
        self.limited = main_time > 0 or (byo_yomi_time > 0 and byo_yomi_stones > 0)
        start = (main_time, 0) if main_time > 0 else (byo_yomi_time, byo_yomi_stones)
        self.left = {1: start, -1: start}

    def update(self, colour: int, seconds: float, stones: int) -> None:
        """`time_left`: the controller's word on `colour`'s clock."""
        if seconds < 0 or stones < 0:
            raise ValueError("time left must not be negative")
        self.left[colour] = (seconds, stones)

    def allowance(self, colour: int, moves_left: int) -> float | None:
        """Seconds for `colour`'s next move (None: no limit). In main time the time left is
        spread over `moves_left` own moves (at least 10), plus nothing of byo-yomi; in a
        byo-yomi period over the stones left in it."""
        if not self.limited:
            return None
        seconds, stones = self.left.get(colour, (self.main_time, 0))
        if stones > 0:
            share = seconds / stones
        elif seconds > 0:
            share = seconds / max(10, moves_left)
        else:  # main time is gone: the first byo-yomi period starts
            share = self.byo_yomi_time / max(1, self.byo_yomi_stones)
        return max(MIN_SECONDS, SAFETY_SHARE * share - SAFETY_SECONDS)

    def spend(self, colour: int, seconds: float) -> None:
        """Charge a move that took `seconds` to `colour`'s clock."""
        if not self.limited:
            return
        left, stones = self.left.get(colour, (self.main_time, 0))
        left -= seconds
        if stones > 0:
            stones -= 1
            if stones == 0 and left >= 0:  # period survived: a new one starts
                left, stones = self.byo_yomi_time, self.byo_yomi_stones
        elif left <= 0 and self.byo_yomi_stones > 0:  # into byo-yomi
            left, stones = self.byo_yomi_time, self.byo_yomi_stones
        self.left[colour] = (max(0.0, left), stones)
