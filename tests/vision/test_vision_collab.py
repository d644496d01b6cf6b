"""Collaborative inference across exits (thesis ch. 5): Bayesian updating, conformal buckets,
voting, PABEE, on hand-made and synthetic logits."""
from __future__ import annotations

import numpy as np
import pytest

from dpv.vision.infer.collab import (
    Bayes,
    CollabConfig,
    bayes_update,
    bucket_counts,
    build_combiner,
    conformal_quantile,
    conformal_sets,
    confusion_counts,
    likelihood_from_counts,
    pabee_exits,
    pabee_predictions,
    parse_methods,
    softmax,
)
from dpv.vision.infer.logits import SplitLogits, synthetic_logits


def test_figure_5_2_example():
    """Finch / hen / ship: uniform prior, then likelihoods (0.8, 0.2, 0.1) and (0.4, 0.5, 0.1)."""
    first = bayes_update(np.full(3, 1 / 3), np.array([0.8, 0.2, 0.1]))
    np.testing.assert_allclose(first, [0.727, 0.182, 0.091], atol=5e-4)
    second = bayes_update(first, np.array([0.4, 0.5, 0.1]))
    np.testing.assert_allclose(second, [0.744, 0.233, 0.023], atol=5e-4)


def test_bayes_combiner_applies_equation_5_2_per_exit():
    """The combiner's posterior at exit 2 is the product of the two confusion-matrix columns
    of the observed outputs, normalised."""
    logits = np.zeros((2, 6, 3), dtype=np.float32)
    labels = np.array([0, 0, 1, 1, 2, 2])
    logits[0, np.arange(6), [0, 1, 1, 1, 2, 0]] = 5   # exit 1 outputs
    logits[1, np.arange(6), [0, 0, 1, 2, 2, 2]] = 5   # exit 2 outputs
    val = SplitLogits(logits, labels)
    bayes = Bayes(val, CollabConfig(smoothing=0.5), buckets=False, oracle=False)
    lik = likelihood_from_counts(np.stack([confusion_counts(labels, o, 3, 3)
                                           for o in logits.argmax(axis=2)]), 0.5)
    np.testing.assert_allclose(bayes.likelihood, lik)
    steps = list(bayes.steps(logits))
    sample = 1  # outputs 1 then 0
    expected = lik[0][:, 1] * lik[1][:, 0]
    np.testing.assert_allclose(steps[1][sample], expected / expected.sum())
    np.testing.assert_allclose(steps[0].sum(axis=1), 1)


def test_bayes_converges_to_oracle_with_enough_validation_samples():
    """Likelihoods counted on a large validation split approach the test split's: the bayes
    and bayes-oracle predictions then agree almost everywhere, far more than with a small
    validation split."""
    big = synthetic_logits(num_exits=4, num_classes=6, val_size=60_000, test_size=20_000, seed=1)
    small = synthetic_logits(num_exits=4, num_classes=6, val_size=60, test_size=10, seed=2)
    config = CollabConfig(smoothing=1.0)
    oracle = build_combiner("bayes-oracle", big.val, big.test, big.exit_flops, config)
    oracle_pred, _ = oracle.predict(big.test.logits)

    def agreement(val):
        bayes = build_combiner("bayes", val, big.test, big.exit_flops, config)
        pred, _ = bayes.predict(big.test.logits)
        return (pred == oracle_pred).mean(axis=1), (pred == big.test.labels).mean(axis=1)

    (large, acc), (few, _) = agreement(big.val), agreement(small.val)
    oracle_acc = (oracle_pred == big.test.labels).mean(axis=1)
    assert (large > 0.97).all(), large
    assert (large[1:] > few[1:]).all(), (large, few)
    np.testing.assert_allclose(acc, oracle_acc, atol=0.005)
    assert np.abs(build_combiner("bayes", big.val, big.test, big.exit_flops, config).likelihood
                  - oracle.likelihood).max() < 0.02


def test_oracle_methods_are_labelled_upper_bound():
    data = synthetic_logits(num_exits=3, val_size=100, test_size=100)
    for name in ("bayes-oracle", "bayes-cp-oracle"):
        label = build_combiner(name, data.val, data.test, data.exit_flops, CollabConfig()).label
        assert "oracle" in label and "upper bound" in label
    assert "oracle" not in build_combiner("bayes", data.val, data.test, data.exit_flops,
                                          CollabConfig()).label


