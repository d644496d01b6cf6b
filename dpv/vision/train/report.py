"""Reports of `dpv vision-train`: the anytime-prediction table of one run (accuracy of every
exit with its cumulative params and FLOPs, as thesis Tables 4.1-4.4) and the comparison of
several runs grouped by loss and by the settings that shape it (lambda, as Table 4.7; the
threshold; alpha and the weight normalisation of dynamic training), averaged over seeds
(mean +- std), beside the thesis's table, with the mean damping softmax per exit (Table 4.8).
Each is written as Markdown, JSON and a PNG of accuracy against FLOPs.

`last-only` runs are compared at their best epoch (the last exit's validation accuracy), as
Table 4.6 reports "MSDNet last only" ("based on the best-performing epoch, following the
conventional early stopping method"); every other run at the end of its schedule, as the
thesis's other rows.
"""
from __future__ import annotations

import json
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
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
    "cifar100-last-only": {
        "title": "thesis Table 4.6 (7-exit MSDNet, CIFAR-100, the last classifier alone)",
        "columns": ["last exit"],
        "rows": {
            "last-only (best epoch)": [75.98],
            "threshold-last-only": [76.41],
            "damping-last-only": [76.63],
        },
    },
    "cifar100-lambda": {
        "title": "thesis Table 4.7 (7-exit MSDNet, CIFAR-100, mean of 5 runs per lambda)",
        "rows": {
            "damping lam=0.005": [61.650, 64.908, 68.022, 71.160, 73.592, 75.164, 75.840],
            "damping lam=0.025": [61.360, 64.802, 67.792, 70.782, 73.746, 75.640, 76.238],
            "damping lam=0.05": [61.096, 64.136, 67.872, 70.652, 73.492, 75.510, 75.750],
            "damping lam=0.075": [61.408, 64.378, 68.036, 70.756, 73.566, 75.344, 75.818],
            "power-sqrt lam=0.005": [62.094, 65.226, 68.448, 71.654, 73.828, 75.494, 76.012],
            "power-sqrt lam=0.025": [61.884, 65.432, 68.578, 71.788, 74.152, 75.638, 76.116],
            "power-sqrt lam=0.05": [62.010, 65.046, 68.594, 71.560, 74.028, 75.860, 76.238],
            "power-sqrt lam=0.075": [61.806, 65.028, 68.520, 71.708, 74.192, 75.996, 76.220],
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


# Losses compared at their best epoch (Table 4.6's early-stopped "MSDNet last only").
BEST_EPOCH_LOSSES = ("last-only",)


def anytime_rows(checkpoint: VisionCheckpoint) -> list[dict[str, Any]]:
    """One row per exit: exit, params, FLOPs, test and last validation accuracy (%), the
    test accuracy at the best epoch, and the mean damping-neuron softmax on the test split
    (None where not measured)."""
    test = checkpoint.metrics.get("test", {})
    best = checkpoint.metrics.get("test_best", {})
    history = checkpoint.metrics.get("history", [])
    val = history[-1]["val_accuracy"] if history else []
    damping = test.get("damping_mean", [])
    return [{"exit": c.exit, "params": c.params, "flops": c.flops,
             "test_accuracy": _at(test.get("accuracy", []), i), "val_accuracy": _at(val, i),
             "test_accuracy_best_epoch": _at(best.get("accuracy", []), i),
             "damping_mean": _at(damping, i)}
            for i, c in enumerate(checkpoint.exit_costs)]


def anytime_markdown(checkpoint: VisionCheckpoint) -> str:
    """The anytime-prediction table of one run in Markdown."""
    cfg = checkpoint.config
    rows = anytime_rows(checkpoint)
    best = checkpoint.metrics.get("test_best", {}).get("epoch")
    lines = [f"Anytime prediction: {cfg.model} on {cfg.dataset}, loss {cfg.label()}"
             + "".join(f", {k} {v}" for k, v in cfg.loss_settings().items())
             + f", seed {cfg.seed}, {checkpoint.epoch}/{cfg.epochs} epochs ({checkpoint.path})", "",
             f"| exit | params (M) | FLOPs (M) | test acc (%) | val acc (%) | test acc, best epoch"
             f"{'' if best is None else f' {best}'} (%) | damping softmax |",
             "|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['exit']} | {r['params'] / 1e6:.3f} | {r['flops'] / 1e6:.2f} | "
                     f"{_fmt(r['test_accuracy'])} | {_fmt(r['val_accuracy'])} | "
                     f"{_fmt(r['test_accuracy_best_epoch'])} | {_fmt(r['damping_mean'], '.4f')} |")
    lines += ["", "FLOPs: one image, one multiply-add = one FLOP, cumulative over the exits "
              "passed (earlier classifiers included). Best epoch: the one whose last exit had the "
              "highest validation accuracy."]
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
    """Per-exit test accuracy of one group of runs (a loss and its settings) over several
    seeds, and the mean damping softmax per exit (empty without the damping neuron)."""

    label: str
    seeds: list[int]
    mean: list[float]
    std: list[float]
    costs: list[ExitCost]
    damping_mean: list[float] = field(default_factory=list)


def compared_test(checkpoint: VisionCheckpoint) -> tuple[dict[str, Any], bool]:
    """The test metrics a comparison uses for `checkpoint` and whether they are the best
    epoch's (`BEST_EPOCH_LOSSES` runs that recorded it) rather than the final ones."""
    best = checkpoint.config.loss in BEST_EPOCH_LOSSES and "test_best" in checkpoint.metrics
    return checkpoint.metrics["test_best" if best else "test"], best


def group_labels(checkpoints: list[VisionCheckpoint]) -> list[str]:
    """The group name of every run: its loss label, then the loss settings that take more
    than one value among the runs with that label ('damping lam=0.05'), then ' (best epoch)'
    where `compared_test` takes the best epoch."""
    values: dict[str, dict[str, set]] = defaultdict(lambda: defaultdict(set))
    for ck in checkpoints:
        for key, value in ck.config.loss_settings().items():
            values[ck.config.label()][key].add(value)
    names = []
    for ck in checkpoints:
        label = ck.config.label()
        varied = [f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                  for k, v in ck.config.loss_settings().items() if len(values[label][k]) > 1]
        names.append(" ".join([label, *varied]) + (" (best epoch)" if compared_test(ck)[1] else ""))
    return names


def summarize(checkpoints: list[VisionCheckpoint]) -> list[MethodSummary]:
    """Group finished runs by `group_labels` and average their per-exit test accuracy (and
    damping softmax) over the seeds (sample std; 0 for one seed). Runs must share data set
    and model, and be finished."""
    if not checkpoints:
        raise ValueError("no runs to compare")
    first = checkpoints[0].config
    for ck in checkpoints:
        if (ck.config.dataset, ck.config.model) != (first.dataset, first.model):
            raise ValueError(f"{ck.path}: {ck.config.model} on {ck.config.dataset}, but "
                             f"{checkpoints[0].path} is {first.model} on {first.dataset}")
        if "test" not in ck.metrics:
            raise ValueError(f"{ck.path}: unfinished run ({ck.epoch}/{ck.config.epochs} epochs, "
                             f"no test accuracy yet)")
    groups: dict[str, list[VisionCheckpoint]] = defaultdict(list)
    for name, ck in zip(group_labels(checkpoints), checkpoints):
        groups[name].append(ck)
    out = []
    for label, runs in groups.items():
        tests = [compared_test(r)[0] for r in runs]
        per_exit = list(zip(*(t["accuracy"] for t in tests)))
        damping = list(zip(*(t.get("damping_mean", []) for t in tests)))
        out.append(MethodSummary(
            label, sorted(r.config.seed for r in runs),
            [statistics.fmean(a) for a in per_exit],
            [statistics.stdev(a) if len(a) > 1 else 0.0 for a in per_exit],
            runs[0].exit_costs, [statistics.fmean(d) for d in damping]))
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
    damped = [s for s in summaries if s.damping_mean]
    if damped:
        lines += ["", "Mean damping softmax F[N+1] per exit on the test split (Table 4.8):", "",
                  "| loss | " + " | ".join(f"exit {c.exit}" for c in costs) + " |",
                  "|---|" + "---:|" * k]
        lines += [f"| {s.label} | " + " | ".join(f"{d:.4f}" for d in s.damping_mean) + " |"
                  for s in damped]
    if thesis:
        table = THESIS_TABLES[thesis]
        rows = table["rows"]
        n = len(next(iter(rows.values())))
        columns = table.get("columns", [f"exit {i}" for i in range(1, n + 1)])
        lines += ["", f"For reference, {table['title']}:", "",
                  "| loss | " + " | ".join(columns) + " | avg |",
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
        "methods": [{"label": s.label, "seeds": s.seeds, "mean": s.mean, "std": s.std,
                     "damping_mean": s.damping_mean} for s in summaries],
        "exits": [{"exit": c.exit, "params": c.params, "flops": c.flops}
                  for c in summaries[0].costs],
        "thesis": THESIS_TABLES.get(thesis) if thesis else None}, indent=2) + "\n")
    series = {s.label: ([c.flops for c in s.costs], s.mean, s.std) for s in summaries}
    _plot(series, paths["png"], f"{cfg.model} on {cfg.dataset}, test accuracy "
          f"(mean ± std over seeds)")
    return paths


def _plot(series: dict[str, tuple[list[int], list[float | None], list[float] | None]],
          path: Path, title: str) -> None:
    # matplotlib's object API without pyplot: no global figure state, so runs reported from two threads
    # at once (tests/vision/test_vision_train.py trains runs in pairs) cannot touch each other's figure.
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.4))
    ax = fig.subplots()
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


def _at(values: list[float], i: int) -> float | None:
    return values[i] if i < len(values) else None


def _fmt(value: float | None, spec: str = ".2f") -> str:
    return "–" if value is None else format(value, spec)
