"""`dpv study training`: the training-phase experiment of thesis 6.3.1 (Figures 6.6 and 6.7).

Four self-play runs from random weights, one after another, each in `OUT/runs/<variant>`:

- `weighted`: deep supervision over every exit, the deepest head weighted more (eq. 6.3),
  self-play at the deepest exit;
- `no-weight`: the same with equal weights;
- `multi-step`: self-play games from a different exit in each of four equal intervals of the
  study's steps, shallowest first (dpv.nets.schedule; `search.exit: 0` so that the games before
  the first cycle already come from exit 0). Its simulations follow the equal-FLOPs budget: a
  self-play move's budget is always `search.simulations` x the deepest exit's FLOPs, each leaf
  charged its own exit's FLOPs (dpv.selfplay.worker), so a shallow interval searches more
  simulations for the same compute per game. That is the thesis's premise for this chapter (an
  early-exit network at no extra training cost) and keeps the four runs' self-play cost equal;
  equal simulations would make the shallow intervals cheaper, which is another experiment;
- `baseline`: plain AlphaZero, the same trunk with one policy and one value head (the study's
  `baseline_net`, e.g. configs/net-four-baseline.yaml); with one head the loss is AlphaZero's.

Every run trains with the same fixed sample ratio (`learner.samples_per_position`), so at each
learner step every variant has trained the same steps on the same number of stored positions
(up to the games the workers have in hand when the learner falls behind: self-play pauses then,
dpv.selfplay.cycle), and keeps a checkpoint at every step the study names (a learner cycle
writes one, so the steps are multiples of `learner.steps`). The runs stop on their game count,
and a run starts no cycle once it reaches it: a run is relaunched with `--resume` and more games
until its learner reaches the last step (a relaunch trains the cycles its positions allow first).

Then each variant's deepest exit plays the baseline's checkpoint of the same step at each of the
study's simulations (equal simulations, the thesis's setting; colours alternating; dpv.arena's
match), Wilson 95 % intervals. The results: study.md, study.json and study.png (win rate against
training step, one line per variant, 50 % marked). Resumable: a run with summary.json and every
checkpoint is read, not relaunched; a match with its match.json is read, not replayed.
"""
from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

from dpv.arena.match import MatchConfig
from dpv.arena.stats import wilson_interval
from dpv.config import ConfigError, load_config, resolve_config_path
from dpv.nets.config import NetConfig, load_net_config
from dpv.selfplay.config import SelfPlayConfig, load_selfplay_config

