"""ReplayBuffer: the window of the most recent W stored games, sampled uniformly by position.

The buffer keeps each game's encoded bytes (dpv.selfplay.records: moves and sparse visit
shares, tens of bytes per position), never planes. Sampling draws positions uniformly over the
window, replays each game's moves on a go_engine Board up to the sampled positions (one replay
per game and batch), writes the input planes (the network config's `input_planes`) and applies
one of the 8 symmetries at random to the planes and the search distribution. The buffer reads
new games from the game store itself (the store's list is the source of truth), so a restarted
buffer rebuilds the same window and no game is lost between a worker's write and the buffer. No torch import.
"""
from __future__ import annotations

from collections import deque

import numpy as np

from dpv.nets.config import NetConfig
from dpv.selfplay.messages import BufferStats, TrainingBatch
from dpv.selfplay.packing import pack_planes
from dpv.selfplay.records import decode, num_moves
from dpv.selfplay.state import RunState
from dpv.selfplay.store import GameStore


class ReplayBuffer:
    """Window of the last `window_games` games of the store at `store_url` (a Ray actor:
    `ray.remote(ReplayBuffer)`); samples carry `input_planes` planes (NetConfig.input_planes)."""

    def __init__(self, store_url: str, prefix: str, window_games: int, seed: int = 0,
                 input_planes: int = NetConfig.input_planes) -> None:
        self.store = GameStore(store_url, prefix)
        RunState(self.store).count_start("buffer")
        self.window_games = window_games
        self.input_planes = input_planes
        self.rng = np.random.default_rng(seed)
        self._games: deque[bytes] = deque()
        self._lengths: deque[int] = deque()
        self._first_id = 0          # id of the oldest game in the window
        self.sync()

    def sync(self) -> int:
        """Read the games stored since the last sync, keep the last `window_games`; returns
        the number of games stored in all."""
        total = self.store.num_games()
        next_id = self._first_id + len(self._games)
        start = max(next_id, total - self.window_games)
        if start > next_id:  # the window moves past games we have not read: drop ours
            self._games.clear()
            self._lengths.clear()
            self._first_id = start
        for data in self.store.games(start, total):
            self._games.append(data)
            self._lengths.append(num_moves(data))
        while len(self._games) > self.window_games:
            self._games.popleft()
            self._lengths.popleft()
            self._first_id += 1
        return total

    def stats(self) -> BufferStats:
        """Games, positions and bytes in the window (after a sync), and its id range."""
        self.sync()
        return BufferStats(games=len(self._games), positions=int(sum(self._lengths)),
                           bytes=int(sum(len(d) for d in self._games)), first_id=self._first_id,
                           next_id=self._first_id + len(self._games))

    def sample(self, batch_size: int, with_index: bool = False) -> TrainingBatch:
        """`batch_size` positions drawn uniformly from the window, each under a random symmetry;
        with `with_index`, the game, move and symmetry of each position too."""
        from go_engine import Board, transform_planes, transform_policy

        self.sync()
        lengths = np.fromiter(self._lengths, np.int64, len(self._lengths))
        total = int(lengths.sum())
        if total == 0:
            raise ValueError("the replay buffer holds no positions yet")
        flat = np.sort(self.rng.integers(total, size=batch_size))
        ends = np.cumsum(lengths)
        game_index = np.searchsorted(ends, flat, side="right")
        moves = flat - (ends[game_index] - lengths[game_index])
        symmetries = self.rng.integers(8, size=batch_size)
        first = decode(self._games[int(game_index[0])])
        n, a = first.size, first.size * first.size + 1
        planes = np.zeros((batch_size, self.input_planes, n, n), np.float32)
        pi = np.zeros((batch_size, a), np.float32)
        z = np.zeros(batch_size, np.float32)
        i = 0
        while i < batch_size:  # samples are sorted: one replay per game
            gi = int(game_index[i])
            game = decode(self._games[gi])
            board = Board(game.size, game.komi)
            played = 0
            while i < batch_size and game_index[i] == gi:
                t = int(moves[i])
                while played < t:
                    board.play(int(game.actions[played]))
                    played += 1
                board.write_planes(planes[i])
                k = int(symmetries[i])
                planes[i] = transform_planes(planes[i], k)
                pi[i] = transform_policy(game.dense_pi(t), k)
                z[i] = game.z(t)
                i += 1
        if not with_index:
            return TrainingBatch(planes=pack_planes(planes), pi=pi, z=z)
        return TrainingBatch(planes=pack_planes(planes), pi=pi, z=z, game_id=game_index + self._first_id,
                             move=moves, symmetry=symmetries)
