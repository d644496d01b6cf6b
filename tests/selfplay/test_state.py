"""The run state over a real (embedded) Redis: typed values, defaults, the key schema. No Ray."""
from __future__ import annotations

import pytest

import dpv.selfplay.state as state_module
from dpv.selfplay.messages import WorkerCounters
from dpv.selfplay.state import RunState
from dpv.selfplay.store import EmbeddedRedis, GameStore


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    """One embedded Redis for the module (stopping one takes seconds)."""
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"))
    yield server.url
    server.close()


@pytest.fixture
def state(redis_url, request):
    """The run state of a fresh store: a prefix of the test's own, "run" for the schema test."""
    prefix = "run" if request.node.name == "test_keys_are_the_documented_schema" else request.node.name
    return RunState(GameStore(redis_url, prefix))


def test_a_fresh_run_state_has_the_defaults(state):
    assert state.stop is False and state.best_version == 0 and state.cycle_games == 0
    assert state.selfplay_exit is None  # workers fall back to search.exit
    assert state.starts() == {} and state.worker_counters(0) == WorkerCounters()


def test_values_round_trip(state):
    state.stop = True
    state.best_version = 4
    state.selfplay_exit = -1
    state.cycle_games = 96
    assert (state.stop, state.best_version, state.selfplay_exit, state.cycle_games) == (True, 4, -1, 96)
    state.stop = False
    assert state.stop is False
    assert [state.count_start("worker-0") for _ in range(3)] == [0, 1, 2]
    assert state.count_start("learner") == 0
    assert state.starts() == {"worker-0": 3, "learner": 1}


def test_keys_are_the_documented_schema(state):
    store = state.store
    store.add_game(b"game", 7, token="t")
    state.stop = True
    state.best_version = 1
    state.selfplay_exit = 0
    state.cycle_games = 1
    state.count_start("server-0")
    state.add_worker_counters(3, WorkerCounters(games=1.0, positions=7.0))
    state.quarantine(0, "damaged")
    keys = {k.decode() for k in store.redis.keys("run:*")}
    assert keys == {"run:games", "run:positions", "run:added:t", "run:stop", "run:best_version",
                    "run:selfplay_exit", "run:cycle_games", "run:starts", "run:worker:3",
                    "run:quarantine"}
    for key in keys:  # every key is named in the module docstring
        name = key.removeprefix("run:").replace("added:t", "added:<token>").replace("worker:3", "worker:<i>")
        assert f"`P:{name}`" in state_module.__doc__, name
