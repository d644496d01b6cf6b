"""Arena building blocks without games: Wilson intervals, Elo, player specs and budget modes."""
from __future__ import annotations

import math

import pytest

from dpv.arena.spec import PlayerSpec
from dpv.arena.stats import elo_difference, elo_interval, format_elo, wilson_interval


def test_wilson_interval_known_values():
    low, high = wilson_interval(50, 100)
    assert low == pytest.approx(0.4038, abs=1e-4) and high == pytest.approx(0.5962, abs=1e-4)
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson_interval(10, 10) == pytest.approx((0.7225, 1.0), abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_elo_difference_and_interval():
    assert elo_difference(0.5) == 0
    assert elo_difference(0.75) == pytest.approx(190.85, abs=0.01)
    assert elo_difference(0.25) == pytest.approx(-190.85, abs=0.01)
    assert elo_difference(1.0) == math.inf and elo_difference(0.0) == -math.inf
    elo, low, high = elo_interval(30, 40)
    assert low < elo < high and elo == pytest.approx(190.85, abs=0.01)
    assert format_elo(-0.2) == "+0" and format_elo(math.inf) == "+inf" and format_elo(-12.6) == "-13"


def test_player_spec_parsing_keeps_commas_inside_values():
    spec = PlayerSpec.parse("exit=dynamic:0.5,0.4,sims=200,checkpoint=runs/x/best.pt,name=dyn")
    assert spec == PlayerSpec(exit="dynamic:0.5,0.4", simulations=200.0, checkpoint="runs/x/best.pt", name="dyn")
    assert PlayerSpec.parse("exit=1", simulations=50).simulations == 50
    assert PlayerSpec.parse("sims=8").label == "exit=-1 sims=8"
    for bad in ["colour=black", "exit", "sims=many", "exit=up"]:
        with pytest.raises(ValueError):
            PlayerSpec.parse(bad)


def test_budget_modes():
    flops = [1.0, 2.0, 4.0]
    shallow = PlayerSpec(exit="0", simulations=100)
    assert shallow.search_player(flops, "equal-flops").simulations == 100  # 400 FLOPs: 400 evaluations at exit 0
    assert shallow.search_player(flops, "equal-sims").simulations == 25  # 100 FLOPs: 100 evaluations at exit 0
    assert PlayerSpec(exit="-1", simulations=100).search_player(flops, "equal-sims").simulations == 100
    assert shallow.search_player(flops, "equal-sims").exit_flops == (1.0, 2.0, 4.0)  # charged by its own network
    assert shallow.search_player(flops, "equal-time") == shallow.search_player(flops, "equal-flops")  # one round
    with pytest.raises(ValueError, match="equal-sims needs fixed exits"):
        PlayerSpec(exit="dynamic:0.5,0.4").search_player(flops, "equal-sims")
    with pytest.raises(ValueError, match="out of range"):
        PlayerSpec(exit="3").search_player(flops, "equal-flops")
    with pytest.raises(ValueError, match="unknown budget mode"):
        shallow.search_player(flops, "equal-joules")
