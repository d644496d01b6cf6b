"""The run state: the small shared values of a self-play run, in the game store's Redis.

Every key of a run lives under the store's prefix P (`store.prefix`, "dpv" by default). The
game store (dpv.selfplay.store) owns the first three, `RunState` the others; no other module
names a key.

- `P:games` (list): the encoded games (dpv.selfplay.records), a game's id is its index.
  Workers append; the driver and the buffer read.
- `P:positions` (int): positions of the stored games, added with each game.
- `P:added:<token>` (int, expires after a day): the id a game was added under, so a retried
  add stores the game once.
- `P:stop` (int): 1 once the driver reached a limit (0 at each start); workers then finish the
  game in hand and return.
- `P:paused` (int): 1 while self-play waits for the learner (a fixed sample ratio,
  learner.samples_per_position; driver, 0 at each start); workers finish the games in hand and
  start no new one until it is 0 again.
- `P:best_version` (int): version of best.pt, 0 then +1 per promotion (driver); a starting
  server reads it, and so does the driver on resume.
- `P:selfplay_exit` (int): the exit that answers self-play leaves: `search.exit` at the start,
  the multi-step schedule's exit after each cycle (driver); workers read it at each new game.
- `P:cycle_games` (int): games stored when the last finished training cycle began (driver;
  read on resume to know when the next cycle is due).
- `P:starts` (hash): actor name -> starts, counted by each actor's constructor; the driver
  sees a restart as a start beyond the first of its session.
- `P:quarantine` (hash): game id -> why its record does not decode (dpv.selfplay.records
  RecordError); the buffer and the driver skip those games, the metrics count them.
- `P:worker:<i>` (hash): worker i's counters games, positions, evals, wait_s, wall_s, paused_s, added
  every few seconds; the driver (rates) and the metrics read them.
"""
from __future__ import annotations

from dataclasses import asdict

from dpv.selfplay.messages import WorkerCounters
from dpv.selfplay.store import GameStore


class RunState:
    """Typed access to the run-state keys of the store's Redis (see the module docstring);
    every call is retried while Redis is unreachable (`GameStore.call`)."""

    def __init__(self, store: GameStore) -> None:
        self.store = store

    @classmethod
    def connect(cls, url: str, prefix: str = "dpv") -> RunState:
        """The run state of the store at `url` under `prefix`."""
        return cls(GameStore(url, prefix))

    def _get(self, name: str) -> int | None:
        value = self.store.call(lambda: self.store.redis.get(self.store.key(name)))
        return None if value is None else int(value)

    def _set(self, name: str, value: int) -> None:
        self.store.call(lambda: self.store.redis.set(self.store.key(name), int(value)))

    @property
    def stop(self) -> bool:
        """Whether the workers are to stop (finish the game in hand and return)."""
        return self._get("stop") == 1

    @stop.setter
    def stop(self, value: bool) -> None:
        self._set("stop", int(value))

    @property
    def paused(self) -> bool:
        """Whether self-play waits for the learner (workers start no new game)."""
        return self._get("paused") == 1

    @paused.setter
    def paused(self, value: bool) -> None:
        self._set("paused", int(value))

    @property
    def best_version(self) -> int:
        """Version of the best network, best.pt (0: the random initial network)."""
        return self._get("best_version") or 0

    @best_version.setter
    def best_version(self, value: int) -> None:
        self._set("best_version", value)

    @property
    def selfplay_exit(self) -> int | None:
        """The exit that answers self-play leaves (None before the driver first sets it)."""
        return self._get("selfplay_exit")

    @selfplay_exit.setter
    def selfplay_exit(self, value: int) -> None:
        self._set("selfplay_exit", value)

    @property
    def cycle_games(self) -> int:
        """Games stored when the last finished training cycle began (0: none yet)."""
        return self._get("cycle_games") or 0

    @cycle_games.setter
    def cycle_games(self, value: int) -> None:
        self._set("cycle_games", value)

    def count_start(self, actor: str) -> int:
        """Count a start of the actor named `actor` (its constructor calls this, so each
        restart by Ray counts); returns how many starts it had before."""
        key = self.store.key("starts")
        return int(self.store.call(lambda: self.store.redis.hincrby(key, actor, 1))) - 1

    def starts(self) -> dict[str, int]:
        """Starts counted per actor name (`count_start`)."""
        key = self.store.key("starts")
        return {k.decode(): int(v) for k, v in self.store.call(lambda: self.store.redis.hgetall(key)).items()}

    def quarantine(self, game_id: int, reason: str) -> None:
        """Set aside the game `game_id`, whose record is damaged (`reason`; the first reason
        given is kept). The driver reports each quarantined game once."""
        key = self.store.key("quarantine")
        self.store.call(lambda: self.store.redis.hsetnx(key, str(game_id), reason))

    def quarantined(self) -> dict[int, str]:
        """The quarantined games: id -> why."""
        key = self.store.key("quarantine")
        return {int(k): v.decode() for k, v in self.store.call(lambda: self.store.redis.hgetall(key)).items()}

    def num_quarantined(self) -> int:
        """How many games are quarantined."""
        return int(self.store.call(lambda: self.store.redis.hlen(self.store.key("quarantine"))))

    def add_worker_counters(self, worker: int, counts: WorkerCounters) -> None:
        """Add `counts` to worker `worker`'s counters (all of them or none)."""
        key = self.store.key(f"worker:{worker}")

        def add() -> None:
            pipe = self.store.redis.pipeline(transaction=True)
            for name, value in asdict(counts).items():
                pipe.hincrbyfloat(key, name, float(value))
            pipe.execute()

        self.store.call(add)

    def worker_counters(self, worker: int) -> WorkerCounters:
        """The sums worker `worker` has added (over every session of the run)."""
        key = self.store.key(f"worker:{worker}")
        values = self.store.call(lambda: self.store.redis.hgetall(key))
        return WorkerCounters.from_mapping({k.decode(): float(v) for k, v in values.items()})
