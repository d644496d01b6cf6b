"""ReplayBuffer: the window of the most recent W stored games, sampled uniformly by position.

The buffer keeps each game's encoded bytes (dpv.selfplay.records: moves and sparse visit
shares, tens of bytes per position), never planes. Sampling draws positions uniformly over the
window, replays each game's moves on a go_engine Board up to the sampled positions (one replay
per game and batch), writes the input planes (the network config's `input_planes`) and applies
one of the 8 symmetries at random to the planes and the search distribution, and flags the
positions whose search is a policy target (playout cap randomization, SelfPlayGame). With
`aux_targets` (a network with ownership or score heads, NetConfig.has_aux_heads) each sampled
game is replayed to its end as well, and the final board gives every position the ownership
of each point under area scoring (Board.ownership) and the final score (Board.score, komi
included), both from the view of the player to move (negated for white), the ownership under
the position's symmetry. A resigned game's final board is the one at resignation, not played
out: its positions are flagged as no auxiliary target (TrainingBatch.aux_target), and the
learner masks them out of the ownership and score losses. The buffer reads
new games from the game store itself (the store's list is the source of truth), so a restarted
buffer rebuilds the same window and no game is lost between a worker's write and the buffer.

A damaged record (one that does not decode, or whose moves do not replay) never stops the
training: the buffer sets it aside in the run state's quarantine (dpv.selfplay.state; the
driver logs it once, the metrics count it) and samples from the other games. No torch import.
"""
from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

import numpy as np

from dpv.nets.config import NetConfig
from dpv.selfplay.messages import BufferStats, TrainingBatch
from dpv.selfplay.packing import pack_planes
from dpv.selfplay.records import RecordError, SelfPlayGame, decode
from dpv.selfplay.state import RunState
from dpv.selfplay.store import GameStore

if TYPE_CHECKING:
    from go_engine import Board


class ReplayBuffer:
    """Window of the last `window_games` games of the store at `store_url` (a Ray actor:
    `ray.remote(ReplayBuffer)`); samples carry `input_planes` planes (NetConfig.input_planes)
    of `board_size` boards."""

    def __init__(self, store_url: str, prefix: str, window_games: int, seed: int = 0,
                 input_planes: int = NetConfig.input_planes, board_size: int = NetConfig.board_size,
                 aux_targets: bool = False) -> None:
        self.store = GameStore(store_url, prefix)
        self.state = RunState(self.store)
        self.state.count_start("buffer")
        self.window_games = window_games
        self.input_planes = input_planes
        self.board_size = board_size
        self.aux_targets = aux_targets
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
        for game_id, data in enumerate(self.store.games(start, total), start):
            try:
                length = self._check(data)
            except RecordError as err:
                self.state.quarantine(game_id, str(err))
                data, length = b"", 0  # kept in the window (ids stay contiguous), never drawn
            self._games.append(data)
            self._lengths.append(length)
        while len(self._games) > self.window_games:
            self._games.popleft()
            self._lengths.popleft()
            self._first_id += 1
        return total

    def _check(self, data: bytes) -> int:
        """The positions of the encoded game `data`; RecordError when it does not decode or is
        of another board size."""
        game = decode(data)
        if game.size != self.board_size:
            raise RecordError(f"a {game.size}x{game.size} game in a {self.board_size}x{self.board_size} run")
        return game.num_moves

    def stats(self) -> BufferStats:
        """Games, positions and bytes in the window (after a sync), and its id range."""
        self.sync()
        return BufferStats(games=len(self._games), positions=int(sum(self._lengths)),
                           bytes=int(sum(len(d) for d in self._games)), first_id=self._first_id,
                           next_id=self._first_id + len(self._games))

    def sample(self, batch_size: int, with_index: bool = False) -> TrainingBatch:
        """`batch_size` positions drawn uniformly from the window, each under a random symmetry;
        with `with_index`, the game, move and symmetry of each position too. A game whose moves
        do not replay is quarantined and the batch drawn again without it."""
        self.sync()
        while True:
            try:
                return self._sample(batch_size, with_index)
            except _DamagedGame as bad:
                self.state.quarantine(self._first_id + bad.index, bad.reason)
                self._games[bad.index], self._lengths[bad.index] = b"", 0

    def _sample(self, batch_size: int, with_index: bool) -> TrainingBatch:
        from go_engine import transform_planes, transform_policy

        aux = self.aux_targets
        lengths = np.fromiter(self._lengths, np.int64, len(self._lengths))
        total = int(lengths.sum())
        if total == 0:
            raise ValueError("the replay buffer holds no positions yet")
        flat = np.sort(self.rng.integers(total, size=batch_size))
        ends = np.cumsum(lengths)
        game_index = np.searchsorted(ends, flat, side="right")
        moves = flat - (ends[game_index] - lengths[game_index])
        symmetries = self.rng.integers(8, size=batch_size)
        n = self.board_size
        planes = np.zeros((batch_size, self.input_planes, n, n), np.float32)
        pi = np.zeros((batch_size, n * n + 1), np.float32)
        z = np.zeros(batch_size, np.float32)
        policy_target = np.ones(batch_size, bool)
        ownership = np.zeros((batch_size, n * n), np.float32) if aux else None
        score = np.zeros(batch_size, np.float32) if aux else None
        aux_target = np.ones(batch_size, bool) if aux else None
        i = 0
        while i < batch_size:  # samples are sorted: one replay per game
            gi = int(game_index[i])
            j = int(np.searchsorted(game_index, gi, side="right"))
            game = decode(self._games[gi])
            final = _replay(game, moves[i:j], planes[i:j], gi, to_end=aux)
            if aux:
                owners, final_score = final.ownership().astype(np.float32).reshape(n, n), final.score()
            for row in range(i, j):
                k, t = int(symmetries[row]), int(moves[row])
                planes[row] = transform_planes(planes[row], k)
                pi[row] = transform_policy(game.dense_pi(t), k)
                z[row] = game.z(t)
                policy_target[row] = game.policy_target[t]
                if aux:
                    mover = 1.0 if t % 2 == 0 else -1.0  # black moves first, as in SelfPlayGame.z
                    ownership[row] = mover * transform_planes(owners, k).ravel()
                    score[row] = mover * final_score
                    aux_target[row] = not game.resigned
            i = j
        index = {} if not with_index else {"game_id": game_index + self._first_id, "move": moves,
                                           "symmetry": symmetries}
        return TrainingBatch(planes=pack_planes(planes), pi=pi, z=z, ownership=ownership, score=score,
                             policy_target=policy_target, aux_target=aux_target, **index)


class _DamagedGame(Exception):
    """The game at window index `index` does not replay (`reason`)."""

    def __init__(self, index: int, reason: str) -> None:
        super().__init__(reason)
        self.index = index
        self.reason = reason


def _replay(game: SelfPlayGame, moves: np.ndarray, planes: np.ndarray, index: int, to_end: bool = False) -> Board:
    """Write the input planes of `game` before each of `moves` (sorted) into `planes` and return
    the board (after the game's last move with `to_end`); a game with an illegal move (the game
    at window index `index`) raises _DamagedGame."""
    from go_engine import Board, IllegalMove

    board = Board(game.size, game.komi)
    played = 0

    def play_to(t: int) -> None:
        nonlocal played
        try:
            while played < t:
                board.play(int(game.actions[played]))
                played += 1
        except IllegalMove as err:
            raise _DamagedGame(index, f"its move {played + 1} does not replay ({err})") from None

    for row, t in enumerate(moves):
        play_to(int(t))
        board.write_planes(planes[row])
    if to_end:
        play_to(game.num_moves)
    return board
