"""SelfPlayWorker: plays self-play games through the batched search, evaluating every leaf on
an InferenceServer, and stores each finished game in Redis before forgetting it.

The worker's G games are split over `pipelines` BatchedSearch objects, each driven by its own
thread: while one waits for the server's answer (Ray releases the GIL), another collects and
backs up leaves, so the worker's CPU and the server overlap. With one pipeline the worker is
strictly sequential and, with a fixed seed, reproducible. Every leaf is answered under
`search.exit`: at one exit, the self-play exit (the deepest by default, thesis 6.2.2), read from
the run state at the start of each game so the multi-step schedule (6.3.1) can change it, or by
a budget-adaptive policy (dynamic, threshold: eq. 6.5) under the move's FLOPs budget; the record
keeps each game's evaluations per exit. While the run state's pause flag
is set (a fixed sample ratio, learner.samples_per_position, self-play ahead of the learner) a
pipeline finishes the games in hand, starts no new one and sleeps, counting `paused_s`.
No torch import.

A move's policy target is the search's visit distribution (MoveResult.pi) under PUCT and the
improved policy (MoveResult.improved_policy) under a Gumbel root (search.root: gumbel), whose
move the search has already sampled. With `search.playout_cap` (playout cap randomization,
KataGo, Wu 2019 sec. 3.1) each game's move is, with probability full_share, a full search of
`search.simulations` and a policy target, otherwise a cheap search of cheap_simulations whose
move is played and which is a value target only (the record flags each move). The draws come
from the pipeline's seed, so a one-pipeline worker stays reproducible. The root noise is the
search's for every game of a BatchedSearch, so cheap PUCT searches keep it (KataGo turns it off
there; go_engine has no per-game switch).

Faults: a request in flight when the server dies is sent again (with backoff) until the
restarted server answers (dpv.selfplay.retry); a store call waits while Redis is unreachable
(dpv.selfplay.store). A restarted worker (Ray re-runs the constructor) counts its start in the
store and seeds its searches with it, so it never replays the games of an earlier start.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from dpv.selfplay.config import SearchSection
from dpv.selfplay.messages import WorkerCounters
from dpv.selfplay.packing import pack_mask, pack_planes
from dpv.selfplay.records import SelfPlayGame, encode
from dpv.selfplay.retry import call_actor
from dpv.selfplay.state import RunState
from dpv.selfplay.store import GameStore

STATS_INTERVAL_S = 2.0
PAUSE_POLL_S = 0.2  # a paused worker looks at the run state's pause flag this often


class ServerEvaluator:
    """The search's evaluator contract over a remote InferenceServer: planes and legal masks
    travel bit-packed; the time spent waiting for answers is counted."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.wait_s = 0.0
        self.rows = 0
        self.version = 0

    def __call__(self, planes: np.ndarray, thresholds: np.ndarray, legal: np.ndarray | None = None,
                 fixed_exit: np.ndarray | None = None):
        """Send the leaves to the server and wait for (priors, values, exits); sent again
        while the server is being restarted."""
        n = len(planes)
        fixed = np.full(n, -1, np.int32) if fixed_exit is None else np.asarray(fixed_exit, np.int32)
        mask = pack_mask(legal) if legal is not None and (fixed < 0).any() else None
        packed, thresholds = pack_planes(planes), np.asarray(thresholds, np.float32)
        start = time.perf_counter()
        priors, values, exits, self.version = call_actor(
            lambda: self.server.evaluate.remote(packed, thresholds, mask, fixed), "inference server evaluate")
        self.wait_s += time.perf_counter() - start
        self.rows += n
        return priors, values, exits


