"""Time control of a GTP game (`time_settings`, `kgs-time_settings`, `time_left`): how many
seconds the engine may spend on its next move, and the bookkeeping of both clocks.

Three systems after `main_time` seconds of main time:
- absolute: nothing (`byo_yomi_time` 0);
- Canadian byo-yomi (GTP's `time_settings`): periods of `byo_yomi_time` seconds for
  `byo_yomi_stones` moves; `byo_yomi_time > 0` with `byo_yomi_stones == 0` means no limit;
- Japanese byo-yomi (`kgs-time_settings byoyomi`): `byo_yomi_periods` periods of
  `byo_yomi_time` seconds; a move within a period costs nothing, a longer one uses up a
  period per `byo_yomi_time` it takes; the last one overrun loses.
Each colour's clock is (seconds left, count): count 0 is main time, else the stones left in
the Canadian period or the Japanese periods left, as KGS's `time_left COLOR TIME COUNT` says;
the controller's `time_left` overrides the engine's own bookkeeping.

The safety margin: a move is given `SAFETY_SHARE` (80 %) of its share of the time, less
`SAFETY_SECONDS` (50 ms) for the process's lag and the search's last batched step past its
deadline, and never less than `MIN_SECONDS`. Its share: in main time, the main time left over
the moves left (at least 10; with Japanese byo-yomi at least a period, which an overrun of
main time only starts); in a Canadian period, the period's time left over its stones left; in
a Japanese period, the period.
"""
from __future__ import annotations

from dataclasses import dataclass, field

SAFETY_SHARE = 0.8  # of the time computed for a move, kept for the search
SAFETY_SECONDS = 0.05  # lag and the search's last step, per move
MIN_SECONDS = 0.02


@dataclass
class Clock:
    """Both colours' remaining time under one time control; unlimited until set."""

    main_time: float = 0.0
    byo_yomi_time: float = 0.0
    byo_yomi_stones: int = 0
    """Moves per Canadian period (0 with Japanese byo-yomi or none)."""
    byo_yomi_periods: int = 0
    """Japanese periods (0 with Canadian byo-yomi or none)."""
    limited: bool = False
    left: dict[int, tuple[float, int]] = field(default_factory=dict)
    """colour -> (seconds left in main time or the current period, count; see the module docstring)."""
    out_of_time: set[int] = field(default_factory=set)
    """The colours whose time ran out by the engine's bookkeeping (a loss on time)."""

    def set(self, main_time: float, byo_yomi_time: float, byo_yomi_stones: int) -> None:
        """`time_settings` (Canadian byo-yomi, or absolute with byo_yomi_time 0): start both clocks."""
        self._start(main_time, byo_yomi_time, byo_yomi_stones, periods=0)

    def set_japanese(self, main_time: float, period_time: float, periods: int) -> None:
        """`kgs-time_settings byoyomi`: main time, then `periods` periods of `period_time` seconds."""
        self._start(main_time, period_time, 0, periods)

    def set_unlimited(self) -> None:
        """`kgs-time_settings none`: no limit."""
        self._start(0.0, 0.0, 0, 0)

    def _start(self, main_time: float, byo_yomi_time: float, stones: int, periods: int) -> None:
        if min(main_time, byo_yomi_time, stones, periods) < 0:
            raise ValueError("time settings must not be negative")
        self.out_of_time = set()
        self.main_time, self.byo_yomi_time = main_time, byo_yomi_time
        self.byo_yomi_stones, self.byo_yomi_periods = stones, periods
        self.limited = main_time > 0 or (byo_yomi_time > 0 and (stones > 0 or periods > 0))
        self.left = {1: self._first_period(), -1: self._first_period()} if main_time <= 0 else \
            {1: (main_time, 0), -1: (main_time, 0)}

    def _first_period(self) -> tuple[float, int]:
        return self.byo_yomi_time, self.byo_yomi_periods or self.byo_yomi_stones

    def update(self, colour: int, seconds: float, count: int) -> None:
        """`time_left`: the controller's word on `colour`'s clock."""
        if seconds < 0 or count < 0:
            raise ValueError("time left must not be negative")
        self.left[colour] = (seconds, count)

    def allowance(self, colour: int, moves_left: int) -> float | None:
        """Seconds for `colour`'s next move (None: no limit), with the safety margin of the
        module docstring."""
        if not self.limited:
            return None
        seconds, count = self.left.get(colour, (self.main_time, 0))
        japanese = self.byo_yomi_periods > 0
        if count > 0:
            share = seconds if japanese else seconds / count
        elif seconds > 0:
            share = seconds / max(10, moves_left)
            if japanese:
                share = max(share, self.byo_yomi_time)
        else:  # main time is gone: the first period starts
            period, count = self._first_period()
            share = period / max(1, 1 if japanese else count)
        return max(MIN_SECONDS, SAFETY_SHARE * share - SAFETY_SECONDS)

    def spend(self, colour: int, seconds: float) -> None:
        """Charge a move that took `seconds` to `colour`'s clock."""
        if not self.limited:
            return
        left, count = self.left.get(colour, (self.main_time, 0))
        if count == 0:  # main time: what it cannot pay runs on into byo-yomi
            if seconds <= left or not self.byo_yomi_time:
                self._charge(colour, left - seconds, 0)
                return
            seconds -= left
            left, count = self._first_period()
        if self.byo_yomi_periods:  # Japanese: each period overrun is used up, the next starts full
            overruns = 0 if seconds < left else 1 + int((seconds - left) // self.byo_yomi_time)
            self._charge(colour, self.byo_yomi_time if overruns < count else -1.0, max(0, count - overruns))
            return
        left -= seconds  # Canadian: the period's time pays, its stones count down
        count -= 1
        if count == 0 and left >= 0:  # period survived: a new one starts
            left, count = self._first_period()
        self._charge(colour, left, count)

    def _charge(self, colour: int, left: float, count: int) -> None:
        """`colour`'s clock after a move: `left` seconds (below 0: its time ran out), `count`."""
        if left < 0:
            self.out_of_time.add(colour)
        self.left[colour] = (max(0.0, left), count)
