"""What `dpv rate` writes: rating.json (everything, the source of any table quoted elsewhere),
rating.md (a table per run and one of the anchors) and rating.png (Elo against self-play
CPU-hours and against self-play games, one line per run, or one for all of them when they are one
lineage, the anchors as horizontal lines)."""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dpv.arena.stats import format_elo
from dpv.rating.bradley_terry import Ratings
from dpv.rating.plan import Contestant
from dpv.rating.runner import PairingResult, RatingMatch
from dpv.rating.runs import Run, RunCheckpoint

FORMAT = "dpv-rating/1"


def rating_data(runs: Sequence[tuple[Run, list[RunCheckpoint]]], anchors: Sequence[Contestant],
                results: Sequence[PairingResult], ratings: Ratings, how: RatingMatch,
                lineage: bool = False) -> dict[str, Any]:
    """The JSON form of a rating; `lineage`: the runs are one lineage (`dpv rate --lineage`)."""
    games: dict[str, int] = {}
    points: dict[str, float] = {}
    for r in results:
        for player, score in ((r.a, r.a_points), (r.b, r.games - r.a_points)):
            games[player] = games.get(player, 0) + r.games
            points[player] = points.get(player, 0.0) + score

    def rated(player: str) -> dict[str, Any]:
        return {"elo": ratings.elo[player], "se": ratings.se[player], "rated_games": games.get(player, 0),
                "points": points.get(player, 0.0)}

    return {
        "format": FORMAT,
        "pinned": {"id": ratings.pinned, "elo": ratings.elo[ratings.pinned]},
        "fit": {"model": "Bradley-Terry (logistic Elo), maximum likelihood; a draw is half a win",
                "prior": f"{ratings.prior_draws:g} virtual drawn game(s) per pair of players that met",
                "standard_errors": "inverse observed information at the maximum, relative to the pinned player",
                "iterations": ratings.iterations},
        "settings": how.key_settings(),
        "lineage": lineage,
        "runs": [{"run": run.path, "cpus": run.cpus, "cpu_hours_source": run.cpu_source,
                  "checkpoints": [{"id": c.id, "name": c.name, "path": c.path, "sha256": c.sha256, "step": c.step,
                                   "selfplay_games": c.selfplay_games, "wall_hours": c.wall_hours,
                                   "cpu_hours": c.cpu_hours, "best": c.best, **rated(c.id)} for c in chosen]}
                 for run, chosen in runs],
        "anchors": [{"id": a.id, "kind": a.kind, "target": a.target, "pinned": a.id == ratings.pinned, **rated(a.id)}
                    for a in anchors],
        "pairings": [{"a": r.a, "b": r.b, "games": r.games, "a_points": r.a_points, "seconds": round(r.seconds, 1),
                      "folder": r.folder} for r in results],
    }


def write_rating(data: dict[str, Any], out: Path) -> list[Path]:
    """rating.json, rating.md and rating.png under `out`; the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "rating.json", out / "rating.md", out / "rating.png"]
    paths[0].write_text(json.dumps(data, indent=1) + "\n")
    paths[1].write_text(markdown(data))
    plot(data, paths[2])
    return paths


def markdown(data: dict[str, Any]) -> str:
    """The rating as Markdown: the settings, a table per run, the anchors."""
    s = data["settings"]
    lines = [f"# Elo rating ({data['pinned']['id']} pinned at {data['pinned']['elo']:g})", "",
             f"{s['games']} games per pairing, colours alternating, {s['simulations']:g} simulations per move "
             f"({s['budget']}), rated exit {s['exit']}, {s['search']['opening_moves']} opening plies sampled. "
             f"{data['fit']['model']}; prior: {data['fit']['prior']}; standard errors: "
             f"{data['fit']['standard_errors']}.", ""]
    for run in data["runs"]:
        lines += [f"## {run['run']}", "", run["cpu_hours_source"] + ".", "",
                  "| checkpoint | steps | self-play games | CPU-hours | rated games | score | Elo ± se |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for c in run["checkpoints"]:
            name = c["name"] + (" (best)" if c["best"] else "")
            lines.append(f"| {name} | {c['step']} | {_value(c['selfplay_games'], 'd')} | "
                         f"{_value(c['cpu_hours'], '.2f')} | {c['rated_games']} | {_score(c)} | {_elo(c)} |")
        lines.append("")
    lines += ["## Anchors", "", "| anchor | rated games | score | Elo ± se |", "|---|---:|---:|---:|"]
    for a in data["anchors"]:
        elo = f"{format_elo(a['elo'])} (pinned)" if a["pinned"] else _elo(a)
        lines.append(f"| `{a['id']}` | {a['rated_games']} | {_score(a)} | {elo} |")
    return "\n".join(lines) + "\n"


def plot(data: dict[str, Any], path: Path) -> None:
    """rating.png: Elo (± se) against self-play CPU-hours and against self-play games, a line per
    run, or one through all of them, in order, for a lineage."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    panels = ((axes[0], "cpu_hours", "self-play CPU-hours"), (axes[1], "selfplay_games", "self-play games"))
    curves = [(run["run"], run["checkpoints"]) for run in data["runs"]]
    if data.get("lineage"):
        curves = [(" → ".join(name for name, _ in curves), [c for _, checkpoints in curves for c in checkpoints])]
    for ax, key, label in panels:
        for name, checkpoints in curves:
            points = [(c[key], c["elo"], c["se"]) for c in checkpoints if c[key] is not None]
            if points:
                x, y, se = zip(*points)
                ax.errorbar(x, y, yerr=se, marker="o", capsize=3, label=name)
        for anchor in data["anchors"]:
            ax.axhline(anchor["elo"], color="0.5", ls="--", lw=1)
            ax.annotate(short_name(anchor), (0.01, anchor["elo"]), xycoords=("axes fraction", "data"), fontsize=7,
                        color="0.3", va="bottom")
        ax.set_xlabel(label)
        ax.grid(alpha=0.3)
    pinned = next(a for a in data["anchors"] if a["pinned"])
    axes[0].set_ylabel("Elo")
    if axes[0].get_legend_handles_labels()[0]:
        axes[0].legend(loc="lower right", fontsize=8)
    fig.suptitle(f"Elo over training ({short_name(pinned)} = {pinned['elo']:g})")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def short_name(anchor: dict[str, Any]) -> str:
    """An anchor's name for the plot: an engine's program without its folder, a file's name."""
    if anchor["kind"] == "network":
        return Path(anchor["id"]).name
    program, _, rest = anchor["id"].partition(" ")
    return f"{Path(program).name} {rest}".strip()


def _value(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _score(entry: dict[str, Any]) -> str:
    return f"{entry['points'] / entry['rated_games']:.0%}" if entry["rated_games"] else "-"


def _elo(entry: dict[str, Any]) -> str:
    return f"{format_elo(entry['elo'])} ± {entry['se']:.0f}"
