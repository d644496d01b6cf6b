"""The engine config of `dpv gtp --config FILE` (configs/gtp-engine.yaml, commented), validated
into `GtpEngineConfig` by dpv.config: an unknown key or a bad value is a one-line ConfigError.
A command-line flag given overrides the file's key of the same name."""
from __future__ import annotations

import argparse
import dataclasses
import math
from dataclasses import dataclass

PLAYERS = ("mcts", "random")
DEFAULT_SIMULATIONS = 100.0


@dataclass(frozen=True)
class GtpEngineConfig:
    """How `dpv gtp` plays."""

    player: str = "mcts"
    """mcts: the search over a DPV network; random: uniform sensible moves."""
    checkpoint: str | None = None
    """The network (None: the newest runs/**/best.pt, else the shipped models/dpv-four.pt, else a fresh
    one; 'rollout': random playouts)."""
    exit: str = "-1"
    """Exit policy (dpv.play.exits): K (fixed exit, -1 = deepest), dynamic:TAU0,ALPHA or threshold:TAU."""
    sims: float | None = None
    """Budget per move in full-network simulations (None: 100, or with ms_per_move the analysis cap)."""
    ms_per_move: float | None = None
    """A fixed think time per move in milliseconds, within what the game's time control allows; None: none."""
    threads: int = 1
    """Torch CPU threads."""
    device: str = "cpu"
    """Torch device of the network (cpu, cuda)."""
    ponder: bool = False
    """Search on the opponent's time."""

    def __post_init__(self) -> None:
        from dpv.play.exits import parse_exit_policy

        if self.player not in PLAYERS:
            raise ValueError(f"'player' must be one of {', '.join(PLAYERS)}, got '{self.player}'")
        parse_exit_policy(self.exit)  # a bad policy is its one-line ValueError
        if self.sims is not None and not 1 <= self.sims < math.inf:
            raise ValueError(f"'sims' must be a finite number >= 1, got {self.sims}")
        if self.ms_per_move is not None and not 0 < self.ms_per_move < math.inf:
            raise ValueError(f"'ms_per_move' must be a positive number, got {self.ms_per_move}")
        if self.threads < 1:
            raise ValueError(f"'threads' must be >= 1, got {self.threads}")

    @property
    def simulations(self) -> float:
        """The budget per move: `sims`, else 100, else (a fixed think time) the analysis cap."""
        from dpv.play.player import MAX_ANALYSIS_VISITS

        if self.sims is not None:
            return self.sims
        return DEFAULT_SIMULATIONS if self.ms_per_move is None else float(MAX_ANALYSIS_VISITS)


def engine_config(args: argparse.Namespace) -> GtpEngineConfig:
    """`--config`'s file (or the defaults), with every flag given on the command line (not None) over it."""
    from dpv.config import ConfigError, load_config

    base = GtpEngineConfig() if args.config is None else load_config(args.config, GtpEngineConfig)
    given = {field.name: getattr(args, field.name) for field in dataclasses.fields(GtpEngineConfig)
             if getattr(args, field.name, None) is not None}
    try:
        return dataclasses.replace(base, **given)
    except ValueError as err:
        raise ConfigError(f"command line: {err}") from None
