"""The stored self-play game: what the game store and the replay buffer keep.

A game is kept as its moves, the sparse search distribution of every move, the root values,
the result, exit statistics and the model version; input planes are rebuilt from the moves
when a position is sampled, so a stored position costs tens of bytes instead of 5.5 KB of
float32 planes.

Encoding (little-endian): a fixed header (`HEADER`), then per move the action (uint16), the
root value (float16) and the number of searched children k (uint16); then, for all moves in
order, k (action uint16, share uint16) pairs, where share = round(pi_a * 65535) is the move's
visit share quantised to 1/65535 (pi is N(a) / sum_b N(b), the training target of eq. 6.1).
Then the evaluations per exit (int64 each), the seed (int64) and the FLOPs (float64). Version 2
(magic DPG2) appends the per-move policy-target flags, bit-packed (np.packbits, ceil(T / 8)
bytes): a move of a cheap search under playout cap randomization (KataGo, Wu 2019 sec. 3.1) is
a value target only. A version-1 record (DPG1) decodes as every move a policy target.
`decode(encode(g))` restores every field, pi to within 1/131070.

Under a Gumbel root (search.root: gumbel) the stored shares are the improved policy
(MoveResult.improved_policy), not the visit shares: the target the learner trains on.
"""
from __future__ import annotations

import functools
import struct
from dataclasses import dataclass, field

import numpy as np

MAGIC = b"DPG2"
#: The first version's magic: no policy-target flags (every move is a policy target).
MAGIC_V1 = b"DPG1"
HEADER = struct.Struct("<4sBBfhbBxxiiqqd")  # magic, size, exits, komi, winner..., see encode
SHARE_SCALE = 65535


class RecordError(ValueError):
    """Bytes that are not an encoded self-play game."""


