"""`dpv model-card MODEL --ratings JSON...`: the model card of a shipped network, written from
the checkpoint's metadata (preset, learner steps, self-play games, CPU-hours, lineage), the run
directories that trained it (`--runs`: each one's command, config.yaml and summary.json) and the
JSON files the rating commands wrote: `dpv arena`'s match.json (a strength row each: opponent,
exit, simulations, wins / games, Wilson 95 % interval, seconds per move) and `dpv rate`'s
rating.json (the Elo curve of the lineage: its table and a link to rating.png). Every number of
the card is read from those files; none is typed in.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

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
    """Read the checkpoint and the ratings, write the card."""
    out = Path(args.out) if args.out else Path(args.model).with_suffix(".md")
    card = model_card(Path(args.model), [Path(p) for p in args.ratings], out.parent, [Path(r) for r in args.runs])
    try:
        out.write_text(card)
    except OSError as err:
        raise ValueError(f"{out}: {err.strerror or err}") from None
    print(f"dpv model-card: {out}", file=sys.stderr)
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


def network_section(model: Path) -> list[str]:
    """The card's head: the network's preset, shape, training counts and lineage."""
    from dpv.nets.checkpoint import load_checkpoint

    loaded = load_checkpoint(model)
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
    lineage = extra.get("lineage") or []
    if lineage:
        lines += ["Lineage (the networks it was initialised from, oldest first; `dpv launch selfplay --init-from`):",
                  "", "| source | steps | games | CPU-hours |", "|---|---:|---:|---:|"]
        lines += [f"| `{o['source']}` | {o['steps']} | {_value(o.get('games'), 'd')} | "
                  f"{_value(o.get('cpu_hours'), '.2f')} |" for o in lineage]
        lines.append("")
    return lines


def training_section(runs: list[Path], card_dir: Path) -> list[str]:
    """A row per run directory: the command that ran it, its config, and the games, learner
    steps and hours its summary.json records (a run without one is a one-line ValueError)."""
    from dpv.selfplay.init_from import LINEAGE_FILE

    if not runs:
        return []
    lines = ["## Training", "", "The self-play runs that trained it, oldest first:", "",
             "| command | started from | games | learner steps | hours |", "|---|---|---:|---:|---:|"]
    for run in runs:
        summary = read_json(run / "summary.json")
        config = Path(os.path.relpath(run / "config.yaml", card_dir)).as_posix()
        command, start = f"dpv launch selfplay --config {run / 'config.yaml'}", "random weights"
        if (run / LINEAGE_FILE).is_file():
            start = read_json(run / LINEAGE_FILE)["lineage"][-1]["source"]
            command += f" --init-from {start}"
        lines.append(f"| `{command}` ([config]({config})) | {start} | {summary['games']} | "
                     f"{summary['learner_step']} | {summary['seconds'] / 3600:.2f} |")
    return [*lines, ""]


def strength_section(matches: list[tuple[Path, dict[str, Any]]]) -> list[str]:
    """The strength table, a row per match.json."""
    if not matches:
        return []
    lines = ["## Strength", "",
             "| opponent | exit | simulations | wins / games | win rate [Wilson 95 %] | seconds per move | source |",
             "|---|---:|---:|---:|---:|---:|---|"]
    for path, m in matches:
        a, b = m["a"], m["b"]
        low, high = m["a_win_rate_wilson95"]
        lines.append(f"| `{b['name']}` | {a['exit']} | {a['simulations']:g} | {a['wins']} / {m['games']} | "
                     f"{m['a_win_rate']:.0%} [{low:.0%}, {high:.0%}] | {_value(a.get('seconds_per_move'), '.2f')} | "
                     f"`{path}` |")
    return [*lines, ""]


def elo_section(ratings: list[tuple[Path, dict[str, Any]]], card_dir: Path) -> list[str]:
    """The Elo curve of each rating.json: a link to its rating.png and its table."""
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
                lines.append(f"| `{run['run']}` | {c['name']} | {c['step']} | {_value(c['selfplay_games'], 'd')} | "
                             f"{_value(c['cpu_hours'], '.2f')} | {c['elo']:.0f} | {c['se']:.0f} |")
        lines.append("")
    return lines


def model_card(model: Path, rating_files: list[Path], card_dir: Path, runs: list[Path] | None = None) -> str:
    """The card's Markdown: the network, the runs that trained it, a strength row per
    match.json and the Elo curve of each rating.json (a file that is neither is a one-line
    ValueError)."""
    head = network_section(model)
    matches, ratings = [], []
    for path in rating_files:
        data = read_json(path)
        if data.get("format") == RATING_FORMAT:
            ratings.append((path, data))
        elif {"games", "a", "b", "a_win_rate_wilson95"} <= set(data):
            matches.append((path, data))
        else:
            raise ValueError(f"{path}: neither a dpv arena match.json nor a dpv rate rating.json")
    lines = [*head, *training_section(runs or [], card_dir), *strength_section(matches),
             *elo_section(ratings, card_dir),
             f"Written by `dpv model-card {model.name} --ratings ...` from the files named above.", ""]
    return "\n".join(lines)
