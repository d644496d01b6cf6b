"""The search settings every program plays with (self-play, gating, arena, GTP), and their one
conversion to the engine's `go_engine.SearchConfig`.

Each setting has one name everywhere: YAML (`search:` of a self-play config, `match.search:` of
a study config), command-line flags and code. What differs between the programs is the role,
and `engine_config(role)` makes it explicit:

| role       | root noise | resignation        | tree reuse | Gumbel draws (root: gumbel) |
|------------|------------|--------------------|------------|-----------------------------|
| `selfplay` | Dirichlet  | `resign_threshold` | yes        | every move                  |
| `match`    | none       | never              | no (*)     | the opening_moves only      |
| `gtp`      | none       | never              | yes        | the opening_moves only      |

(*) a tree kept across the moves of a match would hand each player the opponent's
evaluations, and its simulations would no longer be bounded by the player's own budget.

No torch or ray import.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal

if TYPE_CHECKING:
    from go_engine import SearchConfig

Role = Literal["selfplay", "match", "gtp"]
ROLES: tuple[Role, ...] = ("selfplay", "match", "gtp")


@dataclass
class SearchSettings:
    """How the search (PUCT, eq. 2.5, or a Gumbel root) plays a move, in every program. The
    defaults are self-play's; `default_settings(role)` gives each role's."""

    c_puct: float = 1.5
    """Exploration constant of eq. 2.5."""
    fpu_reduction: float = 0.25
    """First-play urgency: an unvisited child's Q is the parent's Q minus fpu_reduction x
    sqrt(visited prior mass)."""
    leaves_per_tree: int = 8
    """Leaves collected per tree and step with virtual loss, evaluated in one batch."""
    root: Literal["puct", "gumbel"] = "puct"
    """`puct`: PUCT everywhere, moves and targets from the visit counts. `gumbel`: Gumbel root
    search (Danihelka et al. 2022; go_engine.SearchConfig.root): sequential halving over the
    move's FLOPs budget (c_puct and fpu_reduction select below the root), the policy target is
    MoveResult.improved_policy; the Dirichlet noise does not apply. Self-play samples every move by the Gumbel draws;
    matches and GTP draw them during the opening_moves only, then play the deterministic search."""
    gumbel_max_actions: int = 16
    """Gumbel root: m, the root moves sampled by Gumbel-top-m for the halving."""
    gumbel_c_visit: float = 50.0
    """Gumbel root: c_visit of sigma(q) = (c_visit + max_b N(b)) x c_scale x q."""
    gumbel_c_scale: float = 0.1
    """Gumbel root: c_scale of sigma(q) (q rescaled to [0, 1] over the root's moves)."""
    opening_moves: int = 16
    """Plies sampled in proportion to the visit counts (temperature 1) at the start of each
    game, so that games differ; later moves are the most visited."""
    sensible_moves: bool = True
    """No candidate move fills the mover's own eye and pass is one only when nothing else is
    left (go_engine.SearchConfig.sensible_moves): games are played out under area scoring.
    Without it a small network at few simulations can collapse into a degenerate equilibrium
    where one colour passes from the opening (seen in a local run)."""
    dirichlet_alpha_scale: float = 10.0
    """Self-play root noise: alpha = dirichlet_alpha_scale / legal moves."""
    dirichlet_epsilon: float = 0.25
    """Self-play root noise: prior = (1 - epsilon) x prior + epsilon x noise."""
    resign_threshold: float | None = None
    """Self-play resigns when the root value and the best child's Q are below it; None: never."""
    no_resign_fraction: float = 0.1
    """Share of self-play games that never resign (to measure false resignations)."""

    RENAMED_KEYS: ClassVar[dict[str, str]] = {"temperature_moves": "opening_moves"}
    """Old config keys and their names now (dpv.config reports an old one as a ConfigError)."""

    def __post_init__(self) -> None:
        checks = [
            (self.c_puct >= 0, f"'c_puct' must be >= 0, got {self.c_puct}"),
            (1 <= self.leaves_per_tree <= 1024, f"'leaves_per_tree' must lie in [1, 1024], got {self.leaves_per_tree}"),
            (self.root in ("puct", "gumbel"), f"'root' must be puct or gumbel, got {self.root!r}"),
            (self.gumbel_max_actions >= 1, f"'gumbel_max_actions' must be >= 1, got {self.gumbel_max_actions}"),
            (self.gumbel_c_visit >= 0, f"'gumbel_c_visit' must be >= 0, got {self.gumbel_c_visit}"),
            (self.gumbel_c_scale >= 0, f"'gumbel_c_scale' must be >= 0, got {self.gumbel_c_scale}"),
            (self.opening_moves >= 0, f"'opening_moves' must be >= 0, got {self.opening_moves}"),
            (self.dirichlet_alpha_scale > 0, f"'dirichlet_alpha_scale' must be > 0, got {self.dirichlet_alpha_scale}"),
            (0 <= self.dirichlet_epsilon <= 1, f"'dirichlet_epsilon' must lie in [0, 1], got {self.dirichlet_epsilon}"),
            (self.resign_threshold is None or -1 <= self.resign_threshold <= 1,
             f"'resign_threshold' must lie in [-1, 1], got {self.resign_threshold}"),
            (0 <= self.no_resign_fraction <= 1,
             f"'no_resign_fraction' must lie in [0, 1], got {self.no_resign_fraction}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    def engine_config(self, role: Role) -> SearchConfig:
        """The go_engine.SearchConfig of these settings for `role` (see the module docstring)."""
        from go_engine import SearchConfig

        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
        selfplay = role == "selfplay"
        return SearchConfig(
            c_puct=self.c_puct, fpu_reduction=self.fpu_reduction, leaves_per_tree=self.leaves_per_tree,
            root=self.root, gumbel_max_actions=self.gumbel_max_actions, gumbel_c_visit=self.gumbel_c_visit,
            gumbel_c_scale=self.gumbel_c_scale, gumbel_every_move=selfplay,
            root_noise=selfplay, dirichlet_alpha_scale=self.dirichlet_alpha_scale,
            dirichlet_epsilon=self.dirichlet_epsilon, temperature=1.0, temperature_moves=self.opening_moves,
            reuse_tree=role != "match", resign_threshold=self.resign_threshold if selfplay else None,
            no_resign_fraction=self.no_resign_fraction, sensible_moves=self.sensible_moves)


def default_settings(role: Role) -> SearchSettings:
    """The settings `role` plays with when it is given none: self-play the class defaults;
    a match (arena) 4 opening plies and every legal move a candidate; GTP no opening
    sampling (a controller wants the engine's best move) and every legal move a candidate."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    if role == "match":
        return SearchSettings(opening_moves=4, sensible_moves=False)
    if role == "gtp":
        return SearchSettings(opening_moves=0, sensible_moves=False)
    return SearchSettings()
