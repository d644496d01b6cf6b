"""Configuration and result types of the search in `go_engine.search` (PUCT or Gumbel root).

Plain dataclasses, no file formats: the callers (`dpv` configs, GTP, benchmarks) build them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

FIXED = "fixed"
DYNAMIC = "dynamic"
THRESHOLD = "threshold"
DEPTH = "depth"
PUCT = "puct"
GUMBEL = "gumbel"
CONFIDENCE_LEGAL = "legal"
CONFIDENCE_ALL = "all"


@dataclass(frozen=True)
class ExitPolicy:
    """Which exit of a multi-exit network answers a player's leaves.

    - ``fixed``: always exit ``exit`` (negative values count from the deepest, -1 = deepest).
    - ``dynamic``: each leaf leaves at the first exit whose confidence ``c = max_j p_j``
      (eq. 6.4) reaches ``tau = tau0 + alpha * r`` (eq. 6.5, 6.6), where ``r`` in [0, 1] is the
      fraction of this move's FLOPs budget consumed when the leaf is evaluated, per leaf: the
      FLOPs spent plus the least the leaves already in flight in the same step will cost.
    - ``threshold``: the fixed-threshold ablation of Table 6.3, i.e. ``dynamic`` with alpha = 0.
    - ``depth``: the exit by the leaf's place in the tree, not by confidence (thesis 6.2.3's
      argument: a node near the root is corrected by its descendants' values, a leaf deep in the
      tree or late in the search is not): a leaf at most ``max_depth`` plies below the root,
      selected while less than ``share`` of the move's budget is consumed (r as above), is
      answered by exit ``exit`` (the shallow one); every other leaf by the deepest exit.

    ``confidence`` is the distribution whose largest probability is c (eq. 6.4):
    ``"legal"``, the policy renormalised over the moves the search may expand (legal, or
    sensible with `SearchConfig.sensible_moves`); ``"all"``, the softmax over every action,
    as the equation reads. It matters to the threshold kinds only.

    ``vote`` (threshold kinds only): collaborative exits (thesis 7.2.3, ch. 5's logit voting in
    the search): a leaf answers with the mean policy logits of the exits it passed, all of which
    its exit decisions computed anyway (no extra FLOPs), and its exit's value. The evaluator is
    then called with ``vote=`` (bool [n]); `dpv.nets.Evaluator` takes it.
    """

    kind: str = FIXED
    exit: int = -1
    tau0: float = 0.0
    alpha: float = 0.0
    confidence: str = CONFIDENCE_LEGAL
    max_depth: int = 0
    share: float = 1.0
    vote: bool = False

    def __post_init__(self) -> None:
        if self.kind not in (FIXED, DYNAMIC, THRESHOLD, DEPTH):
            raise ValueError(f"exit policy kind must be one of fixed, dynamic, threshold, depth; got {self.kind!r}")
        if self.kind == THRESHOLD and self.alpha != 0.0:
            raise ValueError("a threshold exit policy has alpha = 0; use kind='dynamic' for alpha != 0")
        if not (math.isfinite(self.tau0) and math.isfinite(self.alpha)):
            raise ValueError(f"tau0 and alpha must be finite, got {self.tau0}, {self.alpha}")
        if self.confidence not in (CONFIDENCE_LEGAL, CONFIDENCE_ALL):
            raise ValueError(f"exit confidence must be 'legal' or 'all', got {self.confidence!r}")
        if self.vote and self.kind not in (DYNAMIC, THRESHOLD):
            raise ValueError("only the threshold kinds (dynamic, threshold) vote: a fixed exit computes one exit")
        if self.max_depth < 0 or not 0.0 <= self.share <= 1.0:
            raise ValueError(f"a depth exit policy needs max_depth >= 0 and share in [0, 1], "
                             f"got {self.max_depth}, {self.share}")

    @classmethod
    def fixed(cls, exit: int = -1) -> ExitPolicy:
        """Always answer at exit `exit` (-1 = deepest)."""
        return cls(FIXED, exit=exit)

    @classmethod
    def dynamic(cls, tau0: float, alpha: float, confidence: str = CONFIDENCE_LEGAL, vote: bool = False) -> ExitPolicy:
        """Budget-adaptive threshold tau = tau0 + alpha * r (eq. 6.5)."""
        return cls(DYNAMIC, tau0=tau0, alpha=alpha, confidence=confidence, vote=vote)

    @classmethod
    def threshold(cls, tau: float, confidence: str = CONFIDENCE_LEGAL) -> ExitPolicy:
        """Fixed confidence threshold tau (alpha = 0)."""
        return cls(THRESHOLD, tau0=tau, confidence=confidence)

    @classmethod
    def depth(cls, max_depth: int, share: float = 1.0, exit: int = 0) -> ExitPolicy:
        """Exit `exit` for leaves at most `max_depth` plies below the root selected before
        `share` of the budget is consumed, the deepest exit for the others."""
        return cls(DEPTH, exit=exit, max_depth=max_depth, share=share)

    def resolved_exit(self, num_exits: int) -> int:
        """The fixed exit (for ``depth``: the shallow one) as an index in [0, num_exits), or -1
        for the threshold kinds."""
        if self.kind not in (FIXED, DEPTH):
            return -1
        k = self.exit + num_exits if self.exit < 0 else self.exit
        if not 0 <= k < num_exits:
            raise ValueError(f"exit {self.exit} is out of range for a network with {num_exits} exits")
        return k


@dataclass(frozen=True)
class Player:
    """One side's search budget, exit policy and network costs.

    A move's budget is ``simulations x FLOPs(deepest exit)`` (simulations of the player's full
    network); each leaf is charged the FLOPs of the exit that answered it. To give a fixed
    shallow exit k "the same number of simulations" instead, pass
    ``simulations = n * FLOPs[k] / FLOPs[-1]``.
    """

    simulations: float = 800.0
    """Budget per move in simulations of the full network (at least 1: the root's evaluation)."""
    exit_policy: ExitPolicy = field(default_factory=ExitPolicy)
    """Which exit answers this player's leaves."""
    exit_flops: tuple[float, ...] | None = None
    """FLOPs of each exit of this player's network (deepest last), which its budget and its
    leaves are charged in; None: the `exit_flops` of the BatchedSearch. Two players with
    different networks (blocks, channels, number of exits) each pass their own."""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.simulations) and self.simulations >= 1.0):
            raise ValueError(f"simulations must be >= 1 (the root needs one evaluation), got {self.simulations}")
        if self.exit_flops is not None:
            flops = tuple(float(f) for f in self.exit_flops)
            if not flops or not all(math.isfinite(f) and f > 0 for f in flops):
                raise ValueError(f"exit_flops must be a non-empty list of positive numbers, "
                                 f"got {list(self.exit_flops)}")
            object.__setattr__(self, "exit_flops", flops)


