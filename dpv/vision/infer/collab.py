"""Collaborative inference across the exits of a multi-exit classifier (thesis ch. 5).

At exit c a method combines the outputs of exits 1..c (the ones already computed) into one
distribution over the labels; its argmax is the prediction and its maximum the confidence on
which a budgeted run decides to exit (`dpv.vision.infer.budgeted`). Methods:

- `last`: exit c alone (the mainstream baseline), softmax of its logits (eq. 2.3).
- `bayes`: Bayesian updating (eq. 5.2) from a uniform prior with likelihoods
  P(theta_c | l) counted in each exit's confusion matrix on the validation split (sec. 5.3.2).
  At exit 1 it answers with exit 1's own softmax, as every Bayes row of the thesis's Tables
  5.1-5.4 equals the baseline there (the thesis does not say why; one observation under a
  uniform prior has nothing to collaborate with, and the posterior's argmax would differ from
  the exit's own label wherever a confusion-matrix column peaks off the diagonal); the
  posterior from exit 1 is still the prior of exit 2.
- `bayes-cp`: the same with outputs theta_c = (label, confidence bucket) (sec. 5.3.4): buckets
  >90 %, 80-90 %, <80 % of the max softmax, or, calibrated, whether the split-conformal set at
  90 % / 80 % coverage is the top label alone. The conformal sets are those the thesis
  describes (sec. 5.3.4, Angelopoulos et al.): APS, the labels taken in falling softmax order
  while the mass accumulated before them is below the calibrated threshold (so the label that
  reaches it is in the set, and the set is never empty; the non-randomised form, which covers
  at least the level). `conformal_score="lac"` keeps the simpler score 1 - p[y] (sets
  {y : p[y] >= 1 - q}).
- `bayes-oracle`, `bayes-cp-oracle`: likelihoods counted on the test split (sec. 5.3.3), an
  upper bound only.
- `logit-vote`, `logit-vote-acc`, `logit-vote-flops`: O(x) = sum_c w_c z_c(x) over the logits
  (sec. 5.3.5), weights uniform, by validation accuracy or by cumulative FLOPs;
  `softmax-vote` (and -acc, -flops) the same over softmax outputs.
- PABEE (patience-based early exit, Zhou et al., 2020) is an exit rule, not a combination:
  `pabee_exits` / `pabee_predictions`.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from dpv.vision.infer.logits import SplitLogits

ORACLE_NOTE = "(oracle: test-split likelihoods, upper bound only)"
VOTE_WEIGHTS = ("uniform", "acc", "flops")
# Conformal scores: APS (cumulative softmax, the thesis's), LAC (1 - p[y]).
CONFORMAL_SCORES = ("aps", "lac")


@dataclass(frozen=True)
class CollabConfig:
    """Settings of the collaborative methods."""

    smoothing: float = 0.1        # pseudo-count added to every confusion-matrix cell
    buckets: tuple[float, ...] = (0.9, 0.8)  # confidence levels of bayes-cp, falling
    calibrate: bool = False       # bayes-cp buckets from split-conformal sets, not raw softmax
    conformal_score: str = "aps"  # the calibrated sets' score: "aps" or "lac" (1 - p[y])

    def __post_init__(self) -> None:
        if self.conformal_score not in CONFORMAL_SCORES:
            raise ValueError(f"unknown conformal score '{self.conformal_score}' "
                             f"(known: {', '.join(CONFORMAL_SCORES)})")
        if not self.smoothing > 0:
            raise ValueError(f"smoothing must be > 0 (got {self.smoothing}): an empty "
                             "confusion-matrix cell would veto a label for ever")
        levels = list(self.buckets)
        falling = levels == sorted(levels, reverse=True)
        if not levels or not falling or not all(0 < b < 1 for b in levels):
            raise ValueError(f"buckets must be falling levels in (0, 1), got {self.buckets}")


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """Softmax along `axis` (eq. 2.3 before the max), computed stably in float64."""
    z = np.asarray(logits, dtype=np.float64)
    z = np.exp(z - z.max(axis=axis, keepdims=True))
    return z / z.sum(axis=axis, keepdims=True)


def bayes_update(prior: np.ndarray, likelihood: np.ndarray) -> np.ndarray:
    """One step of eq. 5.2: P(l | theta_c) = P(theta_c | l) P(l | theta_<c) / P(theta_c).

    `prior` and `likelihood` are [..., labels]; the evidence P(theta_c) is the normaliser.
    Broadcasts over leading axes (one row per sample)."""
    unnorm = np.asarray(prior, dtype=np.float64) * likelihood
    return unnorm / unnorm.sum(axis=-1, keepdims=True)


def likelihood_from_counts(counts: np.ndarray, smoothing: float) -> np.ndarray:
    """P(theta | l) from counts[..., l, theta] (rows: true label, columns: output), each cell
    given `smoothing` pseudo-counts so that no label is ever excluded (sec. 5.3.3's 'initial
    values for each class')."""
    counts = np.asarray(counts, dtype=np.float64) + smoothing
    return counts / counts.sum(axis=-1, keepdims=True)


def confusion_counts(labels: np.ndarray, outputs: np.ndarray, num_labels: int,
                     num_outputs: int) -> np.ndarray:
    """counts[l, theta]: how often output theta was produced for true label l."""
    flat = np.asarray(labels, dtype=np.int64) * num_outputs + outputs
    return np.bincount(flat, minlength=num_labels * num_outputs).reshape(num_labels, num_outputs)


def conformal_scores(probs: np.ndarray, labels: np.ndarray, score: str = "aps") -> np.ndarray:
    """Non-conformity score of each sample's true label: `aps`, the softmax mass of the labels
    ranked above it plus its own (the cumulative softmax up to it, Angelopoulos et al.);
    `lac`, 1 - p[y]."""
    p_true = probs[np.arange(len(labels)), labels]
    if score == "lac":
        return 1.0 - p_true
    return np.where(probs > p_true[:, None], probs, 0.0).sum(axis=1) + p_true


def conformal_quantile(probs: np.ndarray, labels: np.ndarray, coverage: float,
                       score: str = "aps") -> float:
    """Split-conformal quantile q of the scores (`conformal_scores`) on a calibration set:
    the ceil((n+1) coverage)-th smallest, so that the sets of `conformal_sets` hold the true
    label with probability >= `coverage` on exchangeable data (Angelopoulos & Bates)."""
    scores = np.sort(conformal_scores(probs, labels, score))
    rank = int(np.ceil((len(scores) + 1) * coverage))
    return float("inf") if rank > len(scores) else float(scores[rank - 1])


def conformal_sets(probs: np.ndarray, q: float | np.ndarray, score: str = "aps") -> np.ndarray:
    """Membership mask of the conformal sets at threshold q (broadcasting against `probs`,
    [..., labels]). `aps`: the labels in falling softmax order while the mass before them is
    below q, the one that reaches q included (a superset of {y : score(y) <= q}, so the
    coverage holds). `lac`: {y : p[y] >= 1 - q}."""
    if score == "lac":
        return probs >= 1.0 - q
    order = np.argsort(-probs, axis=-1, kind="stable")
    ranked = np.take_along_axis(probs, order, axis=-1)
    before = np.cumsum(ranked, axis=-1) - ranked
    mask = np.empty(probs.shape, dtype=bool)
    np.put_along_axis(mask, order, before < q, axis=-1)
    return mask


class Combiner:
    """A collaborative method. `steps(logits[E, n, N])` yields, for c = 1..E, the [n, N]
    distribution that combines exits 1..c; `name` is the method's id, `label` what tables
    print."""

    name: str
    label: str

    def steps(self, logits: np.ndarray) -> Iterator[np.ndarray]:
        """The combined distribution at each exit in turn."""
        raise NotImplementedError

    def predict(self, logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Top label and confidence (max of the combined distribution) at every exit, [E, n]
        each."""
        pairs = [(d.argmax(axis=1), d.max(axis=1)) for d in self.steps(logits)]
        return np.stack([p for p, _ in pairs]), np.stack([c for _, c in pairs])


class Last(Combiner):
    """Exit c alone."""

    name, label = "last", "Last exit (baseline)"

    def steps(self, logits: np.ndarray) -> Iterator[np.ndarray]:
        for z in logits:
            yield softmax(z)


class Vote(Combiner):
    """Weighted voting over the logits (sec. 5.3.5) or over the softmax outputs: the combined
    score at exit c is the w-weighted mean of exits 1..c, shown as a softmax when voting on
    logits."""

    def __init__(self, weights: np.ndarray, on_logits: bool, kind: str) -> None:
        self.weights = np.asarray(weights, dtype=np.float64)
        self.on_logits = on_logits
        base = "logit-vote" if on_logits else "softmax-vote"
        self.name = base if kind == "uniform" else f"{base}-{kind}"
        what = "Logit" if on_logits else "Softmax"
        self.label = f"{what} voting" + ("" if kind == "uniform" else f" ({kind} weights)")

    def steps(self, logits: np.ndarray) -> Iterator[np.ndarray]:
        total, weight = 0.0, 0.0
        for w, z in zip(self.weights, logits):
            total = total + w * (np.asarray(z, dtype=np.float64) if self.on_logits else softmax(z))
            weight += w
            yield softmax(total / weight) if self.on_logits else total / weight


class Bayes(Combiner):
    """Bayesian updating across exits (eq. 5.2) with confusion-matrix likelihoods.

    theta_c is exit c's top label, or with `buckets` the pair (top label, confidence bucket)
    of sec. 5.3.4. `likelihood[c, l, theta]` = P(theta_c = theta | l) is counted on `fit_on`
    (the validation split; the test split for the oracle)."""

    def __init__(self, fit_on: SplitLogits, config: CollabConfig, buckets: bool,
                 oracle: bool, calib: SplitLogits | None = None) -> None:
        self.config = config
        self.num_buckets = len(config.buckets) + 1 if buckets else 1
        self.name = ("bayes-cp" if buckets else "bayes") + ("-oracle" if oracle else "")
        self.label = ("Bayes" + (" + CP" if buckets else "")
                      + (" (conformal buckets)" if buckets and config.calibrate else "")
                      + (f" {ORACLE_NOTE}" if oracle else ""))
        calib = calib if calib is not None else fit_on
        self.quantiles = (conformal_quantiles(calib, config.buckets, config.conformal_score)
                          if buckets and config.calibrate else None)
        n = fit_on.num_classes
        outputs = self.outputs(fit_on.logits)
        counts = np.stack([confusion_counts(fit_on.labels, o, n, n * self.num_buckets)
                           for o in outputs])
        self.likelihood = likelihood_from_counts(counts, config.smoothing)

    def buckets(self, logits: np.ndarray) -> np.ndarray:
        """Confidence bucket of every exit's output, [E, n]: 0 most confident (>90 %), the
        last bucket below every level."""
        result = np.full(logits.shape[:2], len(self.config.buckets), dtype=np.int64)
        for e, z in enumerate(logits):  # one exit at a time: [n, N] float64 at most
            probs = softmax(z)
            for b in reversed(range(len(self.config.buckets))):
                if self.quantiles is None:
                    hit = probs.max(axis=1) > self.config.buckets[b]
                else:  # the conformal set at this coverage is one label (then the top one)
                    sets = conformal_sets(probs, self.quantiles[e, b], self.config.conformal_score)
                    hit = sets.sum(axis=1) == 1
                result[e, hit] = b
        return result

    def outputs(self, logits: np.ndarray) -> np.ndarray:
        """The observed theta_c of every exit as one integer, label * buckets + bucket."""
        top = logits.argmax(axis=2)
        if self.num_buckets == 1:
            return top
        return top * self.num_buckets + self.buckets(logits)

    def steps(self, logits: np.ndarray) -> Iterator[np.ndarray]:
        """Exit 1's own softmax at exit 1 (see the module docstring), the posterior after
        exits 1..c at every later exit c."""
        outputs = self.outputs(logits)
        _, n, c = logits.shape
        posterior = np.full((n, c), 1.0 / c)  # uniform prior (sec. 5.3.1)
        for exit_index, (likelihood, theta) in enumerate(zip(self.likelihood, outputs)):
            # P(theta_c | l) over the labels l, one row per sample
            posterior = bayes_update(posterior, likelihood.T[theta])
            yield softmax(logits[0]) if exit_index == 0 else posterior


def conformal_quantiles(calib: SplitLogits, levels: tuple[float, ...],
                        score: str = "aps") -> np.ndarray:
    """q[e, b]: split-conformal quantile of exit e at coverage levels[b] on `calib`."""
    rows = []
    for z in calib.logits:
        probs = softmax(z)
        rows.append([conformal_quantile(probs, calib.labels, level, score) for level in levels])
    return np.array(rows)


def validation_accuracy(split: SplitLogits) -> np.ndarray:
    """Top-1 accuracy of every exit alone on `split`, [E]."""
    return (split.predictions() == split.labels[None]).mean(axis=1)


METHODS = ("last", "bayes", "bayes-cp", "bayes-oracle", "bayes-cp-oracle", "logit-vote",
           "logit-vote-acc", "logit-vote-flops", "softmax-vote", "softmax-vote-acc",
           "softmax-vote-flops", "pabee")


def parse_methods(text: str) -> list[str]:
    """Method names from a comma list ('all' for every method); ValueError naming an unknown
    one."""
    names = (list(METHODS) if text.strip() == "all"
             else [t.strip() for t in text.split(",") if t.strip()])
    unknown = [m for m in names if m not in METHODS]
    if unknown or not names:
        raise ValueError(f"unknown method '{unknown[0] if unknown else text}' "
                         f"(known: all, {', '.join(METHODS)})")
    return list(dict.fromkeys(names))


def build_combiner(name: str, val: SplitLogits, test: SplitLogits, exit_flops: np.ndarray,
                   config: CollabConfig) -> Combiner:
    """The fitted method `name` (any of METHODS but 'pabee'): Bayes likelihoods and voting
    weights come from `val`, the oracles' likelihoods from `test`."""
    if name == "last":
        return Last()
    if name.startswith("bayes"):
        oracle = name.endswith("-oracle")
        return Bayes(test if oracle else val, config, buckets=name.startswith("bayes-cp"),
                     oracle=oracle, calib=val)
    base, _, kind = name.partition("-vote")
    kind = kind.lstrip("-") or "uniform"
    weights = {"uniform": np.ones(val.num_exits), "acc": validation_accuracy(val),
               "flops": np.asarray(exit_flops, dtype=np.float64)}[kind]
    return Vote(weights, on_logits=base == "logit", kind=kind)


def pabee_exits(predictions: np.ndarray, patience: int) -> np.ndarray:
    """Patience-based exit (Zhou et al., 2020): the 0-based exit at which each sample stops,
    the first exit whose prediction has stayed unchanged for `patience` consecutive exits
    (patience 1: the first exit that agrees with the one before), the last exit otherwise.
    `predictions` is [E, n] (each exit's top label)."""
    if patience < 1:
        raise ValueError(f"patience must be >= 1, got {patience}")
    e, n = predictions.shape
    streak = np.zeros(n, dtype=np.int64)
    exits = np.full(n, e - 1, dtype=np.int64)
    done = np.zeros(n, dtype=bool)
    for k in range(1, e):
        streak = np.where(predictions[k] == predictions[k - 1], streak + 1, 0)
        stop = ~done & (streak >= patience)
        exits[stop] = k
        done |= stop
    return exits


def pabee_predictions(predictions: np.ndarray, patience: int) -> np.ndarray:
    """PABEE as an anytime method, [E, n]: with a budget of c exits a sample answers with the
    prediction of the exit where PABEE stopped it, or of exit c if it had not stopped yet."""
    stops = pabee_exits(predictions, patience)
    e = predictions.shape[0]
    taken = np.minimum(stops[None, :], np.arange(e)[:, None])
    return np.take_along_axis(predictions, taken, axis=0)


def bucket_names(levels: tuple[float, ...]) -> list[str]:
    """Names of the confidence buckets of falling `levels`: '>90%', '80%-90%', '<80%'."""
    pct = [f"{100 * b:g}%" for b in levels]
    return [f">{pct[0]}"] + [f"{lo}-{hi}" for hi, lo in zip(pct, pct[1:])] + [f"<{pct[-1]}"]


def bucket_counts(combiner: Bayes, split: SplitLogits) -> tuple[np.ndarray, np.ndarray]:
    """Per exit and confidence bucket of `combiner` (a bayes-cp method) on `split`: the
    number of samples [E, B] and the accuracy of exit e's own top label in each [E, B]
    (NaN where a bucket is empty)."""
    buckets = combiner.buckets(split.logits)
    correct = split.predictions() == split.labels[None]
    b = len(combiner.config.buckets) + 1
    counts = np.stack([np.bincount(row, minlength=b) for row in buckets])
    hits = np.stack([np.bincount(row, weights=c, minlength=b) for row, c in zip(buckets, correct)])
    with np.errstate(invalid="ignore", divide="ignore"):
        return counts, hits / counts
