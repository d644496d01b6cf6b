"""`dpv model-card MODEL --ratings JSON...`: the model card of a shipped network, written from
the checkpoint's metadata (preset, learner steps, self-play games, CPU-hours, lineage), the run
directories that trained it (`--runs`: each one's command, config.yaml and summary.json) and the
JSON files the rating commands wrote: `dpv arena`'s match.json (strength rows, one per opponent,
GNU Go level, exit, simulations and budget, their games summed: wins / games, Wilson 95 % interval,
seconds per move; a plot of them, MODEL-strength.png beside the card; and issue 15's table of GNU
Go levels 1/5/10 at 200 and 800 simulations, "not measured" where missing) and `dpv rate`'s
rating.json (the Elo curve of the lineage: its table and a link to rating.png). Every number of
the card is read from those files; none is typed in.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dpv.arena.stats import wilson_interval
from dpv.digest import file_sha256
from dpv.rating.report import FORMAT as RATING_FORMAT


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `model-card` subcommand."""
    parser = subparsers.add_parser("model-card", help="write a shipped network's model card from its checkpoint "
                                   "and the JSON the rating commands wrote")
    parser.add_argument("model", metavar="MODEL", help="the network (models/dpv-four.pt)")
    parser.add_argument("--ratings", nargs="+", default=[], metavar="JSON",
                        help="match.json files of `dpv arena` and rating.json files of `dpv rate`")
    parser.add_argument("--runs", nargs="+", default=[], metavar="RUN",
                        help="the run directories of its lineage, oldest first (their commands and configs)")
    parser.add_argument("--out", help="the card (default: MODEL with .md)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Read the checkpoint and the ratings, write the card (and its strength plot, when there are matches)."""
    out = Path(args.out) if args.out else Path(args.model).with_suffix(".md")
    plot = out.with_name(out.stem + "-strength.png")
    card, rows, num_exits = model_card(Path(args.model), [Path(p) for p in args.ratings], out.parent,
                                       [Path(r) for r in args.runs], plot.name)
    try:
        out.write_text(card)
        if rows:
            strength_plot(rows, num_exits, plot)
    except OSError as err:
        raise ValueError(f"{err.filename}: {err.strerror or err}") from None
    print(f"dpv model-card: {out}" + (f", {plot}" if rows else ""), file=sys.stderr)
    return 0


def read_json(path: Path) -> dict[str, Any]:
    """A rating file's JSON object; a missing or unreadable file is a one-line ValueError."""
    try:
        data = json.loads(path.read_text())
    except OSError as err:
        raise ValueError(f"{path}: {err.strerror or err}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: not JSON ({err})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a match.json or rating.json (not a JSON object)")
    return data


def preset_of(config: Any) -> str:
    """The name of the shipped net preset equal to `config`, else "custom"."""
    from dpv.config import ConfigError, preset_dir
    from dpv.nets.config import load_net_config

    for path in sorted(preset_dir().glob("net-*.yaml")):
        try:
            if load_net_config(path) == config:
                return path.stem
        except (ConfigError, ValueError):
            continue
    return "custom"


def _value(value: Any, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def network_section(model: Path, loaded: Any, lineage: list[dict[str, Any]]) -> list[str]:
    """The card's head: the network's preset, shape and training counts (from the Checkpoint
    `loaded` of the file `model`) and its `lineage`, oldest first."""
    cfg, extra = loaded.model.config, loaded.extra
    heads = [name for name, on in (("ownership", cfg.ownership_head), ("score", cfg.score_head)) if on]
    shape = (f"{cfg.blocks} residual blocks x {cfg.channels} channels, {cfg.board_size}x{cfg.board_size}, "
             f"exits after blocks {', '.join(map(str, cfg.exits))}"
             + (f", {' and '.join(heads)} heads" if heads else ""))
    flops = loaded.exit_flops
    lines = [f"# {model.stem}", "",
             "| | |", "|---|---|",
             f"| file | `{model.name}` ({model.stat().st_size / 1e6:.1f} MB) |",
             f"| preset | `{preset_of(cfg)}`: {shape} |",
             f"| FLOPs per evaluation, by exit | {', '.join(f'{f:.3g}' for f in flops)} "
             f"({', '.join(f'{f / flops[-1]:.0%}' for f in flops)} of the deepest) |",
             f"| learner steps | {loaded.step} |",
             f"| self-play games seen by its learner | {_value(extra.get('games'), 'd')} |",
             f"| CPU-hours | {_value(extra.get('cpu_hours'), '.2f')} |", ""]
    if lineage:
        lines += ["Lineage (the networks it was initialised from, oldest first; `dpv launch selfplay --init-from`;"
                  " sha256: the source file's digest when it was read):", "",
                  "| source | sha256 | steps | games | CPU-hours | heads grown fresh |", "|---|---|---:|---:|---:|---|"]
        lines += [f"| `{o['source']}` | {_value(o.get('sha256'), '.12')} | {o['steps']} | "
                  f"{_value(o.get('games'), 'd')} | {_value(o.get('cpu_hours'), '.2f')} | "
                  f"{', '.join(o.get('grown_heads') or []) or '-'} |"
                  for o in lineage]
        lines.append("")
    return lines


def lineage_of(extra: dict[str, Any], runs: list[Path]) -> list[dict[str, Any]]:
    """The network's lineage: the one its checkpoint carries (a run's initial.pt), else the
    lineage.json of the run that trained it (the last of `runs`), else none."""
    from dpv.selfplay.init_from import LINEAGE_FILE

    if extra.get("lineage"):
        return list(extra["lineage"])
    if runs and (runs[-1] / LINEAGE_FILE).is_file():
        lineage = read_json(runs[-1] / LINEAGE_FILE).get("lineage")
        if not isinstance(lineage, list) or not all(isinstance(o, dict) and "source" in o for o in lineage):
            raise ValueError(f"{runs[-1] / LINEAGE_FILE}: damaged (a list of entries with a source expected)")
        return lineage
    return []


def training_section(runs: list[Path], card_dir: Path) -> list[str]:
    """A row per run directory: the command that ran it, its config, the games and learner
    steps its summary.json records (a run without one is a one-line ValueError), and its hours
    and CPU-hours over every session (dpv.rating.runs.run_hours; summary.json's hours, of the
    last session, for a run without metrics.jsonl)."""
    from dpv.rating.runs import run_hours
    from dpv.selfplay.init_from import LINEAGE_FILE
    from dpv.selfplay.rundir import RunDir

    if not runs:
        return []
    lines = ["## Training", "", "The self-play runs that trained it, oldest first (`--resume`d sessions summed):", "",
             "| command | started from | games | learner steps | hours | CPU-hours |", "|---|---|---:|---:|---:|---:|"]
    for run in runs:
        summary, run_dir = read_json(run / "summary.json"), RunDir(run)
        hours, cpu_hours = run_hours(run_dir) if run_dir.events.is_file() else (summary["seconds"] / 3600, None)
        config = Path(os.path.relpath(run / "config.yaml", card_dir)).as_posix()
        command, start = f"dpv launch selfplay --config {run / 'config.yaml'}", "random weights"
        if (run / LINEAGE_FILE).is_file():
            start = read_json(run / LINEAGE_FILE)["lineage"][-1]["source"]
            command += f" --init-from {start}"
        lines.append(f"| `{command}` ([config]({config})) | {start} | {summary['games']} | "
                     f"{summary['learner_step']} | {hours:.2f} | {_value(cpu_hours, '.2f')} |")
    return [*lines, ""]


GNUGO_DEFAULT_LEVEL = 10
"""GNU Go's level when its command line names none."""

ISSUE_TABLE = ((1, 5, 10), (200.0, 800.0))
"""The strength table the shipped network is measured by (issue 15): GNU Go levels x simulations,
every cell for the deepest exit, the 800-simulation cells for every exit."""


@dataclass(frozen=True)
class StrengthKey:
    """What a strength row is of: the opponent, its level, the network's exit and simulations."""

    opponent: str
    """The opponent's name in match.json, a GNU Go command line without its --level."""
    level: int | None
    """GNU Go's level (GNUGO_DEFAULT_LEVEL when not given); None: not GNU Go."""
    exit: str
    """The network's exit policy: its exit index (-1 counted from the deepest), else as given."""
    simulations: float
    """Simulations per move of the network."""
    budget: str
    """How a shallow exit's budget was counted: equal-sims (`simulations` evaluations of that exit) or
    equal-flops (the deepest exit's FLOPs of `simulations` evaluations); "-" for the deepest exit, where the two
    agree."""


def budget_label(budget: str) -> str:
    """A StrengthKey's budget as the issue table and the plot name it after a shallow exit's result:
    " (equal sims)", " (equal FLOPs)", or "" for the deepest exit's "-"."""
    return {"-": "", "equal-sims": " (equal sims)", "equal-flops": " (equal FLOPs)"}.get(budget, f" ({budget})")


@dataclass
class StrengthRow:
    """The games of the matches of one StrengthKey, summed."""

    games: int = 0
    """Games played."""
    points: float = 0.0
    """Wins, a draw counting half."""
    moves: int = 0
    """The network's moves in the matches that timed it."""
    seconds: float = 0.0
    """The network's thinking seconds over its `moves` (match.json seconds_per_move x moves)."""
    sources: list[str] = field(default_factory=list)
    """The match.json files, as Markdown code."""

    def cell(self) -> str:
        """wins / games, win rate [Wilson 95 %]."""
        low, high = wilson_interval(self.points, self.games)
        return f"{self.points:g} / {self.games}, {self.points / self.games:.0%} [{low:.0%}, {high:.0%}]"


def strength_key(match: dict[str, Any], num_exits: int) -> StrengthKey:
    """The key of a match.json whose side a is the network."""
    words = shlex.split(match["b"]["name"])
    level = None
    if words and Path(words[0]).name.startswith("gnugo"):
        level = GNUGO_DEFAULT_LEVEL
        if "--level" in words[:-1]:
            k = words.index("--level")
            level, words = int(words[k + 1]), words[:k] + words[k + 2:]
    exit = str(match["a"]["exit"])
    if exit.lstrip("-").isdigit() and int(exit) < 0:
        exit = str(int(exit) + num_exits)
    budget = "-" if exit == str(num_exits - 1) else match.get("budget", "equal-flops")  # dpv arena's default
    return StrengthKey(opponent=shlex.join(words), level=level, exit=exit, simulations=float(match["a"]["simulations"]),
                       budget=budget)


def strength_rows(matches: list[tuple[Path, dict[str, Any]]], num_exits: int) -> dict[StrengthKey, StrengthRow]:
    """The matches' games summed per StrengthKey, in the order first met."""
    rows: dict[StrengthKey, StrengthRow] = {}
    for path, m in matches:
        row = rows.setdefault(strength_key(m, num_exits), StrengthRow())
        a = m["a"]
        row.games += int(m["games"])
        row.points += a["wins"] + m.get("draws", 0) / 2
        if a.get("seconds_per_move") is not None and a.get("moves"):
            row.moves += int(a["moves"])
            row.seconds += a["seconds_per_move"] * a["moves"]
        row.sources.append(f"`{path}`")
    return rows


def strength_plot(rows: dict[StrengthKey, StrengthRow], num_exits: int, path: Path) -> None:
    """The card's PNG: against GNU Go, the deepest exit's win rate by level (a line per simulation count), and
    every exit's against the weakest level played (a line per simulation count and budget), Wilson 95 % bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    gnugo = {key: row for key, row in rows.items() if key.level is not None}
    deepest = str(num_exits - 1)
    fig, (by_level, by_exit) = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)

    def line(ax: Any, points: list[tuple[float, StrengthRow]], label: str) -> None:
        points = sorted(points, key=lambda point: point[0])
        rates = [row.points / row.games for _, row in points]
        bounds = [wilson_interval(row.points, row.games) for _, row in points]
        ax.errorbar([at for at, _ in points], [100 * r for r in rates], marker="o", capsize=3, label=label,
                    yerr=[[100 * (r - lo) for r, (lo, _) in zip(rates, bounds)],
                          [100 * (hi - r) for r, (_, hi) in zip(rates, bounds)]])

    for sims in sorted({k.simulations for k in gnugo if k.exit == deepest}):
        line(by_level, [(k.level, r) for k, r in gnugo.items() if k.exit == deepest and k.simulations == sims],
             f"{sims:g} simulations")
    by_level.set_xticks(sorted({k.level for k in gnugo}))
    by_level.set_xlabel("GNU Go level")
    by_level.set_title(f"exit {deepest} (deepest)")
    weakest = min((k.level for k in gnugo), default=None)
    for sims, budget in sorted({(k.simulations, k.budget) for k in gnugo if k.level == weakest and k.budget != "-"}):
        points = [(int(k.exit), r) for k, r in gnugo.items() if k.level == weakest and k.simulations == sims
                  and k.budget in (budget, "-") and k.exit.isdigit()]
        line(by_exit, points, f"{sims:g} simulations{budget_label(budget)}")
    by_exit.set_xlabel("exit")
    by_exit.set_xticks(range(num_exits))
    by_exit.set_title(f"every exit, GNU Go level {weakest}")
    by_level.set_ylabel("win rate against GNU Go, %")
    for ax in (by_level, by_exit):
        ax.axhline(50, color="0.5", ls="--", lw=1)
        ax.set_ylim(0, 100)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def strength_section(rows: dict[StrengthKey, StrengthRow], num_exits: int, plot_name: str) -> list[str]:
    """The strength table, a row per (opponent, level, exit, simulations, budget) of the match.json
    files (their games summed: wins, Wilson 95 % interval, seconds per move), the plot, then the
    issue's table of GNU Go levels 1/5/10 at 200 and 800 simulations, "not measured" where no match
    was played."""
    if not rows:
        return []
    lines = ["## Strength", "", f"![Win rate against GNU Go by level and by exit]({plot_name})", "",
             "| opponent | level | exit | simulations | budget | games | wins | win rate [Wilson 95 %] "
             "| seconds per move | source |", "|---|---:|---:|---:|---|---:|---:|---:|---:|---|"]
    for key, row in rows.items():
        low, high = wilson_interval(row.points, row.games)
        seconds = f"{row.seconds / row.moves:.2f}" if row.moves else "-"
        lines.append(f"| `{key.opponent}` | {_value(key.level, 'd')} | {key.exit} | {key.simulations:g} | {key.budget} "
                     f"| {row.games} | {row.points:g} | {row.points / row.games:.0%} [{low:.0%}, {high:.0%}] "
                     f"| {seconds} | {', '.join(row.sources)} |")
    levels, simulations = ISSUE_TABLE
    deepest = str(num_exits - 1)
    columns = [(level, sims) for level in levels for sims in simulations]
    lines += ["", "Against GNU Go, wins / games, win rate [Wilson 95 %] (issue 15's table: the deepest exit at "
              "200 and 800 simulations, every exit at 800):", "",
              "| exit | " + " | ".join(f"level {level}, {sims:g} sims" for level, sims in columns) + " |",
              "|---|" + "---:|" * len(columns)]
    for exit in [deepest, *map(str, range(num_exits - 1))]:
        cells = []
        for level, sims in columns:
            found = [row.cell() + budget_label(key.budget) for key, row in rows.items()
                     if (key.level, key.exit, key.simulations) == (level, exit, sims)]
            wanted = exit == deepest or sims == max(simulations)
            cells.append("; ".join(found) or ("not measured" if wanted else "-"))
        lines.append(f"| {exit}{' (deepest)' if exit == deepest else ''} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def elo_section(ratings: list[tuple[Path, dict[str, Any]]], card_dir: Path, model_sha256: str) -> list[str]:
    """The Elo curve of each rating.json: a link to its rating.png and its table, the row of the
    checkpoint with the card's network's bytes (`model_sha256`) marked."""
    lines: list[str] = []
    for path, r in ratings:
        plot = Path(os.path.relpath(path.parent / "rating.png", card_dir))
        lines += ["## Elo over the lineage", "", f"![Elo against self-play CPU-hours]({plot.as_posix()})", "",
                  f"`{path}`: {r['pinned']['id']} pinned at {r['pinned']['elo']:g}; "
                  f"{r['settings']['games']} games per pairing at {r['settings']['simulations']:g} simulations.", "",
                  "| run | checkpoint | steps | self-play games | CPU-hours | Elo | se |",
                  "|---|---|---:|---:|---:|---:|---:|"]
        for run in r["runs"]:
            for c in run["checkpoints"]:
                name = f"**{c['name']} (this network)**" if c.get("sha256") == model_sha256 else c["name"]
                lines.append(f"| `{run['run']}` | {name} | {c['step']} | {_value(c['selfplay_games'], 'd')} | "
                             f"{_value(c['cpu_hours'], '.2f')} | {c['elo']:.0f} | {c['se']:.0f} |")
        lines.append("")
    return lines


def model_card(model: Path, rating_files: list[Path], card_dir: Path, runs: list[Path] | None = None,
               plot_name: str = "strength.png") -> tuple[str, dict[StrengthKey, StrengthRow], int]:
    """The card's Markdown (the network, the runs that trained it, a strength row per match.json
    linking the strength plot `plot_name` and the Elo curve of each rating.json; a file that is
    neither is a one-line ValueError), its strength rows and the network's number of exits."""
    from dpv.nets.checkpoint import load_checkpoint

    loaded = load_checkpoint(model)
    runs = runs or []
    head = network_section(model, loaded, lineage_of(loaded.extra, runs))
    matches, ratings = [], []
    for path in rating_files:
        data = read_json(path)
        if data.get("format") == RATING_FORMAT:
            ratings.append((path, data))
        elif {"games", "a", "b", "a_win_rate_wilson95"} <= set(data):
            matches.append((path, data))
        else:
            raise ValueError(f"{path}: neither a dpv arena match.json nor a dpv rate rating.json")
    num_exits = loaded.model.config.num_exits
    rows = strength_rows(matches, num_exits)
    lines = [*head, *training_section(runs, card_dir), *strength_section(rows, num_exits, plot_name),
             *elo_section(ratings, card_dir, file_sha256(model)),
             f"Written by `dpv model-card {model.name} --ratings ...` from the files named above.", ""]
    return "\n".join(lines), rows, num_exits
