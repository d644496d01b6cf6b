"""`search.exit` takes every exit policy the arena takes; the driver's tally of the exits that
answered self-play (no Ray, no Redis)."""
from __future__ import annotations

import numpy as np
import pytest

from dpv.config import ConfigError, from_dict
from dpv.selfplay.config import SelfPlayConfig
from dpv.selfplay.records import SelfPlayGame
from dpv.selfplay.stats import GameTally

NET = {"board_size": 9, "blocks": 2, "channels": 8, "exits": [1, 2], "value_hidden": 16}


def config(exit_policy, **learner) -> SelfPlayConfig:
    return from_dict(SelfPlayConfig, {"net": NET, "search": {"exit": exit_policy}, "learner": learner}, source="t")


@pytest.mark.parametrize("text, kind, fixed", [(-1, "fixed", -1), (0, "fixed", 0), ("exit=1", "fixed", 1),
                                               ("1", "fixed", 1), ("dynamic:0.5,0.3", "dynamic", None),
                                               ("threshold:0.8", "threshold", None)])
def test_search_exit_takes_every_policy_the_arena_takes(text, kind, fixed):
    search = config(text).search
    assert search.exit_policy().kind == kind and search.fixed_exit == fixed


@pytest.mark.parametrize("text, message", [
    ("dynamic:0.5", "t: 'search.exit': bad exit policy 'dynamic:0.5'"),
    ("exit=2", "t: 'search.exit' 2 is out of range for a network with 2 exits"),
    (True, "t: 'search.exit' must be int, got True"),
    ("collab:0.5,0.3", "t: 'search.exit': collab:0.5,0.3 votes across exits"),
])
def test_a_bad_exit_policy_is_one_line_naming_the_key(text, message):
    with pytest.raises(ConfigError, match="^" + message.replace("(", r"\(")) as err:
        config(text)
    assert "\n" not in str(err.value)


def test_an_adaptive_policy_with_the_multi_step_schedule_is_refused():
    assert config(1, exit_schedule="multi-step", total_steps=10).search.fixed_exit == 1
    with pytest.raises(ConfigError, match="'search.exit' 'dynamic:0.5,0.3' is adaptive: learner.exit_schedule: "
                                          "multi-step needs a fixed exit k$"):
        config("dynamic:0.5,0.3", exit_schedule="multi-step", total_steps=10)


def test_the_tally_sums_the_games_evaluations_per_exit():
    tally = GameTally()
    for evals in ([3, 5], [0, 2], [4, 0]):
        tally.add(SelfPlayGame(size=9, komi=7.5, actions=np.zeros(0, np.int64), root_values=np.zeros(0, np.float32),
                               pi_counts=np.zeros(0, np.int64), pi_actions=np.zeros(0, np.int64),
                               pi_shares=np.zeros(0, np.float32), winner=1, resigned=False, score=1.5, model_version=0,
                               worker=0, serial=0, seed=0, evals_per_exit=np.asarray(evals)))
    assert tally.evals_per_exit == [7, 7] and tally.seen == 3
