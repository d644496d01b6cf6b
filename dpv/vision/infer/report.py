"""Reports of `dpv vision-eval`: the anytime table in the format of thesis Table 5.1 (one row
per method, one column per exit, params and FLOPs rows on top), the budgeted-batch curves
(accuracy vs mean FLOPs) and the bayes-cp bucket counts; each as Markdown, JSON and PNG.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from dpv.vision.infer.budgeted import BudgetPoint
from dpv.vision.infer.collab import ORACLE_NOTE


@dataclass(frozen=True)
class MethodResult:
    """One method's anytime accuracies (per exit, in [0, 1]) and budgeted curve."""

    name: str
    label: str
    anytime: list[float]
    budgeted: list[BudgetPoint]

    @property
    def oracle(self) -> bool:
        """Whether the method used test-split likelihoods (an upper bound, not a result)."""
        return self.name.endswith("-oracle")


@dataclass
class EvalResult:
    """Everything `dpv vision-eval` measured on one model."""

    source: str
    exit_params: list[int]
    exit_flops: list[int]
    val_size: int
    test_size: int
    methods: list[MethodResult] = field(default_factory=list)
    buckets: dict = field(default_factory=dict)  # bayes-cp buckets: kind, names, counts, accuracy


def _scaled(values: list[int]) -> tuple[list[float], str]:
    scale, unit = (1e9, "10^9") if max(values) >= 1e9 else (1e6, "10^6")
    return [v / scale for v in values], unit


