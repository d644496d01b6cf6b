"""The GTP time control (dpv.gtp.clock): the accounting of absolute time, Canadian and
Japanese byo-yomi, the allowance's safety margin, and whole games on an injected clock (no
timing assertions: the player spends exactly the time it is given, on a fake clock)."""
from __future__ import annotations

import numpy as np
import pytest

from dpv.gtp.clock import MIN_SECONDS, SAFETY_SECONDS, SAFETY_SHARE, Clock
from dpv.gtp.engine import GtpEngine
from go_engine import Board


def margin(share: float) -> float:
    return max(MIN_SECONDS, SAFETY_SHARE * share - SAFETY_SECONDS)


def test_canadian_spreads_main_time_then_the_period_over_its_stones():
    clock = Clock()
    assert clock.allowance(1, 30) is None  # no time settings: no limit
    clock.set(60, 10, 5)
    assert clock.allowance(1, 30) == pytest.approx(margin(60 / 30))
    clock.spend(1, 59)
    assert clock.left[1] == (1, 0)
    clock.spend(1, 2)  # 1 s of main time, then 1 s of the first period, whose first stone this is
    assert clock.left[1] == (9, 4)
    assert clock.allowance(1, 30) == pytest.approx(margin(9 / 4))
    for _ in range(4):
        clock.spend(1, 2)
    assert clock.left[1] == (10, 5)  # the period survived: a new one
    clock.spend(1, 10.5)
    assert clock.out_of_time == {1}
    clock.set(60, 10, 5)
    assert not clock.out_of_time
    clock.update(-1, 3.0, 1)
    assert clock.allowance(-1, 30) == pytest.approx(margin(3.0))
    clock.set(0, 5, 0)  # byo-yomi time with no stones: no limit (GTP)
    assert clock.allowance(1, 30) is None


def test_absolute_time_runs_down_to_zero():
    clock = Clock()
    clock.set(20, 0, 0)
    clock.spend(1, 15)
    assert clock.left[1] == (5, 0) and clock.allowance(1, 10) == pytest.approx(margin(0.5))
    assert not clock.out_of_time
    clock.spend(1, 6)
    assert clock.left[1] == (0, 0) and clock.allowance(1, 10) == MIN_SECONDS
    assert clock.out_of_time == {1}


def test_japanese_periods_are_used_up_only_by_overruns():
    clock = Clock()
    clock.set_japanese(10, 5, 3)
    assert clock.allowance(1, 100) == pytest.approx(margin(5))  # a period, more than 10 s / 100 moves
    clock.spend(1, 12)  # main time gone, 2 s into the first period: nothing lost
    assert clock.left[1] == (5, 3)
    clock.spend(1, 4.9)
    assert clock.left[1] == (5, 3)
    clock.spend(1, 11)  # two periods overrun
    assert clock.left[1] == (5, 1)
    assert clock.allowance(1, 100) == pytest.approx(margin(5))
    clock.update(1, 2.0, 1)  # KGS: 2 s of the last period
    assert clock.allowance(1, 100) == pytest.approx(margin(2.0)) and not clock.out_of_time
    clock.spend(1, 2.5)
    assert clock.out_of_time == {1}
    clock.set_unlimited()
    assert clock.allowance(1, 100) is None


class FakeTime:
    """The engine's clock: advanced only by the player's thinking."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class SpendingPlayer:
    """Thinks exactly the seconds it is given (one second without a limit), on a FakeTime;
    plays uniformly among sensible moves."""

    name = "spending"

    def __init__(self, time: FakeTime) -> None:
        self.time = time
        self.given: list[float | None] = []
        self._rng = np.random.default_rng(5)

    def genmove(self, board: Board, seconds: float | None = None, cleanup: bool = False) -> int:
        self.given.append(seconds)
        self.time.now += 1.0 if seconds is None else seconds
        return int(self._rng.choice(np.flatnonzero(board.sensible_actions())))


@pytest.mark.parametrize("settings", ["time_settings 30 0 0", "time_settings 10 6 5", "kgs-time_settings byoyomi 5 2 3",
                                      "kgs-time_settings canadian 0 6 5", "kgs-time_settings absolute 20"])
def test_a_whole_game_on_the_clock_never_runs_out(settings):
    time = FakeTime()
    player = SpendingPlayer(time)
    engine = GtpEngine(player, clock=time)
    assert engine.handle(settings).startswith("=")
    while not engine.board.is_over():
        colour = "b" if engine.board.to_play == 1 else "w"
        assert engine.handle(f"genmove {colour}").startswith("=")
        assert not engine.clock.out_of_time, engine.clock.left
    assert len(player.given) > 40 and all(seconds is not None and seconds > 0 for seconds in player.given)


def test_ms_per_move_caps_the_clocks_allowance():
    time = FakeTime()
    player = SpendingPlayer(time)
    engine = GtpEngine(player, clock=time, move_seconds=0.25)
    engine.handle("genmove b")
    engine.handle("time_settings 600 0 0")
    engine.handle("genmove w")
    engine.handle("time_left b 1 0")
    engine.handle("genmove b")
    assert player.given == [0.25, 0.25, margin(1 / 40)]


@pytest.mark.parametrize("line", ["kgs-time_settings", "kgs-time_settings sudden 5", "kgs-time_settings none 3",
                                  "kgs-time_settings byoyomi 5 2", "kgs-time_settings canadian 5 -2 3"])
def test_bad_kgs_time_settings_fail(line):
    engine = GtpEngine(SpendingPlayer(FakeTime()))
    assert engine.handle(line).startswith("? syntax error")
