"""Sweep reports of `dpv vision-report --sweep SETTING`: the last exit's test accuracy and the
final training loss against one loss setting, over seeds, as thesis Fig. 4.3 plots them
against the threshold of `threshold-last-only` ("we recorded the final converged accuracy and
loss under different thresholds"); `lam` gives Table 4.7's sweep on one line per loss.
Written as Markdown, JSON and a PNG.
"""
from __future__ import annotations

import json
import statistics
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

from dpv.vision.train.checkpoint import VisionCheckpoint
from dpv.vision.train.report import compared_test

SWEEP_SETTINGS = ("threshold", "lam", "alpha")


@dataclass
class SweepPoint:
    """One value of the swept setting for one loss.

    Attributes:
        loss: the loss label of the runs (`VisionTrainConfig.label()`).
        value: the swept setting's value.
        seeds: the seeds of the runs at this value.
        accuracy: mean test accuracy (%) of the last exit over the seeds.
        accuracy_std: its sample standard deviation (0 for one seed).
        train_loss: mean training loss of the last epoch over the seeds.
        train_loss_std: its sample standard deviation.
    """

    loss: str
    value: float
    seeds: list[int]
    accuracy: float
    accuracy_std: float
    train_loss: float
    train_loss_std: float


def sweep_points(checkpoints: list[VisionCheckpoint], setting: str) -> list[SweepPoint]:
    """The runs grouped by loss label and by the value of `setting` (one of `SWEEP_SETTINGS`,
    a setting of their loss), sorted by loss then value. Every run must be finished and have
    the setting."""
    if setting not in SWEEP_SETTINGS:
        raise ValueError(f"unknown sweep setting '{setting}' (known: {', '.join(SWEEP_SETTINGS)})")
    if not checkpoints:
        raise ValueError("no runs to sweep")
    groups: dict[tuple[str, float], list[VisionCheckpoint]] = defaultdict(list)
    for ck in checkpoints:
        settings = ck.config.loss_settings()
        if setting not in settings:
            raise ValueError(f"{ck.path}: loss {ck.config.label()} has no setting '{setting}'")
        if "test" not in ck.metrics:
            raise ValueError(f"{ck.path}: unfinished run ({ck.epoch}/{ck.config.epochs} epochs)")
        groups[(ck.config.label(), settings[setting])].append(ck)
    points = []
    for (loss, value), runs in sorted(groups.items()):
        acc = [compared_test(r)[0]["accuracy"][-1] for r in runs]
        loss_values = [r.metrics["history"][-1]["train_loss"] for r in runs]
        points.append(SweepPoint(loss, value, sorted(r.config.seed for r in runs),
                                 statistics.fmean(acc), _std(acc), statistics.fmean(loss_values),
                                 _std(loss_values)))
    return points


def sweep_markdown(points: list[SweepPoint], setting: str) -> str:
    """The sweep as a Markdown table, one row per loss and value."""
    lines = [f"| loss | {setting} | seeds | last exit test acc (%) | final train loss |",
             "|---|---:|---:|---:|---:|"]
    lines += [f"| {p.loss} | {p.value:g} | {len(p.seeds)} | {p.accuracy:.2f} ± {p.accuracy_std:.2f} | "
              f"{p.train_loss:.4f} ± {p.train_loss_std:.4f} |" for p in points]
    return "\n".join(lines) + "\n"


def write_sweep(checkpoints: list[VisionCheckpoint], setting: str,
                out_dir: str | Path) -> dict[str, Path]:
    """Write sweep-SETTING.md, .json and .png (accuracy and training loss against the
    setting, one line per loss) into `out_dir`."""
    points = sweep_points(checkpoints, setting)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {k: out / f"sweep-{setting}.{ext}" for k, ext in
             (("markdown", "md"), ("json", "json"), ("png", "png"))}
    cfg = checkpoints[0].config
    paths["markdown"].write_text(f"Last exit against {setting}, {cfg.model} on {cfg.dataset}, "
                                 f"mean ± std over seeds (thesis Fig. 4.3)\n\n"
                                 + sweep_markdown(points, setting))
    paths["json"].write_text(json.dumps({"setting": setting, "dataset": cfg.dataset,
                                         "model": cfg.model,
                                         "points": [asdict(p) for p in points]}, indent=2) + "\n")
    _plot(points, setting, paths["png"], f"{cfg.model} on {cfg.dataset}")
    return paths


def _plot(points: list[SweepPoint], setting: str, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, acc_ax = plt.subplots(figsize=(6.4, 4.4))
    loss_ax = acc_ax.twinx()
    for loss in dict.fromkeys(p.loss for p in points):
        line = [p for p in points if p.loss == loss]
        x = [p.value for p in line]
        acc_ax.errorbar(x, [p.accuracy for p in line], yerr=[p.accuracy_std for p in line],
                        marker="o", capsize=3, label=f"{loss}: accuracy")
        loss_ax.errorbar(x, [p.train_loss for p in line], yerr=[p.train_loss_std for p in line],
                         marker="s", linestyle="--", capsize=3, label=f"{loss}: train loss")
    acc_ax.set_xlabel(setting)
    acc_ax.set_ylabel("last exit test accuracy (%)")
    loss_ax.set_ylabel("final training loss")
    acc_ax.set_title(title, fontsize=10)
    acc_ax.grid(alpha=0.3)
    handles = acc_ax.get_legend_handles_labels()[0] + loss_ax.get_legend_handles_labels()[0]
    acc_ax.legend(handles=handles, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _std(values: list[float]) -> float:
    return statistics.stdev(values) if len(values) > 1 else 0.0
