"""The synthetic study of Bayesian updating behind `dpv bayes-sim` (thesis sec. 5.4.2,
Figs. 5.4-5.7; Fig. 5.7's sweep varies the accuracy per stage, `ACCURACY_PROFILES`).

No network and no data set: each of `steps` classifiers is a confusion matrix
P_k(theta | l) whose rows are drawn from a Dirichlet distribution with the true label the most
likely output (mean mass `accuracy` on it, `concentration` on each wrong label; the true label
is swapped to the top where a draw puts another label above it). These are the true
likelihoods. The estimated likelihoods count `samples_per_class` outputs drawn from each row
(the validation split of a real run) with the same smoothing as `dpv.vision.infer.collab`.
Test items with a uniformly drawn true label get one output per classifier; Bayesian updating
(eq. 5.2) runs once with the true and once with the estimated likelihoods. Per updating step we
report the 5 %, 50 % and 95 % quantiles of the posterior error
1 - P(true label | theta_1..theta_k) and the top-1 accuracy of the posterior's argmax, over all
items of all trials.
"""
from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dpv.vision.infer.collab import bayes_update, likelihood_from_counts

QUANTILES = (0.05, 0.5, 0.95)


@dataclass(frozen=True)
class SimConfig:
    """One synthetic setting."""

    classes: int = 100
    samples_per_class: int = 50
    steps: int = 7                      # classifiers, i.e. updating steps
    accuracy: list[float] = field(default_factory=lambda: [0.7])  # one, or one per step
    concentration: float = 0.1          # Dirichlet parameter of each wrong label
    smoothing: float = 0.1              # pseudo-count per cell of the estimated matrices
    items: int = 2000                   # test items per trial
    trials: int = 3                     # independent sets of confusion matrices
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("classes", "samples_per_class", "steps", "items", "trials"):
            if getattr(self, name) < (2 if name == "classes" else 1):
                raise ValueError(f"{name} must be >= {2 if name == 'classes' else 1}, "
                                 f"got {getattr(self, name)}")
        if len(self.accuracy) not in (1, self.steps):
            raise ValueError(f"accuracy needs 1 or {self.steps} (steps) values, "
                             f"got {len(self.accuracy)}")
        if not all(1.0 / self.classes < a < 1 for a in self.accuracy):
            raise ValueError(f"accuracy must lie in (1/classes, 1), got {self.accuracy}")
        if not (self.concentration > 0 and self.smoothing > 0):
            raise ValueError("concentration and smoothing must be > 0")

    def per_step_accuracy(self) -> np.ndarray:
        """The mean diagonal mass of each classifier's confusion matrix."""
        return np.broadcast_to(np.asarray(self.accuracy, dtype=np.float64), (self.steps,))


PRESETS: dict[str, dict] = {
    "cifar100": {"classes": 100, "samples_per_class": 50},
    "imagenet": {"classes": 1000, "samples_per_class": 200},
}



