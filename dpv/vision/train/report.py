"""Reports of `dpv vision-train`: the anytime-prediction table of one run (accuracy of every
exit with its cumulative params and FLOPs, as thesis Tables 4.1-4.4) and the comparison of
several runs grouped by loss, averaged over seeds (mean +- std), beside the thesis's table.
Each is written as Markdown, JSON and a PNG of accuracy against FLOPs.
"""
from __future__ import annotations

import json
import statistics
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dpv.config import to_dict
from dpv.vision.models.flops import ExitCost
from dpv.vision.train.checkpoint import VisionCheckpoint

# Per-exit test accuracy (%) from the thesis, by table and by the loss labels of
# `VisionTrainConfig.label()` (ce = the MSDNet / RANet baseline trained with summed CE).
THESIS_TABLES: dict[str, dict[str, Any]] = {
    "cifar100-msdnet": {
        "title": "thesis Table 4.1 (7-exit MSDNet, CIFAR-100)",
        "rows": {
            "ce": [60.78, 64.54, 68.51, 71.41, 73.68, 75.61, 76.31],
            "damping": [61.53, 64.71, 68.22, 71.27, 73.76, 75.27, 75.76],
            "power-sqrt": [62.07, 65.44, 69.32, 71.61, 73.88, 75.89, 76.45],
            "power-sqrt+dynamic": [62.74, 65.69, 69.76, 71.77, 74.61, 75.96, 76.63],
        },
    },
    "cifar10-msdnet": {
        "title": "thesis Table 4.2 (7-exit MSDNet, CIFAR-10)",
        "rows": {
            "ce": [88.51, 90.38, 92.15, 93.21, 93.89, 94.22, 94.54],
            "power-sqrt": [88.38, 90.33, 92.06, 93.71, 94.23, 94.45, 94.49],
            "power-sqrt+dynamic": [88.42, 90.21, 92.01, 93.58, 94.27, 94.50, 94.55],
        },
    },
    "cifar100-ranet": {
        "title": "thesis Table 4.3 (6-exit RANet, CIFAR-100)",
        "rows": {
            "ce": [65.28, 68.16, 70.52, 70.64, 72.39, 72.75],
            "power-sqrt": [65.63, 68.96, 71.49, 71.65, 73.19, 73.69],
            "power-sqrt+dynamic": [65.67, 69.38, 71.88, 71.92, 74.19, 74.26],
        },
    },
    "imagenet-msdnet": {
        "title": "thesis Table 4.4 (5-exit MSDNet, ImageNet)",
        "rows": {
            "ce": [59.03, 66.49, 70.56, 72.39, 74.20],
            "power-sqrt": [59.43, 67.12, 71.21, 72.91, 74.45],
            "power-sqrt+dynamic": [59.58, 67.46, 71.33, 73.19, 74.74],
        },
    },
}


def anytime_rows(checkpoint: VisionCheckpoint) -> list[dict[str, Any]]:
    """One row per exit: exit, params, FLOPs, test and last validation accuracy (%) and the
    mean damping-neuron softmax on the test split (None where not measured)."""
    test = checkpoint.metrics.get("test", {})
    history = checkpoint.metrics.get("history", [])
    val = history[-1]["val_accuracy"] if history else []
    damping = test.get("damping_mean", [])
    return [{"exit": c.exit, "params": c.params, "flops": c.flops,
             "test_accuracy": _at(test.get("accuracy", []), i), "val_accuracy": _at(val, i),
             "damping_mean": _at(damping, i)}
            for i, c in enumerate(checkpoint.exit_costs)]


def anytime_markdown(checkpoint: VisionCheckpoint) -> str:
    """The anytime-prediction table of one run in Markdown."""
    cfg = checkpoint.config
    rows = anytime_rows(checkpoint)
    lines = [f"Anytime prediction: {cfg.model} on {cfg.dataset}, loss {cfg.label()}, seed "
             f"{cfg.seed}, {checkpoint.epoch}/{cfg.epochs} epochs ({checkpoint.path})", "",
             "| exit | params (M) | FLOPs (M) | test acc (%) | val acc (%) | damping softmax |",
             "|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['exit']} | {r['params'] / 1e6:.3f} | {r['flops'] / 1e6:.2f} | "
                     f"{_fmt(r['test_accuracy'])} | {_fmt(r['val_accuracy'])} | "
                     f"{_fmt(r['damping_mean'], '.4f')} |")
    lines += ["", "FLOPs: one image, one multiply-add = one FLOP, cumulative over the exits "
              "passed (earlier classifiers included)."]
    return "\n".join(lines) + "\n"


