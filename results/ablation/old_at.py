"""Print the checkpoint that was OLD_RUN's best.pt when its recorded CPU time reached RUN's final CPU time.

Usage: python results/ablation/old_at.py OLD_RUN RUN [FRACTION]: with FRACTION, when it reached that share of
RUN's final CPU time (0.5: half of it). Reads both runs' metrics.jsonl (train events carry
cpu_s and the checkpoint; gating events say whether the candidate was promoted).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path


def events(run: Path) -> list[dict]:
    """The run's metrics.jsonl events, in order."""
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]


def final_cpu_s(run: Path) -> float:
    """CPU seconds the run recorded at its end (the end event, else its last train event)."""
    recorded = [e["cpu_s"] for e in events(run) if e.get("cpu_s") is not None]
    return recorded[-1]


def best_at(run: Path, cpu_s: float) -> str:
    """The run's best network once its recorded CPU time had reached cpu_s (the initial one if none was promoted)."""
    best = str(run / "checkpoints" / "initial.pt")
    trained_cpu: dict[str, float] = {}
    for event in events(run):
        if event.get("event") == "train":
            trained_cpu[event["checkpoint"]] = event["cpu_s"]
        elif event.get("event") == "gating" and event.get("promote"):
            if trained_cpu.get(event["candidate"], float("inf")) <= cpu_s:
                best = event["candidate"]
    return best


if __name__ == "__main__":
    old, run = Path(sys.argv[1]), Path(sys.argv[2])
    fraction = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
    print(best_at(old, fraction * final_cpu_s(run)))