def test_conformal_coverage_holds_on_synthetic_scores():
    """Split conformal on exchangeable scores: the sets {y: p_y >= 1 - q} calibrated on 2,000
    samples cover the true label of fresh samples at about the chosen level (and not
    trivially more), even though the scores are overconfident."""
    rng = np.random.default_rng(0)

    def draw(n):
        labels = rng.integers(20, size=n)
        logits = 1.2 * rng.standard_normal((n, 20))
        logits[np.arange(n), labels] += 1.5
        return softmax(4.0 * logits), labels     # temperature 1/4: overconfident

    cal_p, cal_y = draw(2000)
    test_p, test_y = draw(40_000)
    for level in (0.9, 0.8):
        q = conformal_quantile(cal_p, cal_y, level)
        coverage = conformal_sets(test_p, q)[np.arange(len(test_y)), test_y].mean()
        assert level - 0.015 <= coverage <= level + 0.03, (level, coverage)
        top1 = (test_p.argmax(axis=1) == test_y).mean()
        assert top1 < level - 0.1   # the sets are not just the top label


def test_bayes_cp_buckets_raw_and_calibrated():
    data = synthetic_logits(num_exits=3, num_classes=10, val_size=3000, test_size=3000, seed=3)
    for calibrate in (False, True):
        cp = build_combiner("bayes-cp", data.val, data.test, data.exit_flops,
                            CollabConfig(calibrate=calibrate))
        counts, accuracy = bucket_counts(cp, data.test)
        assert counts.shape == (3, 3) and (counts.sum(axis=1) == 3000).all()
        # the confident bucket is the most accurate wherever it is populated
        filled = counts[:, 0] >= 30
        assert filled.any()
        assert (accuracy[filled, 0] >= accuracy[filled, 2]).all()
        assert cp.likelihood.shape == (3, 10, 30)
    probs = softmax(data.test.logits)
    raw = build_combiner("bayes-cp", data.val, data.test, data.exit_flops, CollabConfig())
    b = raw.buckets(data.test.logits)
    top = probs.max(axis=2)
    assert (b[top > 0.9] == 0).all() and (b[(top > 0.8) & (top <= 0.9)] == 1).all()
    assert (b[top <= 0.8] == 2).all()


def test_voting_is_weighted_mean_of_exits_so_far():
    data = synthetic_logits(num_exits=3, num_classes=4, val_size=50, test_size=50)
    z = data.test.logits.astype(np.float64)
    flops = data.exit_flops.astype(np.float64)
    vote = build_combiner("logit-vote-flops", data.val, data.test, data.exit_flops, CollabConfig())
    pred, conf = vote.predict(data.test.logits)
    mean = (flops[0] * z[0] + flops[1] * z[1]) / (flops[0] + flops[1])
    np.testing.assert_array_equal(pred[1], mean.argmax(axis=1))
    np.testing.assert_allclose(conf[1], softmax(mean).max(axis=1))
    soft = build_combiner("softmax-vote", data.val, data.test, data.exit_flops, CollabConfig())
    pred, _ = soft.predict(data.test.logits)
    np.testing.assert_array_equal(pred[2], softmax(z).mean(axis=0).argmax(axis=1))
    last = build_combiner("last", data.val, data.test, data.exit_flops, CollabConfig())
    np.testing.assert_array_equal(last.predict(data.test.logits)[0], data.test.predictions())
    for name in ("logit-vote", "logit-vote-acc", "softmax-vote-acc"):
        pred, _ = build_combiner(name, data.val, data.test, data.exit_flops,
                                 CollabConfig()).predict(data.test.logits)
        np.testing.assert_array_equal(pred[0], data.test.predictions()[0])


def test_pabee_patience():
    same = np.array([[3, 1], [3, 1], [3, 1], [3, 1]])
    np.testing.assert_array_equal(pabee_exits(same, 1), [1, 1])      # exit 2 (0-based 1)
    np.testing.assert_array_equal(pabee_exits(same, 2), [2, 2])
    changing = np.array([[0, 0], [1, 1], [1, 2], [1, 3]])
    np.testing.assert_array_equal(pabee_exits(changing, 2), [3, 3])  # 1,1,1 / never: last
    np.testing.assert_array_equal(pabee_exits(changing, 1), [2, 3])
    # anytime: answers of exit min(stop, c)
    preds = np.array([[5], [5], [7], [7]])
    np.testing.assert_array_equal(pabee_predictions(preds, 1)[:, 0], [5, 5, 5, 5])
    with pytest.raises(ValueError):
        pabee_exits(same, 0)


def test_bad_methods_and_settings_are_one_line_errors():
    with pytest.raises(ValueError, match="unknown method 'bayse'"):
        parse_methods("last,bayse")
    assert parse_methods("all")[0] == "last" and "pabee" in parse_methods("all")
    with pytest.raises(ValueError, match="smoothing"):
        CollabConfig(smoothing=0)
    with pytest.raises(ValueError, match="buckets"):
        CollabConfig(buckets=(0.8, 0.9))