def write_anytime_report(checkpoint: VisionCheckpoint, out_dir: str | Path) -> dict[str, Path]:
    """Write report.md, report.json and accuracy_flops.png for one run into `out_dir`."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = anytime_rows(checkpoint)
    paths = {"markdown": out / "report.md", "json": out / "report.json",
             "png": out / "accuracy_flops.png"}
    paths["markdown"].write_text(anytime_markdown(checkpoint))
    summary = {"checkpoint": str(checkpoint.path), "config": to_dict(checkpoint.config),
               "epoch": checkpoint.epoch, "exits": rows}
    paths["json"].write_text(json.dumps(summary, indent=2) + "\n")
    key = "test_accuracy" if rows and rows[0]["test_accuracy"] is not None else "val_accuracy"
    series = {checkpoint.config.label(): ([r["flops"] for r in rows],
                                          [r[key] for r in rows], None)}
    _plot(series, paths["png"], f"{checkpoint.config.model} on {checkpoint.config.dataset} "
          f"({key.replace('_', ' ')})")
    return paths


@dataclass
class MethodSummary:
    """Per-exit test accuracy of one loss over several seeds."""

    label: str
    seeds: list[int]
    mean: list[float]
    std: list[float]
    costs: list[ExitCost]


def summarize(checkpoints: list[VisionCheckpoint]) -> list[MethodSummary]:
    """Group finished runs by loss label and average their per-exit test accuracy over the
    seeds (sample std; 0 for one seed). Runs must share data set and model, and be finished."""
    if not checkpoints:
        raise ValueError("no runs to compare")
    first = checkpoints[0].config
    groups: dict[str, list[VisionCheckpoint]] = defaultdict(list)
    for ck in checkpoints:
        if (ck.config.dataset, ck.config.model) != (first.dataset, first.model):
            raise ValueError(f"{ck.path}: {ck.config.model} on {ck.config.dataset}, but "
                             f"{checkpoints[0].path} is {first.model} on {first.dataset}")
        if "test" not in ck.metrics:
            raise ValueError(f"{ck.path}: unfinished run ({ck.epoch}/{ck.config.epochs} epochs, "
                             f"no test accuracy yet)")
        groups[ck.config.label()].append(ck)
    out = []
    for label, runs in groups.items():
        per_exit = list(zip(*(r.metrics["test"]["accuracy"] for r in runs)))
        out.append(MethodSummary(
            label, sorted(r.config.seed for r in runs),
            [statistics.fmean(a) for a in per_exit],
            [statistics.stdev(a) if len(a) > 1 else 0.0 for a in per_exit],
            runs[0].exit_costs))
    return out


def comparison_markdown(summaries: list[MethodSummary], thesis: str | None = None) -> str:
    """The comparison table (mean +- std per exit and the mean over exits), with the thesis's
    table `thesis` (a key of THESIS_TABLES) beside it."""
    costs = summaries[0].costs
    k = len(costs)
    head = "| loss | seeds | " + " | ".join(f"exit {c.exit}" for c in costs) + " | avg |"
    rule = "|---|---:|" + "---:|" * (k + 1)
    lines = [head, rule,
             "| params (M) | | " + " | ".join(f"{c.params / 1e6:.3f}" for c in costs) + " | |",
             "| FLOPs (M) | | " + " | ".join(f"{c.flops / 1e6:.2f}" for c in costs) + " | |"]
    for s in summaries:
        cells = " | ".join(f"{m:.2f} ± {d:.2f}" for m, d in zip(s.mean, s.std))
        lines.append(f"| {s.label} | {len(s.seeds)} | {cells} | {statistics.fmean(s.mean):.2f} |")
    if thesis:
        table = THESIS_TABLES[thesis]
        rows = table["rows"]
        n = len(next(iter(rows.values())))
        lines += ["", f"For reference, {table['title']}:", "",
                  "| loss | " + " | ".join(f"exit {i}" for i in range(1, n + 1)) + " | avg |",
                  "|---|" + "---:|" * (n + 1)]
        for label, accs in rows.items():
            lines.append(f"| {label} | " + " | ".join(f"{a:.2f}" for a in accs) +
                         f" | {statistics.fmean(accs):.2f} |")
    return "\n".join(lines) + "\n"


def write_comparison(checkpoints: list[VisionCheckpoint], out_dir: str | Path,
                     thesis: str | None = None) -> dict[str, Path]:
    """Write comparison.md, comparison.json and comparison.png into `out_dir`."""
    if thesis is not None and thesis not in THESIS_TABLES:
        raise ValueError(f"unknown thesis table '{thesis}' (known: {', '.join(THESIS_TABLES)})")
    summaries = summarize(checkpoints)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"markdown": out / "comparison.md", "json": out / "comparison.json",
             "png": out / "comparison.png"}
    cfg = checkpoints[0].config
    paths["markdown"].write_text(f"Test accuracy (%) per exit, {cfg.model} on {cfg.dataset}, "
                                 f"mean ± std over seeds\n\n"
                                 + comparison_markdown(summaries, thesis))
    paths["json"].write_text(json.dumps({
        "dataset": cfg.dataset, "model": cfg.model,
        "runs": [str(ck.path) for ck in checkpoints],
        "methods": [{"label": s.label, "seeds": s.seeds, "mean": s.mean, "std": s.std}
                    for s in summaries],
        "exits": [{"exit": c.exit, "params": c.params, "flops": c.flops}
                  for c in summaries[0].costs],
        "thesis": THESIS_TABLES.get(thesis) if thesis else None}, indent=2) + "\n")
    series = {s.label: ([c.flops for c in s.costs], s.mean, s.std) for s in summaries}
    _plot(series, paths["png"], f"{cfg.model} on {cfg.dataset}, test accuracy "
          f"(mean ± std over seeds)")
    return paths


def _plot(series: dict[str, tuple[list[int], list[float | None], list[float] | None]],
          path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for label, (flops, acc, std) in series.items():
        x = [f / 1e6 for f in flops]
        y = [float("nan") if a is None else a for a in acc]
        ax.errorbar(x, y, yerr=std, marker="o", capsize=3, label=label)
    ax.set_xlabel("FLOPs per image (M, multiply-adds, cumulative)")
    ax.set_ylabel("accuracy (%)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _at(values: list[float], i: int) -> float | None:
    return values[i] if i < len(values) else None


def _fmt(value: float | None, spec: str = ".2f") -> str:
    return "–" if value is None else format(value, spec)