def _halves(first: float, second: float) -> Callable[[int], list[float]]:
    return lambda steps: [first] * (steps // 2) + [second] * (steps - steps // 2)


def _weak_stage(strong: float, weak: float) -> Callable[[int], list[float]]:
    return lambda steps: [weak if k == steps // 2 else strong for k in range(steps)]


# Fig. 5.7's per-stage accuracy profiles: name -> accuracy of each of `steps` classifiers. The
# thesis varies "the precision of each classifier's information throughout the updating
# process" (not only that of the early classifiers) without giving the values; these set
# every stage low or high, only the early or only the late stages high, a rising profile (as
# a real network's exits), and a single weak stage among strong ones.
ACCURACY_PROFILES: dict[str, Callable[[int], list[float]]] = {
    "all 0.5": lambda steps: [0.5] * steps,
    "all 0.9": lambda steps: [0.9] * steps,
    "early 0.9, late 0.5": _halves(0.9, 0.5),
    "early 0.5, late 0.9": _halves(0.5, 0.9),
    "rising 0.3 to 0.9": lambda steps: np.linspace(0.3, 0.9, steps).round(4).tolist(),
    "0.9, one stage 0.3": _weak_stage(0.9, 0.3),
}

# name -> (figure, field swept, values)
SWEEPS: dict[str, tuple[str, str, tuple]] = {
    "presets": ("Fig. 5.4", "preset", ("cifar100", "imagenet")),
    "samples": ("Fig. 5.5", "samples_per_class", (50, 100, 200, 400)),
    "classes": ("Fig. 5.6", "classes", (10, 100, 1000)),
    "accuracy": ("Fig. 5.7", "accuracy", tuple(ACCURACY_PROFILES)),
}


@dataclass
class SimResult:
    """Per-step statistics of one setting (step k = after k updates)."""

    config: SimConfig
    error_true: list[list[float]]       # [steps][quantile] posterior error, true likelihoods
    error_est: list[list[float]]        # the same with estimated likelihoods
    top1_true: list[float]              # accuracy of the posterior argmax, true likelihoods
    top1_est: list[float]
    top1_single: list[float]            # accuracy of classifier k alone


def confusion_matrices(config: SimConfig, rng: np.random.Generator) -> np.ndarray:
    """True likelihoods P[k, l, theta] (steps x classes x classes), each row a Dirichlet
    draw whose largest entry is the true label l."""
    c = config.classes
    wrong = config.concentration
    right = config.per_step_accuracy() * (c - 1) * wrong / (1 - config.per_step_accuracy())
    alpha = np.full((config.steps, c, c), wrong)
    alpha[:, np.arange(c), np.arange(c)] = right[:, None]
    p = rng.gamma(alpha)
    p /= p.sum(axis=2, keepdims=True)
    # swap the row's maximum into the true label's place where a draw put it elsewhere
    top = p.argmax(axis=2)
    k, label = np.nonzero(top != np.arange(c)[None, :])
    m = top[k, label]
    p[k, label, label], p[k, label, m] = p[k, label, m], p[k, label, label].copy()
    return p


def sample_outputs(p: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One output per classifier and item: theta[k, i] ~ P[k, labels[i], :]."""
    cdf = np.cumsum(p[:, labels, :], axis=2)
    u = rng.random((p.shape[0], len(labels), 1)) * cdf[:, :, -1:]
    return np.minimum((cdf < u).sum(axis=2), p.shape[2] - 1)


def estimate_likelihoods(p: np.ndarray, samples: int, smoothing: float,
                         rng: np.random.Generator) -> np.ndarray:
    """Likelihoods counted from `samples` draws of every row of `p` (sec. 5.3.2)."""
    return likelihood_from_counts(rng.multinomial(samples, p), smoothing)


def _posterior_errors(likelihood: np.ndarray, outputs: np.ndarray, labels: np.ndarray):
    """Posterior error 1 - P(true | theta_1..k) and argmax hits after each update, [steps, n]."""
    n = len(labels)
    posterior = np.full((n, likelihood.shape[1]), 1.0 / likelihood.shape[1])
    errors, hits = [], []
    for lik, theta in zip(likelihood, outputs):
        posterior = bayes_update(posterior, lik.T[theta])
        errors.append(1.0 - posterior[np.arange(n), labels])
        hits.append(posterior.argmax(axis=1) == labels)
    return np.array(errors), np.array(hits)


def simulate(config: SimConfig, progress=None) -> SimResult:
    """Run `config.trials` trials of `config.items` items each and gather the statistics."""
    rng = np.random.default_rng(config.seed)
    err_t, err_e, hit_t, hit_e, hit_s = [], [], [], [], []
    for trial in range(config.trials):
        if progress is not None:
            progress.update(f"bayes-sim: {config.classes} classes, {config.samples_per_class} "
                            f"samples/class, trial {trial + 1}/{config.trials}")
        p = confusion_matrices(config, rng)
        est = estimate_likelihoods(p, config.samples_per_class, config.smoothing, rng)
        labels = rng.integers(config.classes, size=config.items)
        outputs = sample_outputs(p, labels, rng)
        e, h = _posterior_errors(p, outputs, labels)
        err_t.append(e)
        hit_t.append(h)
        e, h = _posterior_errors(est, outputs, labels)
        err_e.append(e)
        hit_e.append(h)
        hit_s.append(outputs == labels[None, :])
    q = list(QUANTILES)
    return SimResult(
        config,
        np.quantile(np.concatenate(err_t, axis=1), q, axis=1).T.tolist(),
        np.quantile(np.concatenate(err_e, axis=1), q, axis=1).T.tolist(),
        np.concatenate(hit_t, axis=1).mean(axis=1).tolist(),
        np.concatenate(hit_e, axis=1).mean(axis=1).tolist(),
        np.concatenate(hit_s, axis=1).mean(axis=1).tolist())


def sweep_configs(name: str, base: SimConfig) -> list[tuple[str, SimConfig]]:
    """The settings of sweep `name` (see SWEEPS) around `base`, each with its title."""
    if name not in SWEEPS:
        raise ValueError(f"unknown sweep '{name}' (known: {', '.join(SWEEPS)})")
    _, key, values = SWEEPS[name]
    runs = []
    for v in values:
        if key == "preset":
            runs.append((v, dataclasses.replace(base, **PRESETS[v])))
        elif key == "classes":
            runs.append((f"{v} classes, {v} samples/class",
                         dataclasses.replace(base, classes=v, samples_per_class=v)))
        elif key == "accuracy":
            runs.append((f"accuracy {v}", dataclasses.replace(
                base, accuracy=ACCURACY_PROFILES[v](base.steps))))
        else:
            runs.append((f"{v} samples/class", dataclasses.replace(base, samples_per_class=v)))
    return runs


def result_markdown(title: str, result: SimResult) -> str:
    """One setting's per-step table."""
    c = result.config
    acc = ", ".join(f"{a:g}" for a in c.accuracy)
    lines = [f"**{title}**: {c.classes} classes, {c.samples_per_class} samples/class, accuracy "
             f"{acc}, concentration {c.concentration:g}, smoothing {c.smoothing:g}, "
             f"{c.trials} x {c.items} items", "",
             "| step | single classifier top-1 | posterior top-1 (true lik.) | posterior top-1 "
             "(estimated) | error 5/50/95 % (true lik.) | error 5/50/95 % (estimated) |",
             "|---:|---:|---:|---:|---:|---:|"]
    for k in range(c.steps):
        t = "/".join(f"{v:.3f}" for v in result.error_true[k])
        e = "/".join(f"{v:.3f}" for v in result.error_est[k])
        lines.append(f"| {k + 1} | {100 * result.top1_single[k]:.1f} | "
                     f"{100 * result.top1_true[k]:.1f} | {100 * result.top1_est[k]:.1f} | "
                     f"{t} | {e} |")
    return "\n".join(lines)


def plot_results(runs: list[tuple[str, SimResult]], path: Path, title: str) -> None:
    """One panel per setting: median posterior error per step with its 5-95 % band, true
    likelihoods vs estimated."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(runs), figsize=(4 * len(runs), 3.6), squeeze=False,
                             sharey=True)
    for ax, (name, r) in zip(axes[0], runs):
        steps = np.arange(1, r.config.steps + 1)
        for data, colour, what in ((r.error_true, "tab:blue", "true likelihood"),
                                   (r.error_est, "tab:orange", "estimated likelihood")):
            d = np.asarray(data)
            ax.fill_between(steps, d[:, 0], d[:, 2], color=colour, alpha=0.25)
            ax.plot(steps, d[:, 1], color=colour, marker="o", markersize=3,
                    label=f"{what} (median, 5-95 %)")
        ax.set(title=name, xlabel="updating step", ylim=(-0.02, 1.02))
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("posterior error 1 - P(true label)")
    axes[0][0].legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_results(runs: list[tuple[str, SimResult]], out_dir: str | Path, stem: str,
                  title: str) -> list[Path]:
    """`stem`.md (tables), `stem`.json and `stem`.png under `out_dir`."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    md = out / f"{stem}.md"
    md.write_text(f"# {title}\n\n" + "\n\n".join(result_markdown(n, r) for n, r in runs) + "\n")
    js = out / f"{stem}.json"
    js.write_text(json.dumps([{"setting": n, **dataclasses.asdict(r)} for n, r in runs], indent=1))
    png = out / f"{stem}.png"
    plot_results(runs, png, title)
    return [md, js, png]