VARIANTS = ("weighted", "no-weight", "multi-step", "baseline")
"""The study's variants (thesis 6.3.1); the baseline is every other variant's opponent."""
BASELINE = "baseline"
@dataclass
class TrainingStudyConfig:
    """`configs/study-training*.yaml`: the runs, the checkpoint steps and the matches."""

    selfplay: str = "local"
    """The base self-play config (a preset name or a path): network, loss, search, actors."""
    baseline_net: str | None = "net-four-baseline"
    """The baseline's network (a net preset or path): the base network's trunk with one exit;
    None: the base network with its last exit only."""
    variants: list[str] = field(default_factory=lambda: list(VARIANTS))
    """The variants to train; the baseline is trained whenever any is listed (the opponent)."""
    steps: list[int] = field(default_factory=lambda: [100, 200, 300, 400])
    """Learner steps at which every variant keeps a checkpoint and plays the baseline (ascending,
    multiples of the base config's learner.steps)."""
    samples_per_position: float = 4.0
    """learner.samples_per_position of every run: training samples per stored position."""
    simulations: list[float] = field(default_factory=lambda: [100.0, 200.0])
    """Simulations per move of both players in the matches (Figure 6.6: 100, Figure 6.7: 200)."""
    match: MatchConfig = field(default_factory=lambda: MatchConfig(games=20, budget="equal-sims"))
    """How every point's match is played: games per point, search settings, workers, executor;
    budget equal-sims (the thesis's; both players search at their deepest exit)."""

    def __post_init__(self) -> None:
        unknown = [v for v in self.variants if v not in VARIANTS]
        checks = [
            (not unknown, f"unknown variant {', '.join(map(repr, unknown))}: use {', '.join(VARIANTS)}"),
            (bool(self.variants) and len(set(self.variants)) == len(self.variants),
             f"'variants' must list each variant once, got {self.variants}"),
            (bool(self.steps) and all(s >= 1 for s in self.steps) and self.steps == sorted(set(self.steps)),
             f"'steps' must be ascending learner steps >= 1, got {self.steps}"),
            (self.samples_per_position > 0, f"'samples_per_position' must be > 0, got {self.samples_per_position}"),
            (bool(self.simulations) and all(s >= 1 for s in self.simulations),
             f"'simulations' must be numbers >= 1, got {self.simulations}"),
            (self.match.budget == "equal-sims",
             f"'match.budget' must be equal-sims (the thesis compares at equal simulations), got {self.match.budget}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    @property
    def trained(self) -> list[str]:
        """The variants to run, in VARIANTS order, the baseline included."""
        return [v for v in VARIANTS if v in self.variants or v == BASELINE]


def load_training_study(path: str | Path, variants: Sequence[str] | None = None) -> TrainingStudy:
    """The study of the YAML at `path` (a preset name or path), with `variants` (None: the
    file's) instead of the file's list; every bad key or value, the base self-play config's
    included, is a one-line ConfigError or ValueError before any run starts."""
    config = load_config(path, TrainingStudyConfig)
    if variants is not None:
        config = replace(config, variants=list(variants))
    try:
        return TrainingStudy.of(config)
    except ConfigError:
        raise
    except ValueError as err:
        raise ConfigError(f"{resolve_config_path(path)}: {err}") from None


@dataclass(frozen=True)
class TrainingStudy:
    """A validated study: its config and the self-play config of each variant to run."""

    config: TrainingStudyConfig
    runs: dict[str, SelfPlayConfig]
    """Variant -> its self-play config (the base with the variant's loss, schedule, network)."""

    @classmethod
    def of(cls, config: TrainingStudyConfig) -> TrainingStudy:
        """Build every variant's config from the base; a mismatch is a ValueError."""
        base = load_selfplay_config(config.selfplay)
        if config.baseline_net is None:
            baseline = replace(base.net, exits=[base.net.blocks])
        else:
            baseline = load_net_config(config.baseline_net)
            check_baseline(base.net, baseline)
        steps = base.learner.steps
        if any(s % steps for s in config.steps):
            raise ValueError(f"'steps' {config.steps} must be multiples of the self-play config's learner.steps "
                             f"({steps}): a checkpoint is written per cycle")
        if config.match.board_size != base.net.board_size or config.match.komi != base.search.komi:
            raise ValueError(f"'match.board_size' / 'match.komi' ({config.match.board_size}, {config.match.komi}) "
                             f"must be the self-play config's ({base.net.board_size}, {base.search.komi})")
        return cls(config, {v: variant_config(base, v, baseline, config) for v in config.trained})


def check_baseline(net: NetConfig, baseline: NetConfig) -> None:
    """The baseline must be `net`'s trunk (board, planes, blocks, channels) with one exit."""
    same = ("board_size", "input_planes", "blocks", "channels")
    differ = [k for k in same if getattr(net, k) != getattr(baseline, k)]
    if differ or baseline.exits != [net.blocks]:
        raise ValueError(f"'baseline_net' must be the self-play network's trunk with one exit after block "
                         f"{net.blocks}; it differs in {', '.join(differ) or 'exits'}")


def variant_config(base: SelfPlayConfig, variant: str, baseline: NetConfig,
                   study: TrainingStudyConfig) -> SelfPlayConfig:
    """The self-play config of `variant`: the base with the study's sample ratio and the
    variant's loss (weighted / no-weight), self-play exit schedule (multi-step) or network
    (baseline); see the module docstring."""
    learner = replace(base.learner, samples_per_position=study.samples_per_position, exit_schedule="fixed",
                      total_steps=None)
    search = replace(base.search, exit=-1)
    loss = replace(base.loss, variant="no-weight" if variant == "no-weight" else "weighted")
    if variant == "multi-step":
        learner = replace(learner, exit_schedule="multi-step", total_steps=study.steps[-1])
        search = replace(search, exit=0)
    net = baseline if variant == BASELINE else base.net
    return replace(base, net=net, loss=loss, search=search, learner=learner)


# ---------------------------------------------------------------------------------- the runs

def checkpoint_path(out: Path, variant: str, step: int) -> Path:
    """The checkpoint of `variant` at learner `step` in the study `out`."""
    return out / "runs" / variant / "checkpoints" / f"step-{step:08d}.pt"


def run_finished(out: Path, variant: str, steps: Sequence[int]) -> bool:
    """Whether the run of `variant` ended (summary.json) with a checkpoint at every step."""
    return (out / "runs" / variant / "summary.json").is_file() and all(
        checkpoint_path(out, variant, s).is_file() for s in steps)


def games_for(cfg: SelfPlayConfig, step: int, games: int, positions: int) -> int:
    """The game limit of the next launch of a run that stored `games` games of `positions`
    positions: enough, at its positions per game so far, for the sample ratio to allow one cycle
    beyond `step` learner steps, plus the games the workers play at once (a run starts no cycle
    once it reaches its game limit, and the games in hand finish while self-play pauses for the
    learner, so the cycle that reaches `step` must be due before), and one game more than now.
    Before the first game it assumes the move cap's positions per game: the first launch stops
    short rather than past `step`, and the next one plays on at the rate measured."""
    needed = math.ceil((step + cfg.learner.steps) * cfg.learner.batch_size / cfg.learner.samples_per_position)
    move_cap = cfg.search.max_moves or 2 * cfg.net.board_size ** 2  # go_engine.Board's default cap
    per_game = positions / games if games else move_cap
    in_hand = cfg.worker.workers * cfg.worker.games
    return max(cfg.learner.min_games, games + 1, games + math.ceil((needed - positions) / per_game)) + in_hand


def train_variant(cfg: SelfPlayConfig, run_dir: Path, last_step: int, address: str | None = None,
                  stream: TextIO | None = None) -> None:
    """Launch (and relaunch with `--resume` and more games) the self-play run in `run_dir`
    until its learner has passed `last_step`."""
    from dpv.selfplay.launch import launch
    from dpv.selfplay.learner import latest_step

    stream = stream or sys.stderr
    summary_file = run_dir / "summary.json"
    while latest_step(run_dir / "checkpoints") < last_step:
        done = json.loads(summary_file.read_text()) if summary_file.is_file() else {"games": 0, "positions": 0}
        limit = games_for(cfg, last_step, done["games"], done["positions"])
        print(f"  {run_dir.name}: self-play to {limit} games (step {latest_step(run_dir / 'checkpoints')} of "
              f"{last_step})", file=stream, flush=True)
        launch(cfg, run_dir, address, max_games=limit, resume=(run_dir / "config.yaml").is_file())


# ------------------------------------------------------------------------------- the matches

@dataclass(frozen=True)
class StudyPoint:
    """One match: a variant's deepest exit against the baseline at the same learner step."""

    variant: str
    step: int
    simulations: float
    wins: float
    """The variant's wins plus half its draws."""
    games: int
    read_back: bool = False
    """Whether the match was read from its match.json instead of played now."""

    @property
    def win_rate(self) -> float:
        """The variant's share of the points."""
        return self.wins / self.games

    @property
    def interval(self) -> tuple[float, float]:
        """Wilson 95 % interval of the win rate."""
        return wilson_interval(self.wins, self.games)

    def to_dict(self) -> dict[str, Any]:
        """Plain form for study.json."""
        low, high = self.interval
        return {"variant": self.variant, "step": self.step, "simulations": self.simulations, "wins": self.wins,
                "games": self.games, "win_rate": self.win_rate, "wilson95": [low, high]}


def match_folder(out: Path, variant: str, step: int, sims: float) -> Path:
    """Where the match of `variant` at `step` and `sims` keeps its SGFs and match.json."""
    return out / "matches" / f"{variant}-step{step:08d}-sims{sims:g}"


def play_point(out: Path, variant: str, step: int, sims: float, match: MatchConfig, seed: int) -> StudyPoint:
    """The match of `variant` against the baseline at `step` and `sims`: read from its
    match.json when played before, else played now (dpv.arena.match.run_match)."""
    from dpv.arena.match import run_match
    from dpv.arena.spec import PlayerSpec

    folder = match_folder(out, variant, step, sims)
    done = folder / "match.json"
    if done.is_file():
        data = json.loads(done.read_text())
        return StudyPoint(variant, step, sims, data["a"]["wins"] + data["draws"] / 2, data["games"], read_back=True)
    players = [PlayerSpec(exit="-1", simulations=sims, checkpoint=str(checkpoint_path(out, v, step)), name=v)
               for v in (variant, BASELINE)]
    report = run_match(*players, replace(match, seed=seed), out=folder, show_progress=False)
    return StudyPoint(variant, step, sims, report.a_points, report.games)


# -------------------------------------------------------------------------------- the driver

@dataclass
class StudyResult:
    """Every point played so far and each run's totals."""

    points: list[StudyPoint] = field(default_factory=list)
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Variant -> games, positions and learner step of its run (its summary.json)."""


def run_training_study(study: TrainingStudy, out: str | Path, address: str | None = None,
                       stream: TextIO | None = None, clock: Callable[[], float] = time.monotonic,
                       train_only: bool = False) -> StudyResult:
    """Train every variant (finished runs read back), play every point (finished matches read
    back), and write study.md, study.json and study.png under `out`; progress lines with an ETA
    go to `stream` (stderr). `train_only`: stop after the runs (no match, no report), e.g. to
    train on a cluster and play the matches later, or to train the riskiest variant first."""
    stream = stream or sys.stderr
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    config = study.config
    last = config.steps[-1]
    todo = [v for v in config.trained if not run_finished(out, v, config.steps)]
    start = clock()
    for n, variant in enumerate(todo):
        eta = f", ETA {_duration((clock() - start) / n * (len(todo) - n))}" if n else ""
        print(f"dpv study training: run {n + 1}/{len(todo)} {variant} to step {last}{eta}", file=stream, flush=True)
        train_variant(study.runs[variant], out / "runs" / variant, last, address, stream)
    result = StudyResult(runs={v: _run_totals(out / "runs" / v) for v in config.trained})
    if train_only:
        return result
    grid = [(v, s, sims) for sims in config.simulations for s in config.steps for v in config.trained if v != BASELINE]
    start, played = clock(), 0
    for k, (variant, step, sims) in enumerate(grid):
        left = len(grid) - k
        eta = f", ETA {_duration((clock() - start) / played * left)}" if played else ""
        point = play_point(out, variant, step, sims, config.match, config.match.seed + 7919 * _point_index(
            config, variant, step, sims))
        played += not point.read_back
        result.points.append(point)
        low, high = point.interval
        again = " (read back)" if point.read_back else ""
        print(f"dpv study training: [{k + 1}/{len(grid)}{eta}] {variant} vs baseline, step {step}, {sims:g} sims: "
              f"{point.win_rate:.0%} [{low:.0%}, {high:.0%}] of {point.games}{again}", file=stream, flush=True)
        save_study(result, config, out, plot=False)  # the points so far survive an interruption
    save_study(result, config, out)
    return result


def _point_index(config: TrainingStudyConfig, variant: str, step: int, sims: float) -> int:
    """A point's place in the full grid (all variants), so its match seed does not depend on
    which variants a command names."""
    return (VARIANTS.index(variant) * len(config.steps) + config.steps.index(step)) * len(config.simulations) + \
        config.simulations.index(sims)


def _run_totals(run_dir: Path) -> dict[str, Any]:
    """Games, positions and learner step of a run's summary.json."""
    data = json.loads((run_dir / "summary.json").read_text())
    return {key: data[key] for key in ("games", "positions", "learner_step")}


def _duration(seconds: float) -> str:
    """`1h 02m`, `3m 05s` or `12s`."""
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m {seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


# -------------------------------------------------------------------------------- the report

def study_markdown(result: StudyResult, config: TrainingStudyConfig) -> str:
    """study.md: per simulation budget, the win rate of each variant against the baseline at
    every step, with its Wilson 95 % interval; then each run's totals."""
    lines = ["# Training study (thesis 6.3.1, Figures 6.6 and 6.7)", "",
             f"Base self-play config `{config.selfplay}`, baseline `{config.baseline_net}`, "
             f"{config.samples_per_position:g} samples per position, {config.match.games} games per point; "
             "each variant's deepest exit against the baseline at the same learner step, equal simulations.", ""]
    for sims in config.simulations:
        lines += [f"## {sims:g} simulations", "", "| variant | " + " | ".join(f"step {s}" for s in config.steps) + " |",
                  "|---|" + "---|" * len(config.steps)]
        for variant in dict.fromkeys(p.variant for p in result.points):
            cells = {p.step: p for p in result.points if p.variant == variant and p.simulations == sims}
            row = [f"{c.win_rate:.0%} [{c.interval[0]:.0%}, {c.interval[1]:.0%}]" if (c := cells.get(s)) else "-"
                   for s in config.steps]
            lines.append(f"| {variant} | " + " | ".join(row) + " |")
        lines.append("")
    lines += ["## Runs", "", "| variant | games | positions | learner step |", "|---|---|---|---|"]
    lines += [f"| {v} | {r['games']} | {r['positions']} | {r['learner_step']} |" for v, r in result.runs.items()]
    return "\n".join(lines) + "\n"


def save_study(result: StudyResult, config: TrainingStudyConfig, out: Path, plot: bool = True) -> None:
    """Write study.json and study.md (and study.png with `plot`) under `out`."""
    from dpv.config import to_dict

    data = {"config": to_dict(config), "runs": result.runs, "points": [p.to_dict() for p in result.points]}
    (out / "study.json").write_text(json.dumps(data, indent=1))
    (out / "study.md").write_text(study_markdown(result, config))
    if plot:
        plot_study(result, config, out / "study.png")


def plot_study(result: StudyResult, config: TrainingStudyConfig, path: Path) -> None:
    """study.png: one panel per simulation budget, win rate against learner step, one line per
    variant with its Wilson 95 % interval, 50 % marked (the shape of Figures 6.6 and 6.7)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(config.simulations), figsize=(5.5 * len(config.simulations), 4), squeeze=False)
    for ax, sims in zip(axes[0], config.simulations):
        for variant in dict.fromkeys(p.variant for p in result.points):
            points = [p for p in result.points if p.variant == variant and p.simulations == sims]
            rates = [100 * p.win_rate for p in points]
            errors = [[r - 100 * p.interval[0] for r, p in zip(rates, points)],
                      [100 * p.interval[1] - r for r, p in zip(rates, points)]]
            ax.errorbar([p.step for p in points], rates, yerr=errors, marker="o", capsize=3, label=variant)
        ax.axhline(50, color="grey", linestyle="--", linewidth=1)
        ax.set(title=f"{sims:g} simulations", xlabel="learner steps", ylabel="win rate vs baseline (%)", ylim=(0, 100))
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


__all__ = ["ConfigError", "TrainingStudy", "TrainingStudyConfig", "load_training_study", "run_training_study"]
