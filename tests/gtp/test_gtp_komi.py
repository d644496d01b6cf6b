"""Komi the network was not trained on (dpv.gtp.komi): the score head's estimate, shifted by the
komi difference, becomes the value; at 7.5 nothing changes; bad komi is one GTP failure."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

import dpv.gtp.komi as komi_module
from dpv.gtp.engine import GtpEngine
from dpv.gtp.komi import SCORE_SCALE, TRAINED_KOMI, KomiEvaluator, komi_evaluator
from dpv.nets.config import NetConfig
from dpv.nets.evaluator import Evaluator
from dpv.nets.model import DPVNet
from dpv.play.player import MctsPlayer
from go_engine import Board

PLAIN = NetConfig(blocks=2, channels=8, exits=[1, 2], value_hidden=16)
AUX = dataclasses.replace(PLAIN, ownership_head=True, score_head=True)


def _evaluator(cfg: NetConfig) -> Evaluator:
    torch.manual_seed(0)
    return Evaluator(DPVNet(cfg).eval())


def _engine(evaluator: Evaluator, simulations: int = 12) -> GtpEngine:
    """An engine whose clock stands still: an analysis answers one line, at the budget's end."""
    return GtpEngine(MctsPlayer(evaluator, [1.0, 2.0], simulations=simulations), clock=lambda: 0.0)


def _leads(answer: str) -> dict[str, float]:
    """move -> scoreLead of the last line of a kata-analyze answer."""
    last = answer.split("\n")[1:-2][-1]
    leads = {}
    for group in last.split("info ")[1:]:
        words = group.split(" pv ")[0].split()
        fields = dict(zip(words[::2], words[1::2]))
        leads[fields["move"]] = float(fields["scoreLead"])
    return leads


@pytest.mark.parametrize("komi", ["0.5", "7", "-3.5"])
def test_score_lead_moves_by_exactly_the_komi_difference_for_either_side(komi):
    for colour, sign in (("b", 1.0), ("w", -1.0)):
        base, shifted = _engine(_evaluator(AUX)), _engine(_evaluator(AUX))
        for engine in (base, shifted):
            engine.handle("play b E5")
            engine.handle("play w C3")
        assert shifted.handle(f"komi {komi}") == "=\n\n" and shifted.board.komi == float(komi)
        at_trained, at_komi = (_leads(e.handle(f"kata-analyze {colour} 1")) for e in (base, shifted))
        common = at_trained.keys() & at_komi.keys()
        assert common
        difference = sign * (TRAINED_KOMI - float(komi))  # black gains what komi white loses
        for move in common:  # the lines print 4 significant digits: 0.005 off each at |lead| < 100
            assert at_komi[move] - at_trained[move] == pytest.approx(difference, abs=0.011)


def test_at_komi_7_5_the_network_searches_unwrapped_and_the_analysis_is_unchanged():
    fresh, back = _engine(_evaluator(AUX)), _engine(_evaluator(AUX))
    assert fresh.player.evaluator is fresh._network  # no wrapper at the trained komi
    back.handle("komi 0.5")
    assert isinstance(back.player.evaluator, KomiEvaluator)
    back.handle("komi 7.5")
    assert back.player.evaluator is back._network
    for engine in (fresh, back):
        engine.handle("play b D4")
    assert fresh.handle("kata-analyze w 1") == back.handle("kata-analyze w 1")


