"""What the self-play actors send: frozen dataclasses, one per answer, every field documented.

Actors return these (Ray pickles them); readers use attributes. The run's JSON files
(summary.json, metrics.jsonl) hold them as `dataclasses.asdict`, so their keys are these field
names. The history records (`TrainingCycle`, `GatingRecord`) extend an actor's answer with what
the driver adds. No torch or ray import.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np


@dataclass(frozen=True)
class WorkerCounters:
    """A self-play worker's counters: the totals of one `SelfPlayWorker.run`, or the sums a
    worker has added to the run state (`RunState.worker_counters`)."""

    games: float = 0.0
    """Games stored."""
    positions: float = 0.0
    """Positions (moves) of those games."""
    evals: float = 0.0
    """Leaf evaluations the inference server answered."""
    wait_s: float = 0.0
    """Pipeline-seconds spent waiting for the server's answers."""
    wall_s: float = 0.0
    """Pipeline-seconds of wall time (the waiting share is wait_s / wall_s), pauses left out."""
    paused_s: float = 0.0
    """Pipeline-seconds spent paused, waiting for the learner (a fixed sample ratio)."""

    @classmethod
    def from_mapping(cls, values: dict[str, float]) -> WorkerCounters:
        """The counters of a Redis hash (absent counters are 0)."""
        return cls(**{f.name: float(values.get(f.name, 0.0)) for f in fields(cls)})

    def minus(self, earlier: WorkerCounters) -> WorkerCounters:
        """The counts since `earlier` (counters of an earlier session of the run)."""
        return WorkerCounters(**{f.name: getattr(self, f.name) - getattr(earlier, f.name) for f in fields(self)})


@dataclass(frozen=True)
class ServerStats:
    """An inference server's counters since its process started (`InferenceServer.stats`)."""

    requests: int
    """Evaluation requests answered."""
    rows: int
    """Leaf positions evaluated (rows of all forwards)."""
    batches: int
    """Forwards run."""
    forward_s: float
    """Seconds spent in forwards."""
    queue_s: float
    """Seconds the requests waited in the queue before their forward began, summed."""
    swaps: int
    """Weight swaps (promotions received)."""
    evals_per_exit: list[int]
    """Rows answered by each exit."""
    batch_size_counts: list[int]
    """Forwards per batch-size bucket (bounds `inference.BATCH_SIZE_BOUNDS`, one bucket more above)."""
    queue_wait_counts: list[int]
    """Requests per queue-wait bucket (bounds `inference.QUEUE_WAIT_BOUNDS`, one bucket more above)."""
    version: int
    """Model version the server answers with."""
    device: str
    """Torch device of the network ("cpu", "cuda")."""
    uptime_s: float
    """Seconds since the server's process started (it goes down when Ray restarted the server)."""
    backend: str = "torch-fp32"
    """Inference backend that runs the server's forwards (dpv.nets.backends.BackendName)."""

    @property
    def mean_batch(self) -> float:
        """Rows per forward."""
        return self.rows / max(1, self.batches)


@dataclass(frozen=True)
class BufferStats:
    """The replay buffer's window after a sync with the game store (`ReplayBuffer.stats`)."""

    games: int
    """Games in the window."""
    positions: int
    """Positions of those games."""
    bytes: int
    """Bytes of their encoded records."""
    first_id: int
    """Id of the oldest game in the window."""
    next_id: int
    """Id one past the newest game in the window."""


