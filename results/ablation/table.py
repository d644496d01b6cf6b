"""Print the ablation's Markdown tables from the run directories and the matches.

Usage: python results/ablation/table.py   (reads runs/ab-old, runs/abl-*, runs/abl-match-*; run from the checkout)
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from old_at import best_at, events

RUNS = ["ungated", "aux", "gumbel16", "puct16", "cap"]


def run_row(name: str, run: Path) -> str:
    """One Markdown row of a run's summary.json."""
    s = json.loads((run / "summary.json").read_text())
    t = s["throughput"]
    return (f"| {name} | {s['games']} | {s['positions']:,} | {s['learner_step']:,} | {s['best_version']} | "
            f"{s['cpu_s'] / 3600:.2f} | {t['positions_per_s']:.1f} | {t['evals_per_s']:,.0f} | {t['mean_batch']:.1f} |")


def main() -> None:
    """Print the runs table, then the matches table."""
    old = Path("runs/ab-old")
    print("| run | games | positions | learner steps | promotions | CPU-hours | positions/s | evaluations/s "
          "| mean batch |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in RUNS:
        if (Path(f"runs/abl-{name}") / "summary.json").exists():
            print(run_row(name, Path(f"runs/abl-{name}")))
    print()
    print("| run | its best.pt | old's best at the same CPU-hours | wins / games | win rate [Wilson 95 %] | Elo |")
    print("|---|---|---|---:|---:|---:|")
    for name in RUNS:
        match = Path(f"runs/abl-match-{name}/match.json")
        if not match.exists():
            continue
        m = json.loads(match.read_text())
        run = Path(f"runs/abl-{name}")
        cpu = [e["cpu_s"] for e in events(run) if e.get("cpu_s") is not None][-1]
        best = json.loads((run / "summary.json").read_text())["best_version"]
        low, high = m["a_win_rate_wilson95"]
        elo = m["elo_a_minus_b"]
        elo_text = f"{elo:+.0f}" if elo is not None else f"bound {m['elo_a_minus_b_bound']}"
        print(f"| {name} | v{best} | {Path(best_at(old, cpu)).name} | {m['a']['wins']} / {m['games']} | "
              f"{m['a_win_rate'] * 100:.1f} % [{low * 100:.1f}, {high * 100:.1f}] | {elo_text} |")


if __name__ == "__main__":
    main()