def anytime_markdown(result: EvalResult) -> str:
    """Table 5.1's layout: params and FLOPs rows, then accuracy (%) per method and exit; the
    best non-oracle accuracy of each exit in bold, oracle rows marked as upper bounds."""
    e = len(result.exit_flops)
    params, punit = _scaled(result.exit_params)
    flops, funit = _scaled(result.exit_flops)
    lines = ["| Method | " + " | ".join(str(k) for k in range(1, e + 1)) + " |",
             "|---|" + "---:|" * e,
             f"| Params (x{punit}) | " + " | ".join(f"{p:.3g}" for p in params) + " |",
             f"| FLOPs (x{funit}) | " + " | ".join(f"{f:.3g}" for f in flops) + " |"]
    honest = [m.anytime for m in result.methods if not m.oracle]
    best = np.max(honest, axis=0) if honest else np.full(e, np.inf)
    for m in result.methods:
        cells = []
        for k, acc in enumerate(m.anytime):
            text = f"{100 * acc:.2f}"
            cells.append(f"**{text}**" if not m.oracle and np.isclose(acc, best[k]) else text)
        lines.append(f"| {m.label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def budgeted_markdown(result: EvalResult) -> str:
    """One row per operating point: method, setting (q or patience), mean FLOPs, accuracy
    and the share of test samples leaving at each exit."""
    e = len(result.exit_flops)
    _, unit = _scaled(result.exit_flops)
    scale = 1e9 if unit == "10^9" else 1e6
    lines = [f"| Method | q / patience | mean FLOPs (x{unit}) | accuracy (%) | "
             + " | ".join(f"exit {k}" for k in range(1, e + 1)) + " |",
             "|---|---:|---:|---:|" + "---:|" * e]
    for m in result.methods:
        for p in m.budgeted:
            shares = " | ".join(f"{100 * s:.0f}%" for s in p.exit_share)
            lines.append(f"| {m.label} | {p.setting:g} | {p.mean_flops / scale:.3g} | "
                         f"{100 * p.accuracy:.2f} | {shares} |")
    return "\n".join(lines)


def budget_levels(exit_flops: list[int]) -> list[float]:
    """The budgets of the summary table: each inner exit's cost and the midpoints between
    consecutive exits' costs."""
    f = [float(v) for v in exit_flops]
    mids = [(a + b) / 2 for a, b in zip(f, f[1:])]
    return sorted(set(f[1:-1]) | set(mids))


def budget_summary_markdown(result: EvalResult) -> str:
    """Each method's budgeted accuracy (%) at a few mean budgets (see `budget_levels`), read
    off its curve by linear interpolation between operating points ('-' outside it)."""
    levels = budget_levels(result.exit_flops)
    scaled, unit = _scaled([int(b) for b in levels])
    lines = ["| Method | " + " | ".join(f"{b:.3g}" for b in scaled) + " |",
             "|---|" + "---:|" * len(levels)]
    for m in result.methods:
        pts = sorted(m.budgeted, key=lambda p: p.mean_flops)
        x = np.array([p.mean_flops for p in pts])
        y = np.array([100 * p.accuracy for p in pts])
        cells = [f"{np.interp(b, x, y):.2f}" if x[0] <= b <= x[-1] else "-" for b in levels]
        lines.append(f"| {m.label} | " + " | ".join(cells) + " |")
    return (f"Accuracy (%) at a mean budget of (x{unit}) FLOPs per image (inner exits' costs "
            "and midpoints; interpolated along each curve):\n\n" + "\n".join(lines))


def buckets_markdown(result: EvalResult) -> str:
    """Per exit, the test images in each bayes-cp confidence bucket and the accuracy of the
    exit's own top label among them."""
    info = result.buckets
    names = info["bucket_names"]
    lines = [f"bayes-cp confidence buckets ({info['kind']}; test split): count (accuracy %)",
             "", "| exit | " + " | ".join(names) + " |", "|---:|" + "---:|" * len(names)]
    for k, (counts, accs) in enumerate(zip(info["counts"], info["accuracy"]), start=1):
        cells = [f"{c} ({'-' if a is None else f'{100 * a:.1f}'})" for c, a in zip(counts, accs)]
        lines.append(f"| {k} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def to_json(result: EvalResult) -> dict:
    """The result as plain JSON data (accuracies in [0, 1], FLOPs as counted)."""
    data = asdict(result)
    for m, raw in zip(result.methods, data["methods"]):
        raw["oracle_upper_bound"] = m.oracle
    data["oracle_note"] = ORACLE_NOTE
    return data


def plot_anytime(result: EvalResult, path: Path) -> None:
    """Accuracy per exit against cumulative FLOPs, one line per method (oracles dashed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    flops, unit = _scaled(result.exit_flops)
    fig, ax = plt.subplots(figsize=(10, 4.5))
    for m, colour in zip(result.methods, _colours(len(result.methods))):
        ax.plot(flops, [100 * a for a in m.anytime], "--" if m.oracle else "-", marker="o",
                markersize=3, label=m.label, color=colour)
    ax.set(xlabel=f"FLOPs (x{unit}) of the exit", ylabel="top-1 accuracy (%)",
           title=f"Anytime prediction: {_short(result.source)}")
    _finish(fig, ax, path)


def plot_budgeted(result: EvalResult, path: Path) -> None:
    """Accuracy vs mean FLOPs for every method (PABEE as points per patience)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    _, unit = _scaled(result.exit_flops)
    scale = 1e9 if unit == "10^9" else 1e6
    fig, ax = plt.subplots(figsize=(10, 4.5))
    for m, colour in zip(result.methods, _colours(len(result.methods))):
        pts = sorted(m.budgeted, key=lambda p: p.mean_flops)
        x = [p.mean_flops / scale for p in pts]
        y = [100 * p.accuracy for p in pts]
        style = "s--" if m.name == "pabee" else (":" if m.oracle else "-")
        ax.plot(x, y, style, markersize=4, label=m.label, color=colour)
    ax.set(xlabel=f"mean FLOPs per image (x{unit})", ylabel="top-1 accuracy (%)",
           title=f"Budgeted batch classification: {_short(result.source)}")
    _finish(fig, ax, path)


def _short(source: str) -> str:
    return "/".join(Path(source).parts[-2:])


def _colours(n: int) -> list:
    import matplotlib

    cmap = matplotlib.colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def _finish(fig, ax, path: Path) -> None:
    import matplotlib.pyplot as plt

    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_report(result: EvalResult, out_dir: str | Path) -> list[Path]:
    """Write anytime.{md,png}, budgeted.{md,png}, buckets.md (when bayes-cp ran) and
    eval.json (all of it) under `out_dir`; returns the paths written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []

    def text(name: str, body: str) -> None:
        path = out / name
        path.write_text(body + "\n")
        written.append(path)

    text("anytime.md", anytime_markdown(result))
    text("budgeted.md", budget_summary_markdown(result) + "\n\n" + budgeted_markdown(result))
    if result.buckets:
        text("buckets.md", buckets_markdown(result))
    text("eval.json", json.dumps(to_json(result), indent=1))
    for name, plot in (("anytime.png", plot_anytime), ("budgeted.png", plot_budgeted)):
        plot(result, out / name)
        written.append(out / name)
    return written