def test_the_value_at_another_komi_is_the_logistic_of_the_shifted_score_lead_and_keeps_priors_and_exits():
    net = _evaluator(AUX)
    boards = [Board(9), Board(9)]
    boards[1].play(40)  # white to move
    planes = np.stack([b.planes() for b in boards])
    legal = np.stack([b.legal_actions() for b in boards])
    args = dict(legal=legal, fixed_exit=np.array([0, 1]))
    wrapped = komi_evaluator(net, 1.5)
    priors, values, exits = wrapped(planes, np.ones(2, np.float32), **args)
    net_priors, _, net_exits = net(planes, np.ones(2, np.float32), **args)
    assert np.allclose(priors, net_priors, atol=1e-6) and np.array_equal(exits, net_exits)
    shift = np.array([6.0, -6.0])  # black to move gains 7.5 - 1.5, white loses it
    with torch.no_grad():  # each leaf's lead is the score head of the exit it took
        own = np.array([float(net.model.exit_outputs(torch.from_numpy(planes[i:i + 1]), e).score[0]) * 81
                        for i, e in enumerate(args["fixed_exit"])])
    lead = own + shift
    assert values == pytest.approx(2 / (1 + np.exp(-lead / SCORE_SCALE)) - 1, abs=1e-5)
    deepest = net.position_estimates(planes).score + shift  # the analysis's lead: the deepest exit's
    assert wrapped.position_estimates(planes).score == pytest.approx(deepest, abs=1e-4)
    generous = komi_evaluator(net, -20.0)(planes, np.ones(2, np.float32), **args)[1]
    assert generous[0] > values[0] and generous[1] < values[1]  # black to move likes a lower komi
    assert wrapped.input_shape == net.input_shape and wrapped.exit_flops is net.exit_flops


def test_another_komi_costs_one_forward_per_leaf_batch(monkeypatch):
    # the score comes from the same forward as the priors: the deepest exit's estimates never run in the search
    net = _evaluator(AUX)
    wrapped = komi_evaluator(net, 5.5)
    assert komi_evaluator(net, 0.5).scoring is wrapped.scoring  # built once per weights
    calls = []
    for evaluator in (net, wrapped.scoring):
        monkeypatch.setattr(evaluator.backend, "forward_dynamic",
                            lambda *a, f=evaluator.backend.forward_dynamic, **k: calls.append(1) or f(*a, **k))
    monkeypatch.setattr(net, "position_estimates", lambda planes: pytest.fail("an extra forward"))
    board = Board(9)
    wrapped(board.planes()[None], np.zeros(1, np.float32), legal=board.legal_actions()[None])
    assert calls == [1]


def test_a_network_without_a_score_head_plays_other_komi_with_its_value_head_and_says_so_once(capsys, monkeypatch):
    monkeypatch.setattr(komi_module, "_warned_no_score_head", False)
    engine = _engine(_evaluator(PLAIN))
    for komi in ("0.5", "3"):
        assert engine.handle(f"komi {komi}") == "=\n\n"
        assert engine.player.evaluator is engine._network
    assert capsys.readouterr().err.count("no score head") == 1


@pytest.mark.parametrize("text", ["abc", "nan", "inf", "7,5", ""])
def test_a_malformed_komi_is_a_one_line_failure_and_the_komi_stays(text):
    engine = _engine(_evaluator(AUX))
    engine.handle("komi 5.5")
    answer = engine.handle(f"komi {text}")
    assert answer.startswith("? syntax error") and answer.count("\n") == 2
    assert engine.komi == 5.5 and engine.board.komi == 5.5


def test_terminal_scoring_uses_the_real_komi():
    engine = _engine(_evaluator(AUX))
    engine.handle("komi -3")
    engine.handle("play b E5")
    assert engine.handle("final_score") == "= B+84\n\n"


def test_the_search_reads_the_komi_a_huge_reverse_komi_makes_every_black_move_winning_and_white_ones_losing():
    engine = _engine(_evaluator(AUX))
    engine.handle("komi -100")
    black = engine.handle("kata-analyze b 1").split("\n")[1:-2][-1]
    white = engine.handle("kata-analyze w 1").split("\n")[1:-2][-1]
    winrates = [[float(g.split(" winrate ")[1].split()[0]) for g in line.split("info ")[1:]] for line in (black, white)]
    assert min(winrates[0]) > 0.99 and max(winrates[1]) < 0.01