@dataclass
class _Game:
    """Per-move data of a game in progress."""

    actions: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    pi_actions: list[np.ndarray] = field(default_factory=list)
    pi_shares: list[np.ndarray] = field(default_factory=list)
    policy_target: list[bool] = field(default_factory=list)
    evals: np.ndarray | None = None
    flops: float = 0.0

    def record(self, r: Any, policy_target: bool) -> None:
        """Add the move of MoveResult `r`: its policy target is r.improved_policy under a Gumbel
        root, else the visit distribution r.pi; `policy_target` False for a cheap search."""
        target = r.pi if r.improved_policy is None else r.improved_policy
        nz = np.flatnonzero(target)
        self.actions.append(r.action if not r.resigned else -1)
        self.values.append(r.root_value)
        self.pi_actions.append(nz)
        self.pi_shares.append(target[nz])
        self.policy_target.append(policy_target)
        self.evals = r.evals_per_exit.copy() if self.evals is None else self.evals + r.evals_per_exit
        self.flops += r.flops

    def drop_last(self) -> None:
        """Forget the last move (a resignation is no move)."""
        for moves in (self.actions, self.values, self.pi_actions, self.pi_shares, self.policy_target):
            moves.pop()


class SelfPlayWorker:
    """Worker `worker_id` of a run: plays until the run state's stop flag is set or it has
    finished `max_games` games (run as a Ray actor, `ray.remote(SelfPlayWorker)`)."""

    def __init__(self, worker_id: int, search: SearchSection, games: int, pipelines: int,
                 board_size: int, store_url: str, prefix: str, server: Any, seed: int) -> None:
        self.worker_id = worker_id
        self.search = search
        self.games = games
        self.pipelines = pipelines
        self.board_size = board_size
        self.store = GameStore(store_url, prefix)
        self.state = RunState(self.store)
        self.server = server
        self.seed = seed
        self.start_index = self.state.count_start(f"worker-{worker_id}")  # 0, then 1 more per restart
        self._lock = threading.Lock()
        self._serial = 0
        self._finished = 0
        self._max_games: int | None = None
        self._pending_stats = self._zero_counts()
        self._last_flush = 0.0
        self._share: list[int] = []

    @staticmethod
    def _zero_counts() -> dict[str, float]:
        """Counters being summed up, one per field of WorkerCounters."""
        return dict.fromkeys(WorkerCounters.__dataclass_fields__, 0.0)

    def run(self, max_games: int | None = None) -> WorkerCounters:
        """Play until stopped (or `max_games` games are finished); returns this call's totals."""
        self._max_games = max_games
        exit_flops = call_actor(self.server.exit_flops.remote, "inference server exit_flops")
        errors: list[BaseException] = []
        totals = self._zero_counts()

        def drive(p: int) -> None:
            try:
                self._pipeline(p, exit_flops, totals)
            except BaseException as err:  # re-raised by run() in the actor's thread
                errors.append(err)

        share = [self.games // self.pipelines + (p < self.games % self.pipelines) for p in range(self.pipelines)]
        threads = [threading.Thread(target=drive, args=(p,), daemon=True)
                   for p in range(self.pipelines) if share[p] > 0]
        self._share = share
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self._flush_stats(force=True)
        if errors:
            raise errors[0]
        return WorkerCounters(**totals)

    def _stop(self) -> bool:
        if self._max_games is not None and self._finished >= self._max_games:
            return True
        return self.state.stop

    def _player(self):
        """Both colours' Player: the self-play budget under `search.exit`, a fixed policy at the
        run's current self-play exit (the multi-step schedule's)."""
        from go_engine import ExitPolicy, Player

        policy = self.search.exit_policy()
        if policy.kind == "fixed" and (k := self.state.selfplay_exit) is not None:
            policy = ExitPolicy.fixed(k)
        return Player(simulations=self.search.simulations, exit_policy=policy)

    def _pipeline(self, p: int, exit_flops: list[float], totals: dict[str, float]) -> None:
        from go_engine import BatchedSearch

        seed = int(np.random.SeedSequence((self.seed, self.worker_id, self.start_index, p)).generate_state(1)[0])
        n = self._share[p]
        search = BatchedSearch(n, self.board_size, self.search.komi, config=self.search.engine_config("selfplay"),
                               exit_flops=exit_flops, players=self._player(), seed=seed,
                               max_moves=self.search.max_moves)
        self._play(search, ServerEvaluator(self.server), seed, totals)

    def _play(self, search: Any, evaluator: Any, seed: int, totals: dict[str, float]) -> None:
        """Play the games of `search` (a BatchedSearch; its players are the full search's) move by
        move until stopped, storing each finished game; `evaluator` has ServerEvaluator's contract
        (called on the leaves; counts `rows` and `wait_s`, names the network `version`)."""
        cap = self.search.playout_cap
        rng = np.random.default_rng((seed, 1))  # the playout-cap draws (a stream of their own)
        full = [search.players(g)[0] for g in range(search.num_games)]  # each game's full-search player
        full_search = [True] * search.num_games
        games = [_Game() for _ in range(search.num_games)]
        idle: list[int] = []  # finished games not started again yet (self-play may be paused)
        last = time.perf_counter()
        while not self._stop():
            if idle and not self.state.paused:
                for game in idle:
                    search.reset(game)
                    full[game] = self._player()
                    search.set_players(game, full[game], full[game])
                idle = []
            if not search.active_games():  # paused, every game in hand finished: wait for the learner
                time.sleep(PAUSE_POLL_S)
                now = time.perf_counter()
                with self._lock:
                    totals["paused_s"] += now - last
                    self._pending_stats["paused_s"] += now - last
                last = now
                self._flush_stats()
                continue
            if cap is not None:
                for g in search.active_games():
                    full_search[g] = bool(rng.random() < cap.full_share)
                    player = full[g] if full_search[g] else replace(full[g], simulations=cap.cheap_simulations)
                    search.set_players(g, player, player)
            for r in search.run_move(evaluator):
                g = games[r.game]
                g.record(r, full_search[r.game])
                if r.game_over:
                    self._finish(search, r.game, g, r.resigned, evaluator.version, seed, totals)
                    games[r.game] = _Game()
                    idle.append(r.game)
                    if self._stop():
                        break
            now = time.perf_counter()
            with self._lock:
                evals = evaluator.rows
                evaluator.rows = 0
                wait = evaluator.wait_s
                evaluator.wait_s = 0.0
                for key, value in (("evals", evals), ("wait_s", wait), ("wall_s", now - last)):
                    totals[key] += value
                    self._pending_stats[key] += value
                last = now
            self._flush_stats()

    def _finish(self, search, game: int, g: _Game, resigned: bool, version: int, seed: int,
                totals: dict[str, float]) -> None:
        """Encode the finished game and store it; it is in Redis before this returns."""
        if resigned:  # a resignation is no move: the record keeps the positions of played moves
            g.drop_last()
            winner, score = search.winner(game), 0.0
        else:
            board = search.board(game)
            winner, score = board.winner(), board.score()
        with self._lock:  # `max_games` (a worker run of fixed length) counts exactly
            if self._max_games is not None and self._finished >= self._max_games:
                return
            self._finished += 1
            serial = self._serial
            self._serial += 1
        record = SelfPlayGame(
            size=self.board_size, komi=self.search.komi, actions=np.asarray(g.actions, np.int64),
            root_values=np.asarray(g.values, np.float32), pi_counts=np.array([len(a) for a in g.pi_actions]),
            pi_actions=np.concatenate(g.pi_actions) if g.pi_actions else np.zeros(0, np.int64),
            pi_shares=np.concatenate(g.pi_shares) if g.pi_shares else np.zeros(0, np.float32),
            winner=winner, resigned=resigned, score=score, model_version=version, worker=self.worker_id,
            serial=serial, seed=seed, evals_per_exit=g.evals, flops=g.flops,
            policy_target=np.asarray(g.policy_target, bool))
        self.store.add_game(encode(record), record.num_moves)
        with self._lock:
            for key, value in (("games", 1), ("positions", record.num_moves)):
                totals[key] += value
                self._pending_stats[key] += value

    def _flush_stats(self, force: bool = False) -> None:
        """Add this worker's counters to the run state (one Redis round trip every few s)."""
        now = time.monotonic()
        with self._lock:
            if not force and now - self._last_flush < STATS_INTERVAL_S:
                return
            self._last_flush = now
            stats, self._pending_stats = self._pending_stats, self._zero_counts()
        self.state.add_worker_counters(self.worker_id, WorkerCounters(**stats))
