"""`dpv study exits`: the inference study of thesis section 6.3.2 on one network.

Table 6.2: every shallow exit k plays the deepest exit, (a) with the same number of
simulations (exit k runs `sims` evaluations at exit k, budget mode equal-sims) and (b) with the
same computation budget (`sims x FLOPs(deepest)` per move, equal-flops), at each budget in
`sims`. Table 6.3: at equal budgets, the dynamic exit with the budget-adaptive threshold
`tau = tau0 + alpha * r` (eq. 6.5) and the fixed threshold (alpha = 0) each play the single
best exit of Table 6.2's equal-budget row (the deepest exit counts as 50%). tau0 / alpha and
the fixed tau are tuned first ("through self-play evaluation", 6.3.2) by successive halving
(dpv.arena.tuner) against the best exit at the tuning budget: each kind's grid gets `tune_games`
games per candidate in all, and the rounds give them to the candidates still in the running;
the best candidate is then measured on fresh games (another seed). `policies` (e.g. a depth
policy) join Table 6.3 as they are, untuned. A match whose `match.json` is already in the
run directory is read instead of played again, so an interrupted study resumes with `--out`.
With `grid_quantiles` (the default) the tau0 and tau grids are quantiles of the shallowest
exit's confidence c = max_j p_j (eq. 6.4) on positions of the Table 6.2 games, taken over the
moves play takes it over (the sensible moves with `match.search.sensible_moves`, else the legal
ones; every action with `confidence: all`), so that they suit any network; alpha is absolute.
With `budget: equal-time` (`--budget equal-time --ms-per-move M`) the equal-budget row of
Table 6.2, the tuning and Table 6.3 give every player `ms_per_move` milliseconds of the clock
per move instead of the same FLOPs (dpv.arena.spec; `sims` is then one round of the timed
search, what eq. 6.5's r counts). Writes study.md, study.json and study.png.
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

from dpv.arena.match import MatchConfig, prepare_out, run_dir, run_match
from dpv.arena.report import MatchReport, distinct_games, write_json
from dpv.arena.spec import PlayerSpec, snapshot_checkpoint
from dpv.arena.stats import wilson_interval
from dpv.arena.tuner import minimum_budget, successive_halving
from dpv.config import load_config
from dpv.play.exits import parse_exit_policy
from dpv.play.networks import default_network, network_flops

# Thesis Tables 6.2 and 6.3 (15-block network, exits 0-2 against exit 3, 500 games per cell).
THESIS_TABLE_6_2 = {
    100: {"equal-sims": [40.0, 54.0, 52.8], "equal-flops": [73.4, 70.6, 58.4]},
    200: {"equal-sims": [36.8, 47.8, 47.4], "equal-flops": [67.4, 72.0, 60.2]},
}
THESIS_TABLE_6_3 = {100: {"dynamic": 52.6, "threshold": 46.6}, 200: {"dynamic": 53.4, "threshold": 47.2}}
SETTING_NAMES = {"equal-sims": "Same number of simulations", "equal-flops": "Same computation budgets",
                 "equal-time": "Same time per move"}
STUDY_BUDGETS = ("equal-flops", "equal-time")
"""The budgets of the study's equal-budget matches (Table 6.2's second row, the tuning, Table 6.3)."""
COLLAB_TUNED = "collab:tuned"
"""A `policies` entry: the tuned dynamic policy's tau0 / alpha with collaborative exits (a leaf
takes the mean logits of the exits it passed, thesis 7.2.3), at no extra FLOPs."""


@dataclass
class StudyConfig:
    """What `dpv study exits` plays. `match` says how each game is played (its `games` and
    `budget` are set per cell)."""

    sims: list[float] = field(default_factory=lambda: [100.0, 200.0])
    games: int = 100
    """Games per table cell (500 in the thesis)."""
    tune_games: int = 20
    """Games per candidate of a grid: its tuning budget is tune_games x candidates games, spent by
    successive halving (the better candidates play more of them)."""
    policies: list[str] = field(default_factory=list)
    """More exit policies (text form, dpv.play.exits, or COLLAB_TUNED) played against the best
    exit in Table 6.3."""
    tune_sims: float | None = None
    """Budget at which tau0 / alpha / tau are tuned (None: the first of `sims`)."""
    tau0_grid: list[float] = field(default_factory=lambda: [0.25, 0.5, 0.75])
    alpha_grid: list[float] = field(default_factory=lambda: [0.1, 0.3])
    threshold_grid: list[float] = field(default_factory=lambda: [0.25, 0.5, 0.75, 0.9])
    grid_quantiles: bool = True
    """tau0_grid and threshold_grid are quantiles of the exit-0 confidence (see above), not
    thresholds."""
    confidence: str = "legal"
    """The confidence of the tuned policies (go_engine.ExitPolicy.confidence): "legal", over the
    moves the search expands, or "all", the softmax over every action (eq. 6.4 as it reads)."""
    budget: str = "equal-flops"
    """The budget of the equal-budget matches: equal-flops (the thesis's) or equal-time."""
    ms_per_move: float | None = None
    """Milliseconds of the clock per move with budget equal-time (required there, else None)."""
    match: MatchConfig = field(default_factory=MatchConfig)

    def __post_init__(self) -> None:
        checks = [
            (self.budget in STUDY_BUDGETS, f"budget must be one of {', '.join(STUDY_BUDGETS)}, got {self.budget!r}"),
            ((self.budget == "equal-time") == (self.ms_per_move is not None),
             "ms_per_move (--ms-per-move M) goes with budget equal-time, and only with it"),
            (self.ms_per_move is None or self.ms_per_move > 0, f"ms_per_move must be > 0, got {self.ms_per_move}"),
            (bool(self.sims) and all(s >= 1 for s in self.sims), "sims must be a non-empty list of budgets >= 1"),
            (self.games >= 1 and self.tune_games >= 1, "games and tune_games must be >= 1"),
            (self.tune_sims is None or self.tune_sims in self.sims, "tune_sims must be one of sims"),
            (bool(self.tau0_grid) and bool(self.alpha_grid) and bool(self.threshold_grid),
             "the tuning grids must not be empty"),
            (not self.grid_quantiles or all(0 <= q <= 1 for q in self.tau0_grid + self.threshold_grid),
             "with grid_quantiles, tau0_grid and threshold_grid hold quantiles in [0, 1]"),
            (self.confidence in ("legal", "all"), "confidence must be 'legal' or 'all'"),
            (all(self.tune_games * n >= minimum_budget(n)
                 for n in (len(self.tau0_grid) * len(self.alpha_grid), len(self.threshold_grid))),
             "tune_games is too small for successive halving over these grids (one game per candidate and round)"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)
        for policy in self.policies:  # an unknown one fails now, not hours into the study
            if policy != COLLAB_TUNED:
                try:
                    parse_exit_policy(policy)
                except ValueError as err:
                    raise ValueError(f"policies: {err} ({COLLAB_TUNED!r} is also accepted)") from None


def load_study_config(path: str) -> StudyConfig:
    """A StudyConfig from YAML (configs/study-exits.yaml)."""
    return load_config(path, StudyConfig)


@dataclass
class Cell:
    """One match of the study, from the first player's side."""

    player: str
    opponent: str
    wins: float
    games: int
    flops_per_move: float
    simulations_per_move: float
    opponent_simulations_per_move: float
    distinct: int | None = None
    """Games whose move sequences differ (dpv.arena.report.distinct_games); None: not known."""

    @property
    def rate(self) -> float:
        return self.wins / self.games

    @property
    def interval(self) -> tuple[float, float]:
        return wilson_interval(self.wins, self.games)

    @classmethod
    def of(cls, report: MatchReport) -> Cell:
        mine, theirs = report.totals("a"), report.totals("b")
        return cls(report.a.exit, report.b.exit, report.a_points, report.games, mine.flops / max(1, mine.moves),
                   mine.simulations / max(1, mine.moves), theirs.simulations / max(1, theirs.moves),
                   report.distinct_games)

    def text(self) -> str:
        low, high = self.interval
        distinct = "" if self.distinct is None else f" ({self.distinct} distinct)"
        return f"{self.rate:.1%} [{low:.0%}, {high:.0%}] n={self.games}{distinct}"

    @classmethod
    def from_match_json(cls, path: Path) -> tuple[Cell, list[list[int]]]:
        """A cell from a finished match's `match.json`, and the moves of its games (from the
        SGF files beside it)."""
        from dpv.sgf import read_sgf_file

        d = json.loads(path.read_text())
        moves = [read_sgf_file(f).moves for f in sorted(path.parent.glob("game-*.sgf"))]
        cell = cls(d["a"]["exit"], d["b"]["exit"], d["a"]["wins"] + d["draws"] / 2, d["games"],
                   d["a"]["flops_per_move"], d["a"]["simulations_per_move"], d["b"]["simulations_per_move"],
                   distinct_games(moves) if len(moves) == d["games"] else None)
        return cell, moves

    def to_dict(self) -> dict[str, Any]:
        low, high = self.interval
        return {"player": self.player, "opponent": self.opponent, "wins": self.wins, "games": self.games,
                "win_rate": self.rate, "wilson95": [low, high], "flops_per_move": self.flops_per_move,
                "simulations_per_move": self.simulations_per_move,
                "opponent_simulations_per_move": self.opponent_simulations_per_move, "distinct": self.distinct}


@dataclass
class StudyResult:
    """Both tables, the tuning runs and where they were written."""

    network: str
    exit_flops: list[float]
    config: StudyConfig
    table_6_2: dict[float, dict[str, list[Cell]]] = field(default_factory=dict)
    best_exit: dict[float, int] = field(default_factory=dict)
    table_6_3: dict[float, dict[str, Cell]] = field(default_factory=dict)
    tuning: dict[str, list[Cell]] = field(default_factory=dict)
    """Per kind, each candidate's games over all its halving rounds (grid order)."""
    tuning_games: dict[str, dict[str, int]] = field(default_factory=dict)
    """Per kind, the tuning's "budget" and the games "spent"."""
    tuned: dict[str, str] = field(default_factory=dict)
    confidence_quantiles: dict[str, float] = field(default_factory=dict)
    """Quantile -> exit-0 confidence on the Table 6.2 positions (grid_quantiles)."""
    out: str = ""

    def markdown(self) -> str:
        """Both tables in the thesis's layout, with game counts, Wilson 95% intervals and the
        thesis's numbers beside them."""
        k = len(self.exit_flops)
        cfg = self.config
        rel = ", ".join(f"exit {i}: {f / self.exit_flops[-1]:.1%}" for i, f in enumerate(self.exit_flops))
        lines = ["# DPV-MCTS inference study (thesis 6.3.2)", "",
                 f"Network `{self.network}`: {k} exits, relative FLOPs {rel}. {cfg.games} games per cell, "
                 f"colours alternating, first {cfg.match.search.opening_moves} plies sampled by visit count, "
                 f"move cap {cfg.match.max_moves or 'of the board (2 x size^2)'}"
                 + (", no own-eye filling and no pass while other moves are left"
                    if cfg.match.search.sensible_moves else "")
                 + ", win rates of the first-named player with Wilson 95% intervals. "
                 f"Equal budgets: {self.budget_text()}.", "",
                 f"## Table 6.2: shallow exits against the deepest exit (exit {k - 1})", "",
                 "| Simulations | Setting | " + " | ".join(f"Exit {i}" for i in range(k - 1)) + " |",
                 "|---|---|" + "---|" * (k - 1)]
        for sims, rows in sorted(self.table_6_2.items()):
            for n, (setting, cells) in enumerate(rows.items()):
                first = f"{sims:g}" if n == 0 else ""
                lines.append(f"| {first} | {SETTING_NAMES[setting]} | " + " | ".join(c.text() for c in cells) + " |")
        lines += ["", "Thesis (15 blocks, exits 0-2 against exit 3, 500 games per cell):", "",
                  "| Simulations | Setting | Exit 0 | Exit 1 | Exit 2 |", "|---|---|---|---|---|"]
        for sims, rows in THESIS_TABLE_6_2.items():
            for setting, values in rows.items():
                lines.append(f"| {sims} | {SETTING_NAMES[setting]} | " + " | ".join(f"{v:.1f}%" for v in values) + " |")
        lines += ["", "Simulations per move at equal budgets, shallow exit vs deepest (terminal visits, which cost "
                  "nothing, included): " + "; ".join(
                      f"{sims:g}: " + ", ".join(
                          f"exit {i} {c.simulations_per_move:.0f} vs {c.opponent_simulations_per_move:.0f}"
                          for i, c in enumerate(rows[cfg.budget]))
                      for sims, rows in sorted(self.table_6_2.items()))]
        lines += ["", "## Table 6.3: dynamic exit selection against the single best exit (equal budgets)", "",
                  f"Tuned at {self.tune_budget():g} simulations by successive halving ("
                  + ", ".join(f"{kind}: {g['spent']} of {g['budget']} games" for kind, g in self.tuning_games.items())
                  + "): "
                  f"dynamic `{self.tuned.get('dynamic', '-')}`, fixed threshold `{self.tuned.get('threshold', '-')}`"
                  + (" (grids from quantiles of the exit-0 confidence on Table 6.2 positions: "
                     + ", ".join(f"q{float(q):g} = {c:.3f}" for q, c in self.confidence_quantiles.items()) + ")"
                     if self.confidence_quantiles else "") + ".", "",
                  "| Simulation count | Best single exit | Dynamic | Dynamic (w/o dynamic threshold) |"
                  + "".join(f" `{self.played(p)}` |" for p in cfg.policies),
                  "|---|---|---|---|" + "---|" * len(cfg.policies)]
        for sims, row in sorted(self.table_6_3.items()):
            lines.append(f"| {sims:g} | exit {self.best_exit[sims]} | " + " | ".join(
                row[kind].text() for kind in ["dynamic", "threshold", *cfg.policies] if kind in row) + " |")
        lines += ["", "Thesis: " + "; ".join(f"{s} simulations: dynamic {v['dynamic']}%, w/o dynamic threshold "
                                             f"{v['threshold']}%" for s, v in THESIS_TABLE_6_3.items()), "",
                  "Tuning (each candidate against the best exit, all its halving rounds):", "",
                  "| candidate | win rate | games |", "|---|---|---|"]
        for cells in self.tuning.values():
            lines += [f"| {c.player} | {c.text()} | {c.games} |" for c in cells]
        return "\n".join(lines) + "\n"

    def played(self, policy: str) -> str:
        """A `policies` entry as it is played: COLLAB_TUNED is the tuned dynamic policy's
        collaborative twin (itself until the tuning is done)."""
        if policy == COLLAB_TUNED and "dynamic" in self.tuned:
            return "collab:" + self.tuned["dynamic"].removeprefix("dynamic:")
        return policy

    def budget_text(self) -> str:
        """What "equal budgets" means in this study's matches."""
        if self.config.budget == "equal-time":
            return (f"{self.config.ms_per_move:g} ms of the clock per move (equal-time; each player searches rounds "
                    f"of its sims budget until the time is up)")
        return "the same FLOPs per move, sims x FLOPs(deepest exit) (equal-flops)"

    def tune_budget(self) -> float:
        """The budget at which tau0 / alpha / tau are tuned."""
        return self.config.tune_sims or self.config.sims[0]

    def to_dict(self) -> dict[str, Any]:
        """Everything as plain JSON values."""
        from dpv.config import to_dict

        return {
            "network": self.network, "exit_flops": self.exit_flops, "config": to_dict(self.config),
            "table_6_2": {f"{s:g}": {setting: [c.to_dict() for c in cells] for setting, cells in rows.items()}
                          for s, rows in self.table_6_2.items()},
            "best_exit": {f"{s:g}": k for s, k in self.best_exit.items()},
            "table_6_3": {f"{s:g}": {kind: c.to_dict() for kind, c in row.items()}
                          for s, row in self.table_6_3.items()},
            "tuning": {kind: [c.to_dict() for c in cells] for kind, cells in self.tuning.items()},
            "tuning_games": self.tuning_games, "tuned": self.tuned, "confidence_quantiles": self.confidence_quantiles,
            "thesis": {"table_6_2": THESIS_TABLE_6_2, "table_6_3": THESIS_TABLE_6_3},
        }


class ExitStudy:
    """Plays the study's matches one after another (each spread over Ray workers)."""

    def __init__(self, config: StudyConfig, network: str, out: Path) -> None:
        self.config, self.network, self.out = config, network, out
        self.flops = network_flops(network)
        self.result = StudyResult(network, self.flops, config, out=str(out))
        self._matches = 0
        self.games: list[list[int]] = []  # moves of the Table 6.2 games

    def match(self, a: str, b: str, sims: float, budget: str, games: int, folder: str) -> Cell:
        """Exit policy `a` against `b` at `sims`; each match gets its own seed."""
        self._matches += 1
        done = self.out / folder / "match.json"
        if done.exists():  # played by an earlier, interrupted run into the same directory
            print(f"  {folder}: reusing {done}", file=sys.stderr)
            cell, moves = Cell.from_match_json(done)
        else:
            config = replace(self.config.match, games=games, budget=budget,
                             ms_per_move=self.config.ms_per_move if budget == "equal-time" else None,
                             seed=self.config.match.seed + 7919 * self._matches)
            players = [PlayerSpec(exit=e, simulations=sims, checkpoint=self.network) for e in (a, b)]
            report = run_match(*players, config, out=self.out / folder, title=f"{folder}: ")
            cell, moves = Cell.of(report), [o.moves for o in report.outcomes]
        if folder.startswith("t62"):
            self.games += moves
        save_study(self.result, self.out, plot=False)  # the cells done so far survive an interruption
        return cell

    def table_6_2(self, sims: float) -> None:
        """Table 6.2's rows at `sims`: every shallow exit against the deepest, equal
        simulations and equal budgets; the best exit of the equal-budget row (ties: deeper)."""
        deepest = len(self.flops) - 1
        self.result.table_6_2[sims] = {
            setting: [self.match(str(k), str(deepest), sims, setting, self.config.games,
                                 f"t62-sims{sims:g}-{setting}-exit{k}") for k in range(deepest)]
            for setting in ("equal-sims", self.config.budget)}
        rates = [c.rate for c in self.result.table_6_2[sims][self.config.budget]] + [0.5]
        self.result.best_exit[sims] = max(range(len(rates)), key=lambda k: (rates[k], k))

    def tune(self) -> None:
        """Pick tau0 / alpha (dynamic) and tau (fixed threshold) against the best exit."""
        sims = self.result.tune_budget()
        best = str(self.result.best_exit.get(sims, len(self.flops) - 1))
        tau0s, taus = self.config.tau0_grid, self.config.threshold_grid
        suffix = "/all" if self.config.confidence == "all" else ""
        if self.config.grid_quantiles:
            wanted = sorted(set(tau0s + taus))
            values = dict(zip(wanted, exit_confidence_quantiles(self.network, self.games, wanted, self.config.match,
                                                                self.config.confidence)))
            self.result.confidence_quantiles = {f"{q:g}": round(v, 4) for q, v in values.items()}
            tau0s, taus = [values[q] for q in tau0s], [values[q] for q in taus]
        candidates = {
            "dynamic": [f"dynamic:{t:.3g},{a:g}{suffix}" for t in tau0s for a in self.config.alpha_grid],
            "threshold": [f"threshold:{t:.3g}{suffix}" for t in taus],
        }
        for kind, policies in candidates.items():
            policies = list(dict.fromkeys(policies))  # equal quantiles give one candidate
            rounds: list[tuple[str, Cell]] = []
            outcome = successive_halving(policies, self.config.tune_games * len(policies),
                                         partial(self._tuning_match, best, sims, rounds))
            self.result.tuning[kind] = [pooled([r for p, r in rounds if p == policy], policy) for policy in policies]
            self.result.tuning_games[kind] = {"budget": outcome.budget, "spent": outcome.games_spent}
            self.result.tuned[kind] = outcome.best

    def _tuning_match(self, best: str, sims: float, log: list[tuple[str, Cell]], policy: str, games: int,
                      round: int) -> tuple[float, int]:
        """One tuning round's match of `policy` against the best exit, logged in `log`."""
        cell = self.match(policy, best, sims, self.config.budget, games, f"tune-r{round}-{folder_name(policy)}")
        log.append((policy, cell))
        return cell.wins, cell.games

    def table_6_3(self, sims: float) -> None:
        """Table 6.3's row at `sims`: the tuned dynamic and fixed-threshold policies against
        the best exit, on fresh games."""
        best = str(self.result.best_exit[sims])
        self.result.table_6_3[sims] = {
            kind: self.match(policy, best, sims, self.config.budget, self.config.games, f"t63-sims{sims:g}-{name}")
            for kind, policy, name in [(k, self.result.tuned[k], k) for k in ("dynamic", "threshold")]
            + [(p, self.result.played(p), folder_name(self.result.played(p))) for p in self.config.policies]}

    def run(self) -> None:
        """Both tables, budget by budget, the tuning budget first: an interrupted study has
        complete rows of both tables for the budgets it finished."""
        first = self.result.tune_budget()
        for n, sims in enumerate([first] + [s for s in self.config.sims if s != first]):
            self.table_6_2(sims)
            if n == 0:
                self.tune()
            self.table_6_3(sims)
            save_study(self.result, self.out)


def run_exit_study(config: StudyConfig, checkpoint: str | None = None, out: str | Path | None = None,
                   runs: str | Path = "runs") -> StudyResult:
    """Play both tables on `checkpoint` (default: the newest best.pt under `runs`, else a fresh
    tiny network) and write study.md, study.json and study.png under `out`."""
    out = prepare_out(out) if out is not None else run_dir("study-exits", runs)
    source = default_network(checkpoint, out / "fresh-net.pt", runs=runs, seed=config.match.seed)
    study = ExitStudy(config, snapshot_checkpoint(source, out), out)
    study.result.network = source
    if len(study.flops) < 2:
        raise ValueError(f"{source}: the exit study needs a network with at least two exits")
    cells = len(config.sims) * (2 * (len(study.flops) - 1) + 2) * config.games
    tuning = (len(config.tau0_grid) * len(config.alpha_grid) + len(config.threshold_grid)) * config.tune_games
    cells += len(config.sims) * len(config.policies) * config.games
    print(f"dpv study exits: {cells + tuning} games ({cells} in the tables, {tuning} tuning), results in {out}/",
          file=sys.stderr)
    study.run()
    return study.result


def folder_name(policy: str) -> str:
    """An exit-policy spec as a directory name."""
    return policy.replace(":", "-").replace(",", "-").replace("/", "-")


def pooled(cells: list[Cell], player: str) -> Cell:
    """One cell of `player`'s matches `cells` (its tuning rounds): points and games summed, the
    per-move figures weighted by games."""
    games = sum(c.games for c in cells)

    def mean(values: list[float]) -> float:
        return sum(v * c.games for v, c in zip(values, cells)) / games if games else 0.0

    return Cell(player, cells[0].opponent if cells else "", sum(c.wins for c in cells), games,
                mean([c.flops_per_move for c in cells]), mean([c.simulations_per_move for c in cells]),
                mean([c.opponent_simulations_per_move for c in cells]))


def save_study(result: StudyResult, out: Path, plot: bool = True) -> None:
    """Write study.md, study.json and (with `plot`) study.png under `out`."""
    (out / "study.md").write_text(result.markdown())
    write_json(out / "study.json", result.to_dict())
    if plot:
        plot_study(result, out / "study.png")


def exit_confidence_quantiles(network: str, games: list[list[int]], quantiles: list[float], match: MatchConfig,
                              confidence: str = "legal", max_positions: int = 4096) -> list[float]:
    """Quantiles of the shallowest exit's confidence c = max_j p_j (eq. 6.4) on the positions of
    `games` (at most `max_positions`, evenly spaced), over the moves the search passes to the exit
    decision: the sensible moves under `match.search.sensible_moves`, else the legal ones, or
    (`confidence` "all") every action."""
    import numpy as np
    import torch

    from dpv.nets.checkpoint import load_checkpoint
    from dpv.nets.model import confidence as exit_confidence
    from go_engine import Board

    positions = [(g, n) for g, moves in enumerate(games) for n in range(len(moves))]
    if not positions:
        raise ValueError("no positions to measure exit confidences on")
    chosen = {positions[i] for i in np.linspace(0, len(positions) - 1, min(max_positions, len(positions))).astype(int)}
    planes, legal = [], []
    for g, moves in enumerate(games):
        board = Board(match.board_size, match.komi, max_moves=match.max_moves)
        for n, action in enumerate(moves):
            if (g, n) in chosen:
                planes.append(board.planes())
                legal.append(board.sensible_actions() if match.search.sensible_moves else board.legal_actions())
            board.play(action)
    device = match.device
    model = load_checkpoint(network, device=device).model.eval()
    conf = []
    with torch.inference_mode():
        for i in range(0, len(planes), 512):
            x = torch.from_numpy(np.stack(planes[i:i + 512]).astype(np.float32)).to(device)
            mask = None if confidence == "all" else torch.from_numpy(np.stack(legal[i:i + 512])).to(device)
            conf.append(exit_confidence(model.forward_exit(x, 0)[0], mask).cpu().numpy())
    return [float(v) for v in np.quantile(np.concatenate(conf), quantiles)]


def plot_study(result: StudyResult, path: Path) -> None:
    """Bar charts of both tables with Wilson 95% error bars and the thesis's values as marks."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5), gridspec_kw={"width_ratios": [2, 1]})
    groups = [(sims, setting) for sims in sorted(result.table_6_2) for setting in ("equal-sims", result.config.budget)]
    shallow = len(result.exit_flops) - 1
    width = 0.8 / max(1, shallow)
    for k in range(shallow):
        cells = [result.table_6_2[s][setting][k] for s, setting in groups]
        xs = [i + (k - (shallow - 1) / 2) * width for i in range(len(groups))]
        _bars(left, xs, cells, width, f"exit {k}")
        thesis = [THESIS_TABLE_6_2.get(int(s), {}).get(setting, [None] * 3) for s, setting in groups]
        marks = [(x, t[k] / 100) for x, t in zip(xs, thesis) if k < len(t) and t[k] is not None]
        if marks:
            left.scatter(*zip(*marks), marker="_", s=300, color="black", zorder=3,
                         label="thesis" if k == 0 else None)
    left.set_xticks(range(len(groups)), [f"{s:g} sims\n{SETTING_NAMES[g]}" for s, g in groups], fontsize=8)
    left.set_title(f"Table 6.2: shallow exits vs the deepest (exit {shallow})")
    rows = sorted(result.table_6_3.items())
    for j, kind in enumerate(("dynamic", "threshold")):
        xs = [i + (j - 0.5) * 0.4 for i in range(len(rows))]
        _bars(right, xs, [row[kind] for _, row in rows], 0.4,
              "dynamic threshold" if kind == "dynamic" else "fixed threshold")
        marks = [(x, THESIS_TABLE_6_3[int(s)][kind] / 100) for x, (s, _) in zip(xs, rows) if int(s) in THESIS_TABLE_6_3]
        if marks:
            right.scatter(*zip(*marks), marker="_", s=300, color="black", zorder=3)
    right.set_xticks(range(len(rows)), [f"{s:g} sims\nvs exit {result.best_exit[s]}" for s, _ in rows], fontsize=8)
    right.set_title("Table 6.3: dynamic exits vs the best exit")
    for ax in (left, right):
        ax.axhline(0.5, color="grey", linewidth=0.8, linestyle="--")
        ax.set_ylim(0, 1)
        ax.set_ylabel("win rate (Wilson 95%)")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _bars(ax: Any, xs: list[float], cells: list[Cell], width: float, label: str) -> None:
    rates = [c.rate for c in cells]
    low = [c.rate - c.interval[0] for c in cells]
    high = [c.interval[1] - c.rate for c in cells]
    ax.bar(xs, rates, width, yerr=[low, high], capsize=3, label=label)
