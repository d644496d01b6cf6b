"""`dpv bayes-sim`: the synthetic Bayesian-updating study of thesis sec. 5.4.2."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from dpv.cli import main
from dpv.vision.sim.bayes import (
    SimConfig,
    confusion_matrices,
    estimate_likelihoods,
    sample_outputs,
    simulate,
    sweep_configs,
)

SMALL = SimConfig(classes=20, samples_per_class=40, steps=5, items=500, trials=2)


def test_confusion_matrices_put_the_true_label_on_top():
    rng = np.random.default_rng(0)
    config = dataclasses.replace(SMALL, accuracy=[0.3, 0.5, 0.7, 0.8, 0.9])
    p = confusion_matrices(config, rng)
    assert p.shape == (5, 20, 20)
    np.testing.assert_allclose(p.sum(axis=2), 1)
    assert (p.argmax(axis=2) == np.arange(20)).all()
    diag = np.diagonal(p, axis1=1, axis2=2).mean(axis=1)
    assert np.all(np.diff(diag) > 0) and abs(diag[-1] - 0.9) < 0.05


def test_outputs_and_estimates_follow_the_true_matrices():
    rng = np.random.default_rng(1)
    p = confusion_matrices(SMALL, rng)
    labels = np.repeat(np.arange(20), 2000)
    outputs = sample_outputs(p, labels, rng)
    freq = np.stack([np.bincount(outputs[0, labels == c], minlength=20) / 2000 for c in range(20)])
    assert np.abs(freq - p[0]).max() < 0.04
    est = estimate_likelihoods(p, 10_000, 1.0, rng)
    assert np.abs(est - p).max() < 0.03


def test_true_likelihoods_beat_estimated_and_more_samples_help():
    result = simulate(SMALL)
    err_true, err_est = np.array(result.error_true), np.array(result.error_est)
    assert err_true.shape == (5, 3)
    assert (err_true[:, 0] <= err_true[:, 1]).all() and (err_true[:, 1] <= err_true[:, 2]).all()
    # after a few updates the true likelihoods make the posterior error small, the estimated
    # ones leave it larger and wider
    assert err_true[3, 1] <= err_est[3, 1] and err_true[3, 2] <= err_est[3, 2]
    assert result.top1_true[-1] > max(result.top1_single) + 0.1
    rich = simulate(dataclasses.replace(SMALL, samples_per_class=2000))
    assert np.array(rich.error_est)[2, 2] < err_est[2, 2]
    # seeded: the same config gives the same numbers
    assert simulate(SMALL).error_est == result.error_est


def test_sweeps_and_presets():
    names = [n for n, _ in sweep_configs("presets", SMALL)]
    assert names == ["cifar100", "imagenet"]
    configs = [c for _, c in sweep_configs("presets", SMALL)]
    assert (configs[0].classes, configs[0].samples_per_class) == (100, 50)
    assert (configs[1].classes, configs[1].samples_per_class) == (1000, 200)
    assert [c.samples_per_class for _, c in sweep_configs("samples", SMALL)] == [50, 100, 200, 400]
    assert all(c.classes == c.samples_per_class for _, c in sweep_configs("classes", SMALL))
    with pytest.raises(ValueError, match="unknown sweep"):
        sweep_configs("colours", SMALL)


def test_figure_5_7_accuracy_varies_per_stage_and_every_stage_matters():
    """Fig. 5.7: the accuracies differ between the stages of one setting, and a weak stage
    anywhere (late as well as early) leaves the posterior less accurate than all-strong."""
    assert all(len(c.accuracy) == SMALL.steps for _, c in sweep_configs("accuracy", SMALL))
    hard = SimConfig(classes=100, samples_per_class=50, steps=4, concentration=0.5, items=1000,
                     trials=1)
    runs = dict(sweep_configs("accuracy", hard))
    assert runs["accuracy rising 0.3 to 0.9"].accuracy == [0.3, 0.5, 0.7, 0.9]
    final = {name: simulate(c).top1_est[-1] for name, c in runs.items()}
    strong = final["accuracy all 0.9"]
    for weak in ("accuracy early 0.9, late 0.5", "accuracy early 0.5, late 0.9"):
        assert final["accuracy all 0.5"] < final[weak] < strong, (weak, final)


def test_cli_writes_tables_and_plot(tmp_path, capsys):
    rc = main(["bayes-sim", "--classes", "30", "--samples-per-class", "20", "--steps", "4",
               "--items", "300", "--trials", "1", "--sweep", "accuracy", "--out", str(tmp_path)])
    assert rc == 0
    out = capsys.readouterr().out
    assert "accuracy early 0.9, late 0.5" in out and "accuracy 0.9, one stage 0.3" in out
    data = json.loads((tmp_path / "sweep-accuracy.json").read_text())
    assert [d["config"]["accuracy"] for d in data] == [
        [0.5] * 4, [0.9] * 4, [0.9, 0.9, 0.5, 0.5], [0.5, 0.5, 0.9, 0.9], [0.3, 0.5, 0.7, 0.9],
        [0.9, 0.9, 0.3, 0.9]]
    assert (tmp_path / "sweep-accuracy.png").stat().st_size > 10_000


def test_bad_settings_are_one_line_errors(tmp_path, capsys):
    assert main(["bayes-sim", "--accuracy", "0.5,x", "--out", str(tmp_path)]) == 2
    assert "--accuracy takes numbers" in capsys.readouterr().err
    assert main(["bayes-sim", "--accuracy", "0.5,0.6", "--steps", "3", "--out", str(tmp_path)]) == 2
    assert "accuracy needs 1 or 3" in capsys.readouterr().err
    config = tmp_path / "sim.yaml"
    config.write_text("classes: 10\nsample_per_class: 5\n")
    assert main(["bayes-sim", "--config", str(config), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "sim.yaml: unknown key 'sample_per_class'" in err and len(err.splitlines()) == 1