@dataclass
class SelfPlayGame:
    """One finished self-play game."""

    size: int
    komi: float
    actions: np.ndarray                 # int [T]
    root_values: np.ndarray             # float32 [T], from the mover's view
    pi_counts: np.ndarray               # int [T]: searched children of each move
    pi_actions: np.ndarray              # int [sum(pi_counts)]: their actions, move after move
    pi_shares: np.ndarray               # float32 [sum(pi_counts)]: their visit shares (sum 1 per move)
                                        # (the improved policy under a Gumbel root)
    winner: int                         # +1 black, -1 white, 0 draw
    resigned: bool
    score: float                        # Tromp-Taylor score (black - white - komi); 0 if resigned
    model_version: int
    worker: int
    serial: int                         # the game's number within its worker
    seed: int
    evals_per_exit: np.ndarray = field(default_factory=lambda: np.zeros(1, np.int64))
    flops: float = 0.0
    policy_target: np.ndarray | None = None
    """bool [T]: whether move t's search is a policy target (False: a cheap search of playout cap
    randomization, a value target only); None: every move is one."""

    def __post_init__(self) -> None:
        if self.policy_target is None:
            self.policy_target = np.ones(len(self.actions), bool)
        else:
            self.policy_target = np.asarray(self.policy_target, bool)
            if len(self.policy_target) != len(self.actions):
                raise ValueError(f"policy_target has {len(self.policy_target)} flags for {len(self.actions)} moves")

    @property
    def num_moves(self) -> int:
        """Positions (moves) in the game."""
        return len(self.actions)

    @functools.cached_property
    def pi_offsets(self) -> np.ndarray:
        """int [T + 1]: move t's children are pi_actions[pi_offsets[t]:pi_offsets[t + 1]]."""
        offsets = np.zeros(len(self.pi_counts) + 1, np.int64)
        np.cumsum(self.pi_counts, out=offsets[1:])
        return offsets

    def sparse_pi(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        """The actions and visit shares of move t's search."""
        lo, hi = self.pi_offsets[t], self.pi_offsets[t + 1]
        return self.pi_actions[lo:hi], self.pi_shares[lo:hi]

    def dense_pi(self, t: int) -> np.ndarray:
        """float32 [size*size + 1]: the search distribution of move t."""
        pi = np.zeros(self.size * self.size + 1, np.float32)
        actions, shares = self.sparse_pi(t)
        pi[actions] = shares
        return pi

    def z(self, t: int) -> float:
        """The outcome from the view of the player to move at position t (+1 win, -1 loss)."""
        mover = 1 if t % 2 == 0 else -1
        return float(self.winner * mover)

    def result(self) -> str:
        """SGF RE value: "B+R", "W+3.5", "0"."""
        from dpv.sgf import format_score

        if self.resigned:
            return "B+R" if self.winner > 0 else "W+R"
        return format_score(self.score)


def encode(game: SelfPlayGame) -> bytes:
    """The compact bytes of `game` (see the module docstring)."""
    t = game.num_moves
    counts = np.asarray(game.pi_counts, np.uint16)
    evals = np.asarray(game.evals_per_exit, np.int64)
    header = HEADER.pack(MAGIC, game.size, len(evals), game.komi, game.winner, int(game.resigned), 0,
                         t, game.model_version, game.worker, game.serial, game.score)
    moves = np.empty(t, dtype=[("a", "<u2"), ("v", "<f2"), ("k", "<u2")])
    moves["a"] = game.actions
    moves["v"] = game.root_values
    moves["k"] = counts
    pairs = np.empty(int(counts.sum()), dtype=[("a", "<u2"), ("s", "<u2")])
    pairs["a"] = game.pi_actions
    pairs["s"] = np.rint(np.asarray(game.pi_shares) * SHARE_SCALE)
    tail = struct.pack("<qd", game.seed, game.flops)
    flags = np.packbits(np.asarray(game.policy_target, bool)).tobytes()
    return header + moves.tobytes() + pairs.tobytes() + evals.astype("<i8").tobytes() + tail + flags


def decode(data: bytes) -> SelfPlayGame:
    """The game encoded in `data`; `RecordError` if it is not one."""
    try:
        magic, size, exits, komi, winner, resigned, _, t, version, worker, serial, score = \
            HEADER.unpack_from(data, 0)
        if magic not in (MAGIC, MAGIC_V1):
            raise RecordError(f"not a dpv self-play game (magic {magic!r})")
        off = HEADER.size
        moves = np.frombuffer(data, dtype=[("a", "<u2"), ("v", "<f2"), ("k", "<u2")], count=t, offset=off)
        off += moves.nbytes
        total = int(moves["k"].astype(np.int64).sum())
        pairs = np.frombuffer(data, dtype=[("a", "<u2"), ("s", "<u2")], count=total, offset=off)
        off += pairs.nbytes
        evals = np.frombuffer(data, dtype="<i8", count=exits, offset=off).astype(np.int64)
        off += evals.nbytes
        seed, flops = struct.unpack_from("<qd", data, off)
        off += 16
        flag_bytes = (t + 7) // 8 if magic == MAGIC else 0
        if off + flag_bytes != len(data):
            raise RecordError(f"damaged self-play game record ({len(data)} bytes, {off + flag_bytes} expected)")
        flags = np.frombuffer(data, np.uint8, count=flag_bytes, offset=off)
        policy_target = np.unpackbits(flags, count=t).astype(bool) if magic == MAGIC else np.ones(t, bool)
        actions = size * size + 1
        if len(moves) and max(int(moves["a"].max()), int(pairs["a"].max(initial=0))) >= actions:
            raise RecordError(f"damaged self-play game record (an action beyond the {size}x{size} board's {actions})")
    except (struct.error, ValueError, TypeError) as err:
        if isinstance(err, RecordError):
            raise
        raise RecordError(f"damaged self-play game record ({err})") from None
    return SelfPlayGame(
        size=size, komi=komi, actions=moves["a"].astype(np.int64), root_values=moves["v"].astype(np.float32),
        pi_counts=moves["k"].astype(np.int64), pi_actions=pairs["a"].astype(np.int64),
        pi_shares=pairs["s"].astype(np.float32) / SHARE_SCALE,
        winner=winner, resigned=bool(resigned), score=score, model_version=version, worker=worker,
        serial=serial, seed=seed, evals_per_exit=evals, flops=flops, policy_target=policy_target)


def num_moves(data: bytes) -> int:
    """The number of positions in an encoded game, read from its header only."""
    return HEADER.unpack_from(data, 0)[7]
