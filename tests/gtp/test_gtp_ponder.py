"""Pondering (GtpEngine(ponder=True), `dpv gtp --ponder`): after a move of ours the search goes
on in the position the opponent faces until the next input line, and the next genmove starts
from the subtree of the reply played. The opponent is a LineQueue that answers after a set
number of the engine's input checks, in the engine's own thread (between two search steps)."""
from __future__ import annotations

import pytest

from dpv.gtp.engine import GtpEngine
from dpv.play.lines import LineQueue
from dpv.play.networks import default_network, load_evaluator
from dpv.play.player import MctsPlayer, MoveInfo
from go_engine import action_to_gtp

PONDER_STEPS = 20


class Opponent(LineQueue):
    """Asks for black's move; after `checks` input checks plays white's expected reply (the
    pondering search's most visited move) and quits."""

    def __init__(self, engine: GtpEngine, checks: int) -> None:
        super().__init__()
        self.engine, self.checks = engine, checks
        self.calls = 0
        self.expected: MoveInfo | None = None
        self.put("genmove b")

    def waiting(self, timeout: float | None = 0.0) -> bool:
        self.calls += 1
        if self.expected is None and self.calls == self.checks:
            self.expected = self.engine.player.analysis()[0]
            self.put(f"play w {action_to_gtp(self.expected.action, 9)}")
            self.put("quit")
        return super().waiting(timeout)


@pytest.fixture(scope="module")
def network(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("net")
    return default_network(None, folder / "fresh.pt", runs=folder / "no-runs", quiet=True)


def new_player(network: str) -> MctsPlayer:
    evaluator, flops = load_evaluator(network)
    return MctsPlayer(evaluator, flops, simulations=8)


def reply_visits_after_one_step(player: MctsPlayer, engine: GtpEngine) -> int:
    """The visits below the root when the next search has run one step."""
    steps = player.think(engine.board.copy())
    next(steps)
    steps.close()
    return sum(move.visits for move in player.analysis())


def test_pondering_searches_until_input_and_the_next_search_reuses_the_reply(network):
    player = new_player(network)
    engine = GtpEngine(player, ponder=True)
    opponent = Opponent(engine, PONDER_STEPS)
    answers: list[str] = []
    engine.run(opponent, answers.append)
    assert opponent.expected is not None and opponent.expected.visits > 0
    assert answers[0].startswith("= ") and answers[1:] == ["=\n\n", "=\n\n"]  # nothing interleaved
    pondered = reply_visits_after_one_step(player, engine)

    control = new_player(network)  # the same game without pondering
    fresh = GtpEngine(control)
    assert fresh.handle("genmove b") == answers[0]
    fresh.handle(f"play w {action_to_gtp(opponent.expected.action, 9)}")
    assert pondered >= opponent.expected.visits - 1 > reply_visits_after_one_step(control, fresh)


def test_pondering_is_off_by_default(network):
    engine = GtpEngine(new_player(network))
    opponent = Opponent(engine, checks=0)
    opponent.put("quit")
    engine.run(opponent, lambda piece: None)
    assert opponent.calls == 0 and not engine.ponder
