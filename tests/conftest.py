"""Shared test fixtures: external programs the tests drive for real."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest


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
