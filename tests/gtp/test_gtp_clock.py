"""The GTP time control (dpv.gtp.clock): main time, then Canadian byo-yomi."""
from __future__ import annotations

import pytest

from dpv.gtp.clock import Clock


def test_clock_spreads_main_time_then_byo_yomi():
    clock = Clock()
    assert clock.allowance(1, 30) is None  # no time settings: no limit
    clock.set(60, 10, 5)
    assert clock.allowance(1, 30) == pytest.approx(0.8 * 60 / 30 - 0.05)
    clock.spend(1, 59)
    assert clock.left[1] == (1, 0)
    clock.spend(1, 2)  # main time gone: byo-yomi, 10 s for 5 stones
    assert clock.left[1] == (10, 5)
    assert clock.allowance(1, 30) == pytest.approx(0.8 * 10 / 5 - 0.05)
    clock.update(-1, 3.0, 1)
    assert clock.allowance(-1, 30) == pytest.approx(0.8 * 3.0 - 0.05)
    clock.set(0, 5, 0)  # byo-yomi time with no stones: no limit (GTP)
    assert clock.allowance(1, 30) is None
