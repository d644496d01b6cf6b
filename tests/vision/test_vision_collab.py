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
    conformal_scores,
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


def _overconfident(rng, n):
    labels = rng.integers(20, size=n)
    logits = 1.2 * rng.standard_normal((n, 20))
    logits[np.arange(n), labels] += 1.5
    return softmax(4.0 * logits), labels     # temperature 1/4: overconfident


@pytest.mark.parametrize("score,slack", [("aps", 0.07), ("lac", 0.03)])
def test_conformal_coverage_holds_on_synthetic_scores(score, slack):
    """Split conformal on exchangeable scores: the sets calibrated on 2,000 samples cover the
    true label of fresh samples at least at about the chosen level (and not trivially more),
    even though the scores are overconfident. APS without randomisation keeps the label that
    reaches the threshold, so it covers a little more."""
    rng = np.random.default_rng(0)
    cal_p, cal_y = _overconfident(rng, 2000)
    test_p, test_y = _overconfident(rng, 40_000)
    for level in (0.9, 0.8):
        q = conformal_quantile(cal_p, cal_y, level, score)
        coverage = conformal_sets(test_p, q, score)[np.arange(len(test_y)), test_y].mean()
        assert level - 0.015 <= coverage <= level + slack, (level, coverage)
        top1 = (test_p.argmax(axis=1) == test_y).mean()
        assert top1 < level - 0.1   # the sets are not just the top label


def test_aps_sets_accumulate_the_softmax_in_falling_order():
    """Sec. 5.3.4: labels join in falling softmax order until the accumulated mass reaches
    the threshold (the label that reaches it included); the score of the true label is the
    cumulative softmax up to it."""
    p = np.array([[0.5, 0.1, 0.3, 0.1], [0.05, 0.9, 0.03, 0.02]])
    np.testing.assert_allclose(conformal_scores(p, np.array([2, 1])), [0.8, 0.9])
    np.testing.assert_allclose(conformal_scores(p, np.array([2, 1]), "lac"), [0.7, 0.1])
    sets = conformal_sets(p, 0.75)
    assert sets.tolist() == [[True, False, True, False], [False, True, False, False]]
    assert conformal_sets(p, 0.5)[0].tolist() == [True, False, False, False]
    assert conformal_sets(p, 0.0).sum() == 0 and conformal_sets(p, float("inf")).all()
    rng = np.random.default_rng(1)
    probs, _ = _overconfident(rng, 500)
    q = 0.7
    sets = conformal_sets(probs, q)
    assert (sets.sum(axis=1) >= 1).all()
    # the set is {top label} alone exactly when the top label's softmax reaches q
    np.testing.assert_array_equal(sets.sum(axis=1) == 1, probs.max(axis=1) >= q)
    with pytest.raises(ValueError, match="unknown conformal score 'raps'"):
        CollabConfig(conformal_score="raps")


def test_bayes_at_exit_1_is_the_exit_s_own_prediction():
    """Tables 5.1-5.4: every Bayes row equals the baseline at exit 1, even where the
    confusion matrix's column of the output peaks at another label; exit 2's posterior still
    starts from exit 1's likelihood."""
    labels = np.array([0, 0, 0, 1, 1, 2])
    logits = np.zeros((2, 6, 3))
    outputs = np.array([[1, 1, 1, 1, 0, 2], [0, 0, 0, 1, 1, 2]])  # exit 1 calls most 0s "1"
    for e in range(2):
        logits[e, np.arange(6), outputs[e]] = 4
    val = SplitLogits(logits, labels)
    for name in ("bayes", "bayes-cp"):
        bayes = build_combiner(name, val, val, np.array([1.0, 2.0]), CollabConfig())
        steps = list(bayes.steps(logits))
        np.testing.assert_allclose(steps[0], softmax(logits[0]))
        pred, conf = bayes.predict(logits)
        np.testing.assert_array_equal(pred[0], outputs[0])
        np.testing.assert_allclose(conf[0], softmax(logits[0]).max(axis=1))
    bayes = build_combiner("bayes", val, val, np.array([1.0, 2.0]), CollabConfig())
    posterior_1 = bayes_update(np.full(3, 1 / 3), bayes.likelihood[0].T[outputs[0]])
    assert (posterior_1.argmax(axis=1) != outputs[0]).any()  # the posterior alone would differ
    expected = bayes_update(posterior_1, bayes.likelihood[1].T[outputs[1]])
    np.testing.assert_allclose(list(bayes.steps(logits))[1], expected)


def test_bayes_cp_buckets_raw_and_calibrated():
    data = synthetic_logits(num_exits=3, num_classes=10, val_size=3000, test_size=3000, seed=3)
    for calibrate, score in ((False, "aps"), (True, "aps"), (True, "lac")):
        cp = build_combiner("bayes-cp", data.val, data.test, data.exit_flops,
                            CollabConfig(calibrate=calibrate, conformal_score=score))
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