@dataclass(frozen=True)
class TrainingBatch:
    """Positions sampled from the replay buffer (`ReplayBuffer.sample`), each under a random
    board symmetry."""

    planes: np.ndarray
    """uint8 [B, ceil(C*N*N / 8)]: the input planes, bit-packed (`packing.pack_planes`)."""
    pi: np.ndarray
    """float32 [B, N*N + 1]: the search's visit distribution, the policy target (eq. 6.1)."""
    z: np.ndarray
    """float32 [B]: the game's outcome from the mover's view, the value target (eq. 6.2)."""
    game_id: np.ndarray | None = None
    """int [B]: the stored game of each position (`with_index` only)."""
    move: np.ndarray | None = None
    """int [B]: the position's move number in its game (`with_index` only)."""
    symmetry: np.ndarray | None = None
    """int [B]: the symmetry applied, 0..7 (`with_index` only)."""
    ownership: np.ndarray | None = None
    """float32 [B, N*N] in {-1, 0, +1}: each point's owner on the game's final board under area
    scoring, +1 the player to move, under the position's symmetry, the ownership heads' target
    (a buffer with `aux_targets` only)."""
    score: np.ndarray | None = None
    """float32 [B]: the final score difference in points (komi included) from the mover's view,
    the score heads' target (a buffer with `aux_targets` only)."""
    policy_target: np.ndarray | None = None
    """bool [B]: whether the position's search is a policy target (False: a cheap search of
    playout cap randomization, whose `pi` the policy loss ignores); None: every position is one."""
    aux_target: np.ndarray | None = None
    """bool [B]: whether the position's game was played out, so that `ownership` and `score` are
    its area scoring (False: a resigned game, masked out of the auxiliary losses); None: every
    position (a buffer without `aux_targets`)."""


@dataclass(frozen=True)
class TrainResult:
    """One training cycle of the learner (`Learner.train`)."""

    step: int
    """Learner steps after the cycle."""
    checkpoint: str
    """Path of the cycle's checkpoint (checkpoints/step-NNNNNNNN.pt), the gating candidate."""
    loss: float
    """Mean weighted deep-supervision loss over the cycle, L2 term included (eq. 6.3)."""
    policy_loss: list[float]
    """Mean policy cross-entropy per exit (eq. 6.1)."""
    value_loss: list[float]
    """Mean value squared error per exit (eq. 6.2)."""
    samples_per_s: float
    """Training samples per second."""
    seconds: float
    """Wall time of the cycle."""
    ownership_loss: list[float] | None = field(default=None, kw_only=True)
    """Mean ownership squared error per exit (the auxiliary heads); None without ownership heads."""
    score_loss: list[float] | None = field(default=None, kw_only=True)
    """Mean score squared error per exit (the auxiliary heads); None without score heads."""


@dataclass(frozen=True)
class TrainingCycle(TrainResult):
    """A training cycle in the run's history (summary.json `cycles`, a `train` line of
    metrics.jsonl): the learner's answer and what the driver did with it."""

    games: int
    """Games stored when the driver read the answer."""
    selfplay_exit: int | None
    """Exit self-play switched to after the cycle (the multi-step schedule), None: unchanged."""
    cpu_s: float | None = field(default=None, kw_only=True)
    """CPU seconds the run's processes had used in this session when the driver read the answer
    (dpv.selfplay.stats.CpuMeter; None in the runs that did not record it)."""


@dataclass(frozen=True)
class GatingResult:
    """A gating match, candidate against the best network (`GatingEvaluator.evaluate`)."""

    games: int
    """Games played."""
    wins: int
    """Games the candidate won."""
    losses: int
    """Games the candidate lost."""
    draws: int
    """Drawn games."""
    win_rate: float
    """The candidate's win rate, a draw counted as half."""
    promote: bool
    """Whether the win rate reached the promotion threshold (`gating.threshold`)."""
    candidate: str
    """Path of the candidate checkpoint."""


@dataclass(frozen=True)
class GatingRecord(GatingResult):
    """A gating in the run's history (summary.json `gating`, a `gating` line of metrics.jsonl)."""

    step: int
    """Learner step of the candidate."""
    best_version: int
    """Version of the best network after this gating (one more when it promoted)."""


@dataclass(frozen=True)
class Placement:
    """Where an actor runs (summary.json `placement`), as the actor itself sees it."""

    node_id: str
    """Ray node id."""
    ip: str
    """The node's IP address."""
    resources: dict[str, float]
    """Resources Ray assigned to the actor ({"CPU": 1.0}, {"GPU": 0.5}, ...)."""
    gpu_ids: list[str]
    """Ids of the GPUs Ray gave the actor."""
    device: str | None
    """The actor's torch device (None for actors without a network)."""

