"""Shared test fixtures: external programs the tests drive for real; and the test tiers.

Tests that start Ray, Redis servers, GNU Go or a pip install, or that run for many seconds,
are marked `e2e` here, centrally, so that `make test-fast` (`pytest -m "not e2e"`) runs the
unit tests in under a minute; `make test` runs everything. A test is e2e when it uses (even
through another fixture) one of `E2E_FIXTURES`, when its file is in `E2E_FILES`, or when its
file and name are in `E2E_TESTS` (tests/test_tiers.py checks that each entry names a fixture
or a test).
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# Fixtures that start an external system: the session's local Ray, GNU Go over GTP, an
# embedded Redis (tests/selfplay/test_state.py; stopping one takes seconds), the cluster's
# password-protected redis-server (tests/test_cluster_redis.py: its own, or one the module shares).
E2E_FIXTURES = frozenset({"ray_session", "gnugo", "redis_url", "cluster_redis", "shared_cluster_redis"})

# Files whose every test starts such a system: Redis servers stopped and killed, Ray actors killed
# (faults); self-play games on the real search into an embedded Redis (policy targets, the
# buffer's ownership and score targets); Lizzie under Xvfb with `dpv gtp` as its engine.
E2E_FILES = frozenset({"test_selfplay_faults.py", "test_policy_targets.py", "test_buffer_aux_targets.py",
                       "test_gtp_lizzie.py"})

# Tests that start such a system, a process pool or a `dpv` subprocess themselves and take
# seconds (file name -> test names, parameters left out).
E2E_TESTS: dict[str, frozenset[str]] = {
    "test_config.py": frozenset({"test_a_non_editable_install_ships_the_presets"}),  # pip install, builds go_engine
    "test_tiers.py": frozenset({"test_the_e2e_lists_name_collected_tests_and_the_fast_tier_holds_none_of_them"}),
    "test_cluster.py": frozenset({
        "test_run_places_servers_and_learner_on_the_gpu_node",  # a 3-node Ray cluster
        "test_gpu_server_bench_runs_without_ray",  # the benchmark as a subprocess
    }),
    "test_selfplay_records.py": frozenset({"test_store_keeps_games_in_order"}),  # Redis servers
    "test_arena.py": frozenset({"test_a_process_pool_plays_every_game"}),  # worker processes with torch
    "test_gtp.py": frozenset({"test_dpv_gtp_ends_on_end_of_input"}),  # `dpv gtp` subprocesses
    "test_gtp_mcts.py": frozenset({"test_dpv_gtp_subprocess_serves_the_session_on_a_fresh_network"}),
    "test_vision_eval.py": frozenset({"test_digits_checkpoint_logit_vote_at_least_last"}),  # trains 3 epochs
}


def is_e2e(item: pytest.Item) -> bool:
    """Whether a collected test belongs to the e2e tier (see the module docstring)."""
    if E2E_FIXTURES & set(getattr(item, "fixturenames", ())) or item.path.name in E2E_FILES:
        return True
    name = getattr(item, "originalname", item.name)
    return name in E2E_TESTS.get(item.path.name, frozenset())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the e2e tier."""
    for item in items:
        if is_e2e(item):
            item.add_marker(pytest.mark.e2e)


def find_gnugo() -> str | None:
    """Path of GNU Go (Debian installs it to /usr/games, which is not on root's PATH)."""
    found = shutil.which("gnugo")
    if found:
        return found
    debian = Path("/usr/games/gnugo")
    return str(debian) if debian.exists() else None


@pytest.fixture(scope="session")
def gnugo() -> str:
    """Command line of GNU Go in GTP mode with area scoring. Skipped where GNU Go is absent,
    unless DPV_REQUIRE_GNUGO=1 (set by CI), where its absence is a failure."""
    path = find_gnugo()
    if path is None:
        if os.environ.get("DPV_REQUIRE_GNUGO") == "1":
            pytest.fail("GNU Go is required (apt-get install gnugo)")
        pytest.skip("GNU Go is not installed (apt-get install gnugo)")
    return f"{path} --mode gtp --chinese-rules --level 1"


@pytest.fixture(scope="session")
def ray_session():
    """One local Ray for the whole test session (starting one takes about 4 s). Tests that
    need a Ray of their own (multi-node clusters) start it themselves and must not mix with
    this one."""
    import ray

    if not ray.is_initialized():
        ray.init(num_cpus=4, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()
