"""Budgeted batch classification (thesis sec. 2.1.3): thresholds from the validation split for
geometric exit shares, accuracy vs mean FLOPs on the test split."""
from __future__ import annotations

import numpy as np

from dpv.vision.infer.budgeted import (
    Q_VALUES,
    budgeted_curve,
    exits_taken,
    find_thresholds,
    geometric_share,
    pabee_curve,
)
from dpv.vision.infer.collab import CollabConfig, build_combiner
from dpv.vision.infer.logits import synthetic_logits


def test_geometric_shares():
    assert len(Q_VALUES) == 39 and Q_VALUES[0] == 0.05 and Q_VALUES[-1] == 1.95
    p = geometric_share(0.5, 4)
    np.testing.assert_allclose(p, np.array([0.5, 0.25, 0.125, 0.0625]) / 0.9375)
    np.testing.assert_allclose(geometric_share(1.0, 5), 0.2)
    assert np.all(np.diff(geometric_share(1.5, 5)) > 0)


def test_thresholds_reproduce_the_target_shares_on_validation():
    """With distinct confidences, exactly floor(n p_k) validation samples leave at each exit
    but the last, which takes the rest."""
    rng = np.random.default_rng(0)
    conf = rng.random((4, 1000))
    for q in (0.3, 1.0, 1.7):
        share = geometric_share(q, 4)
        tau = find_thresholds(conf, share)
        counts = np.bincount(exits_taken(conf, tau), minlength=4)
        np.testing.assert_array_equal(counts[:3], np.floor(1000 * share[:3]).astype(int))
        assert counts.sum() == 1000 and np.isneginf(tau[-1])


def test_walk_skips_samples_that_already_left():
    # sample 0 is the most confident at both exits; at exit 2 the walk must skip it
    conf = np.array([[0.9, 0.5, 0.4, 0.1], [0.99, 0.8, 0.7, 0.6], [0, 0, 0, 0]])
    tau = find_thresholds(conf, np.array([0.25, 0.25, 0.5]))
    assert tau[0] == 0.9 and tau[1] == 0.8
    np.testing.assert_array_equal(exits_taken(conf, tau), [0, 1, 2, 2])


def test_curve_spends_more_flops_for_more_accuracy():
    data = synthetic_logits(num_exits=5, num_classes=10, val_size=4000, test_size=4000, seed=4)
    last = build_combiner("last", data.val, data.test, data.exit_flops, CollabConfig())
    pred, conf = last.predict(data.test.logits)
    _, val_conf = last.predict(data.val.logits)
    points = budgeted_curve(val_conf, pred, conf, data.test.labels, data.exit_flops)
    assert len(points) == 39
    flops = [p.mean_flops for p in points]
    acc = [p.accuracy for p in points]
    assert flops[0] < flops[-1] and acc[0] < acc[-1]
    assert data.exit_flops[0] <= min(flops) and max(flops) <= data.exit_flops[-1]
    for p in points:
        assert abs(sum(p.exit_share) - 1) < 1e-9
    # the test split follows the validation thresholds closely (same distribution)
    mid = points[19]
    np.testing.assert_allclose(mid.exit_share, geometric_share(mid.setting, 5), atol=0.04)


def test_pabee_curve_one_point_per_patience():
    data = synthetic_logits(num_exits=4, num_classes=10, val_size=10, test_size=2000, seed=5)
    points = pabee_curve(data.test.predictions(), data.test.labels, data.exit_flops)
    assert [p.setting for p in points] == [1, 2, 3]
    assert points[0].mean_flops < points[1].mean_flops < points[2].mean_flops
    assert points[0].exit_share[0] == 0  # PABEE never stops at the first exit
