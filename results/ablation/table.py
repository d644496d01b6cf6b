"""Print the ablation's Markdown tables from the run directories and the matches.

Usage: python results/ablation/table.py   (from the checkout: reads results/ablation/summary-*.json and matches/,
and runs/ab-old/metrics.jsonl for the old network each run was matched against)
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from old_at import best_at

HERE = Path(__file__).parent
RUNS = ["ungated", "aux", "gumbel16", "puct16", "cap"]


def summary(name: str) -> dict:
    """The run's summary.json, as kept under results/ablation/."""
    return json.loads((HERE / f"summary-{name}.json").read_text())


def run_row(name: str) -> str:
    """One Markdown row of a run's summary."""
    s = summary(name)
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
        if (HERE / f"summary-{name}.json").exists():
            print(run_row(name))
    print()
    print("| run | its best.pt | old's best at the same CPU-hours | wins / games | win rate [Wilson 95 %] | Elo |")
    print("|---|---|---|---:|---:|---:|")
    for name in RUNS:
        match = HERE / "matches" / f"{name}.json"
        if not match.exists():
            continue
        m = json.loads(match.read_text())
        cpu, best = summary(name)["cpu_s"], summary(name)["best_version"]
        low, high = m["a_win_rate_wilson95"]
        elo = m["elo_a_minus_b"]
        elo_text = f"{elo:+.0f}" if elo is not None else f"bound {m['elo_a_minus_b_bound']}"
        print(f"| {name} | v{best} | {Path(best_at(old, cpu)).name} | {m['a']['wins']} / {m['games']} | "
              f"{m['a_win_rate'] * 100:.1f} % [{low * 100:.1f}, {high * 100:.1f}] | {elo_text} |")


if __name__ == "__main__":
    main()
