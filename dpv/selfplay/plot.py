"""The gating plot of a run (gating.png): each candidate's win rate against the best network."""
from __future__ import annotations

from pathlib import Path

from dpv.selfplay.messages import GatingRecord


def plot_gating(results: list[GatingRecord], threshold: float, path: Path) -> None:
    """PNG of the candidates' win rates against the best network per learner step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    steps = [r.step for r in results]
    rates = [r.win_rate for r in results]
    ax.plot(steps, rates, "-", color="0.6")
    for promoted, color, label in ((True, "tab:green", "promoted"), (False, "tab:red", "kept the best")):
        pts = [(r.step, r.win_rate) for r in results if r.promote == promoted]
        if pts:
            ax.scatter(*zip(*pts), color=color, label=label, zorder=3)
    ax.axhline(threshold, color="k", ls="--", lw=1, label=f"promotion at {threshold:.0%}")
    ax.set_xlabel("learner step")
    ax.set_ylabel("candidate win rate vs best")
    ax.set_ylim(0, 1)
    ax.set_title("gating results")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
