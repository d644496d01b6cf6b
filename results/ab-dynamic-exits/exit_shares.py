"""Which exits answered a self-play run's leaf evaluations, and how many evaluations a stored position got, over
the run: from the progress events of each RUN's metrics.jsonl (cumulative evaluations per exit, games, positions/s,
CPU seconds) and the FLOPs of each exit of the run's network (dpv.nets.flops.dynamic_exit_flops: an evaluation
that leaves at exit k also ran the policy heads of the exits it passed).

Usage: python results/ab-dynamic-exits/exit_shares.py RUN... --out PREFIX [--windows 4]
Writes PREFIX.md (a table per run: each window of the run's CPU time), PREFIX.json and PREFIX.png.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def progress(run: Path) -> list[dict]:
    """The run's progress and end events, in order (each carries cumulative evaluations per exit)."""
    events = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    return [e for e in events if e.get("event") in ("progress", "end") and e.get("selfplay_evals_per_exit")]


def run_exit_flops(run: Path) -> list[float]:
    """FLOPs per evaluation leaving at each exit, for the run's initial network."""
    from dpv.nets.checkpoint import load_checkpoint
    from dpv.nets.flops import dynamic_exit_flops

    return [float(f) for f in dynamic_exit_flops(load_checkpoint(run / "checkpoints" / "initial.pt").model)]


def windows(run: Path, count: int) -> dict:
    """The run's evaluations split into `count` windows of equal CPU time: per window the CPU-hours at its end,
    the share of evaluations per exit, evaluations per stored position and deepest-exit FLOPs per position."""
    events = progress(run)
    flops = np.asarray(run_exit_flops(run))
    cpu = np.asarray([e["cpu_s"] for e in events])
    evals = np.asarray([e["selfplay_evals_per_exit"] for e in events], dtype=np.float64)
    positions = np.asarray([e["positions_per_s"] * e["seconds"] if e["event"] == "progress" else e["positions"]
                            for e in events])
    edges = [int(np.searchsorted(cpu, cpu[-1] * w / count)) for w in range(1, count + 1)]
    rows, start = [], 0
    for end in edges:
        end = min(end, len(events) - 1)
        if end < start:  # a window with no progress event of its own
            continue
        before_evals = evals[start - 1] if start else np.zeros_like(evals[0])
        before_positions = positions[start - 1] if start else 0.0
        spent = evals[end] - before_evals
        made = positions[end] - before_positions
        rows.append({"cpu_h": round(float(cpu[end]) / 3600, 3), "games": int(events[end]["games"]),
                     "exit_shares": [round(float(s), 4) for s in spent / max(spent.sum(), 1)],
                     "evals_per_position": round(float(spent.sum() / max(made, 1)), 2),
                     "deepest_sims_per_position": round(float(spent @ flops / flops[-1] / max(made, 1)), 2)})
        start = end + 1
    return {"run": str(run), "exit_flops": flops.tolist(), "windows": rows}


def write_markdown(results: list[dict], path: Path) -> None:
    """One table per run."""
    lines = []
    for result in results:
        exits = len(result["exit_flops"])
        lines += [f"### {result['run']}", "",
                  "| CPU-h at window end | games | " + " | ".join(f"exit {k}" for k in range(exits))
                  + " | evaluations / position | deepest-exit FLOPs / position (in evaluations) |",
                  "|---:|---:|" + "---:|" * exits + "---:|---:|"]
        for row in result["windows"]:
            lines.append(f"| {row['cpu_h']:.2f} | {row['games']:,} | "
                         + " | ".join(f"{100 * s:.1f} %" for s in row["exit_shares"])
                         + f" | {row['evals_per_position']:.1f} | {row['deepest_sims_per_position']:.1f} |")
        lines.append("")
    path.write_text("\n".join(lines))


def plot(results: list[dict], path: Path) -> None:
    """Left: the share of evaluations at exit 0 over CPU-hours; right: evaluations per stored position."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for result in results:
        hours = [row["cpu_h"] for row in result["windows"]]
        name = Path(result["run"]).name
        left.plot(hours, [100 * row["exit_shares"][0] for row in result["windows"]], marker="o", label=name)
        right.plot(hours, [row["evals_per_position"] for row in result["windows"]], marker="o", label=name)
    left.set(xlabel="self-play CPU-hours", ylabel="evaluations answered by exit 0 (%)", ylim=(0, 100))
    right.set(xlabel="self-play CPU-hours", ylabel="leaf evaluations per stored position")
    for axes in (left, right):
        axes.grid(alpha=0.3)
        axes.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--out", required=True, help="output prefix: PREFIX.md, PREFIX.json, PREFIX.png")
    parser.add_argument("--windows", type=int, default=4)
    args = parser.parse_args()
    results = [windows(run, args.windows) for run in args.runs]
    out = Path(args.out)
    out.with_suffix(".json").write_text(json.dumps(results, indent=1))
    write_markdown(results, out.with_suffix(".md"))
    plot(results, out.with_suffix(".png"))
    print(out.with_suffix(".md").read_text())


if __name__ == "__main__":
    main()