@dataclass(frozen=True)
class SearchConfig:
    """Knobs of the search shared by every game of a `BatchedSearch`: PUCT (eq. 2.5) at every
    node, or (``root="gumbel"``) Gumbel sequential halving at the root and PUCT below it (see
    go_engine/search.pyx)."""

    c_puct: float = 1.5
    """Exploration constant of eq. 2.5."""
    fpu_reduction: float = 0.25
    """First-play urgency: an unvisited child's Q is the parent's Q minus
    fpu_reduction * sqrt(prior mass of the visited children)."""
    fpu_absolute: float | None = None
    """If set, an unvisited child's Q is this value instead (e.g. 0 as in AlphaGo Zero, -1)."""
    leaves_per_tree: int = 8
    """L: leaves collected per tree and step with virtual loss, evaluated in one batch."""
    root: str = PUCT
    """``"puct"``: PUCT selection at every node, the move played from the visit counts.
    ``"gumbel"``: Gumbel root search (Danihelka et al., ICLR 2022; mctx's
    `gumbel_muzero_policy`): the top `gumbel_max_actions` root moves by g + logits, sequential
    halving over the move's FLOPs budget, PUCT below the root, the move played is the best
    remaining candidate by g + logits + sigma(completed Q), and `MoveResult.improved_policy` is
    the training target.
    Dirichlet noise and the visit-count temperature do not apply: the Gumbel draws sample the
    move (see `gumbel_every_move`)."""
    gumbel_max_actions: int = 16
    """m: root moves sampled without replacement by Gumbel-top-m (fewer if fewer are legal)."""
    gumbel_c_visit: float = 50.0
    """c_visit of sigma(q) = (c_visit + max_b N(b)) * c_scale * q (mctx's maxvisit_init)."""
    gumbel_c_scale: float = 0.1
    """c_scale of sigma(q) (mctx's value_scale; q is rescaled to [0, 1] over the siblings)."""
    gumbel_every_move: bool = True
    """Gumbel root: draw g ~ Gumbel(0, 1) at every move (self-play: the draws are its
    exploration, as in the paper); False: only while move_count < temperature_moves (the
    opening, like PUCT's temperature), then g = 0, the deterministic search that mctx advises
    for evaluation (matches, GTP)."""
    root_noise: bool = False
    """Dirichlet noise on the root priors (self-play; PUCT root only)."""
    dirichlet_alpha_scale: float = 10.0
    """The noise's alpha is dirichlet_alpha_scale / number of legal moves (0.12 on an empty 9x9)."""
    dirichlet_epsilon: float = 0.25
    """Root prior = (1 - epsilon) * prior + epsilon * noise."""
    temperature: float = 1.0
    """Moves are sampled proportionally to N^(1/temperature) while move_count < temperature_moves."""
    temperature_moves: int = 30
    """From this move on (and always if 0) the most visited move is played."""
    reuse_tree: bool = True
    """Keep the subtree of the move played (by ourselves or an opponent)."""
    resign_threshold: float | None = None
    """Resign when the root value and the best child's Q are both below this; None: never."""
    no_resign_fraction: float = 0.1
    """Share of games (drawn at reset) that never resign but report would_resign, to measure
    false resignations."""
    max_sims_factor: float = 4.0
    """Guard for positions where most paths end in terminal states, which cost no FLOPs: a move's
    search also stops after max_sims_factor * budget / (cheapest exit FLOPs) simulations."""
    initial_nodes: int = 4096
    """Node pool capacity of a fresh tree; pools grow by doubling."""
    sensible_moves: bool = False
    """Candidate moves exclude filling the mover's own eye (`Board.is_own_eye`), and pass is a
    candidate only when no other move is left: the playout rule of Monte-Carlo Go, for
    self-play, so games are played out under area scoring and never end in an early pass."""

    def __post_init__(self) -> None:
        checks = [
            (self.c_puct >= 0, "c_puct must be >= 0"),
            (1 <= self.leaves_per_tree <= 1024, "leaves_per_tree must lie in [1, 1024]"),
            (self.root in (PUCT, GUMBEL), f"root must be 'puct' or 'gumbel', got {self.root!r}"),
            (self.gumbel_max_actions >= 1, "gumbel_max_actions must be >= 1"),
            (math.isfinite(self.gumbel_c_visit) and self.gumbel_c_visit >= 0, "gumbel_c_visit must be >= 0"),
            (math.isfinite(self.gumbel_c_scale) and self.gumbel_c_scale >= 0, "gumbel_c_scale must be >= 0"),
            (self.dirichlet_alpha_scale > 0, "dirichlet_alpha_scale must be > 0"),
            (0.0 <= self.dirichlet_epsilon <= 1.0, "dirichlet_epsilon must lie in [0, 1]"),
            (self.temperature >= 0, "temperature must be >= 0"),
            (self.temperature_moves >= 0, "temperature_moves must be >= 0"),
            (0.0 <= self.no_resign_fraction <= 1.0, "no_resign_fraction must lie in [0, 1]"),
            (self.max_sims_factor >= 1.0, "max_sims_factor must be >= 1"),
            (self.initial_nodes >= 1, "initial_nodes must be >= 1"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)


@dataclass
class MoveResult:
    """What the search of one move in one game produced."""

    game: int
    """Index of the game in its BatchedSearch."""
    player: int
    """The colour to move: +1 black, -1 white."""
    action: int
    """The action chosen (not yet played if it came from `search`); -1 when the player resigned."""
    pi: np.ndarray
    """Root visit distribution over all actions, float32 [num_actions] (the training target)."""
    root_value: float
    """Mean backed-up value at the root, from the view of the player to move."""
    flops: float
    """FLOPs charged to this move's search."""
    evals_per_exit: np.ndarray
    """Network evaluations per exit, int64 [num_exits]."""
    simulations: int
    """Simulations completed below the root (evaluated leaves plus terminal visits)."""
    resigned: bool = False
    would_resign: bool = False
    """The resignation rule fired in a game that may not resign."""
    game_over: bool = False
    """The game ended with this move (set by `run_move`)."""
    improved_policy: np.ndarray | None = None
    """Gumbel root only (None under PUCT): pi' = softmax(logits + sigma(completed Q)) over the
    root's children, float32 [num_actions], zero off the candidate moves; the policy target that
    replaces `pi` in training (Danihelka et al. 2022, eq. 11; mctx's action_weights)."""
