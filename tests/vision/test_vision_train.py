"""dpv vision-train on the real digits data set: every loss trains its exits well above chance
(two of them through Ray Train with 2 CPU workers, the others in the calling process, which
runs the same epochs without Ray), a stopped run resumes at the next epoch with the saved
optimizer state and ends where an uninterrupted run ends, and the reports come out."""
from __future__ import annotations

import dataclasses
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch

from dpv.vision.train.checkpoint import load_vision_checkpoint
from dpv.vision.train.config import VisionTrainConfig
from dpv.vision.train.job import best_epoch, train
from dpv.vision.train.report import THESIS_TABLES, summarize, write_comparison
from dpv.vision.train.sweep import sweep_points, write_sweep

# (loss, dynamic); last-only losses train the last exit alone.
RUNS = [("ce", False), ("damping", False), ("power-sqrt", False), ("power-sqrt", True),
        ("label-smoothing", False), ("last-only", False), ("threshold-last-only", False)]
# Trained by Ray Train with 2 DDP workers, as one pair of jobs: the report test's run and a last-only loss (DDP with
# unused parameters); the others in this process (workers 0), a Ray Train job's start-up saved.
RAY_TRAIN = {"power-sqrt+dynamic", "threshold-last-only"}
CHANCE = 10.0


def digits_config(**changes) -> VisionTrainConfig:
    """Two epochs of msdnet-tiny on digits, 2 workers of 16 images each per step."""
    base = VisionTrainConfig(dataset="digits", epochs=2, batch_size=32, lr=0.2, workers=2)
    return dataclasses.replace(base, **changes)


def _workers(label: str) -> int:
    return 2 if label in RAY_TRAIN else 0


def _label(loss: str, dynamic: bool) -> str:
    return loss + ("+dynamic" if dynamic else "")


class Runs:
    """Finished runs by label, trained on first use inside the test that needs them (so each
    test's timeout covers at most a few runs). Ray Train runs go two at a time: the one asked
    for and the next untrained one of RAY_TRAIN. Two jobs of 2 workers fill the session Ray's
    4 CPUs and overlap their start-up waits (a pair took 0.83-0.86 of the time of the same two
    jobs one after the other on 2 shared cores); a run's results do not depend on its
    neighbour."""

    def __init__(self, root) -> None:
        self.root, self.done = root, {}

    def __getitem__(self, label: str):
        if label not in self.done:
            todo = [label]
            if label in RAY_TRAIN:
                todo += [_label(*r) for r in RUNS if _label(*r) in RAY_TRAIN - {label, *self.done}][:1]
            with ThreadPoolExecutor(len(todo)) as pool:
                self.done.update(zip(todo, pool.map(self._train, todo)))
        return self.done[label]

    def _train(self, label: str):
        loss, dynamic = next(r for r in RUNS if _label(*r) == label)
        return train(digits_config(loss=loss, dynamic=dynamic, workers=_workers(label)), self.root / label)


@pytest.fixture(scope="module")
def runs(ray_session, tmp_path_factory) -> Runs:
    """One 2-epoch run per loss, by label."""
    return Runs(tmp_path_factory.mktemp("vision-runs"))


@pytest.mark.parametrize("loss,dynamic", RUNS, ids=[_label(*r) for r in RUNS])
def test_every_loss_trains_its_exits_well_above_chance(runs, loss, dynamic):
    result = runs[_label(loss, dynamic)]
    assert result.finished and result.epoch == 2
    ck = load_vision_checkpoint(result.checkpoint)
    assert ck.config.workers == _workers(_label(loss, dynamic)) and ck.config.label() == _label(loss, dynamic)
    assert ck.damping == (loss in ("damping", "power-sqrt")) and ck.num_classes == 10
    test = ck.metrics["test"]["accuracy"]
    assert len(test) == ck.model.num_exits == len(ck.exit_costs) == 4
    trained = test[-1:] if loss.endswith("last-only") else test
    assert min(trained) > 3 * CHANCE, test
    history = ck.metrics["history"]
    assert [h["epoch"] for h in history] == [1, 2]
    assert all(len(h["val_accuracy"]) == 4 and h["images_per_s"] > 0 for h in history)
    lines = (result.run_dir / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1, 2]
    best = ck.metrics["test_best"]
    assert best["epoch"] == best_epoch(history) and len(best["accuracy"]) == 4
    saved_best = load_vision_checkpoint(result.run_dir / "best.pt")
    assert saved_best.epoch == best["epoch"] and saved_best.optimizer_state is None
    if best["epoch"] == 2:
        assert best["accuracy"] == test
    with torch.no_grad():
        logits = ck.model(torch.zeros(2, 3, 32, 32))
    assert [z.shape[1] for z in logits] == [10 + ck.damping] * 4


def test_anytime_report_lists_every_exit_with_params_and_flops(runs):
    result = runs["power-sqrt+dynamic"]
    report = json.loads((result.run_dir / "report.json").read_text())
    exits = report["exits"]
    assert [e["exit"] for e in exits] == [1, 2, 3, 4]
    assert all(a["flops"] < b["flops"] and a["params"] < b["params"]
               for a, b in zip(exits, exits[1:]))
    assert all(e["test_accuracy"] > 3 * CHANCE and 0 < e["damping_mean"] < 1 for e in exits)
    markdown = (result.run_dir / "report.md").read_text()
    assert markdown.count("\n| ") == 5 and "FLOPs (M)" in markdown
    assert (result.run_dir / "accuracy_flops.png").read_bytes()[:4] == b"\x89PNG"


def test_stopped_run_resumes_at_the_next_epoch_and_matches_an_uninterrupted_run(runs, tmp_path):
    run_dir = tmp_path / "stopped"
    first = train(digits_config(stop_after=1, workers=_workers("ce")), run_dir)
    assert (first.epoch, first.finished) == (1, False)
    stopped = load_vision_checkpoint(run_dir / "last.pt")
    assert stopped.epoch == 1 and "test" not in stopped.metrics
    assert not (run_dir / "report.md").exists()
    momentum = [s["momentum_buffer"] for s in stopped.optimizer_state["state"].values()]
    assert momentum and all(m.abs().sum() > 0 for m in momentum)

    resumed = train(VisionTrainConfig(), run_dir, resume=True)
    assert (resumed.epoch, resumed.finished) == (2, True)
    final = load_vision_checkpoint(run_dir / "last.pt")
    assert [h["epoch"] for h in final.metrics["history"]] == [1, 2]
    assert final.metrics["history"][0] == stopped.metrics["history"][0]

    reference = load_vision_checkpoint(runs["ce"].checkpoint)  # same config, in one go
    assert final.metrics["history"][0]["val_accuracy"] == \
        reference.metrics["history"][0]["val_accuracy"]
    for name, value in reference.model.state_dict().items():
        torch.testing.assert_close(final.model.state_dict()[name], value, rtol=1e-4, atol=1e-5,
                                   msg=name)
    saved = [s["momentum_buffer"] for s in final.optimizer_state["state"].values()]
    expected = [s["momentum_buffer"] for s in reference.optimizer_state["state"].values()]
    for a, b in zip(saved, expected):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    assert final.metrics["test"]["accuracy"] == pytest.approx(
        reference.metrics["test"]["accuracy"], abs=0.6)  # at most 2 of 360 images
    assert final.metrics["test_best"]["epoch"] == reference.metrics["test_best"]["epoch"]


def test_resume_refuses_other_settings_and_new_runs_refuse_an_existing_one(runs):
    run_dir = runs["ce"].run_dir
    with pytest.raises(ValueError, match="'loss' is 'ce' there, not 'damping'"):
        train(digits_config(loss="damping"), run_dir, resume=True, overrides={"loss": "damping"})
    with pytest.raises(ValueError, match="already holds a run .*--resume"):
        train(digits_config(), run_dir)


def test_comparison_averages_seeds_per_loss(runs, tmp_path):
    base = [load_vision_checkpoint(runs[label].checkpoint) for label in ("ce", "power-sqrt")]
    checkpoints = []
    for ck in base:  # three "seeds" per loss, accuracies shifted by -1, 0, +1
        for seed, shift in enumerate((-1.0, 0.0, 1.0)):
            metrics = {**ck.metrics, "test": {**ck.metrics["test"], "accuracy": [
                a + shift for a in ck.metrics["test"]["accuracy"]]}}
            checkpoints.append(dataclasses.replace(
                ck, config=dataclasses.replace(ck.config, seed=seed), metrics=metrics))
    summaries = summarize(checkpoints)
    assert [s.label for s in summaries] == ["ce", "power-sqrt"]
    for s, ck in zip(summaries, base):
        assert s.seeds == [0, 1, 2]
        assert s.mean == pytest.approx(ck.metrics["test"]["accuracy"])
        assert s.std == pytest.approx([1.0] * 4)
    paths = write_comparison(checkpoints, tmp_path, thesis="cifar100-msdnet")
    markdown = paths["markdown"].read_text()
    assert "± 1.00" in markdown and THESIS_TABLES["cifar100-msdnet"]["title"] in markdown
    assert "| power-sqrt+dynamic | 62.74 |" in markdown
    assert json.loads(paths["json"].read_text())["methods"][0]["std"] == pytest.approx([1.0] * 4)
    assert paths["png"].read_bytes()[:4] == b"\x89PNG"
    unfinished = dataclasses.replace(base[0], metrics={"history": []})
    with pytest.raises(ValueError, match="unfinished run"):
        summarize([unfinished])


def test_vision_report_command_writes_the_anytime_table_and_the_comparison(runs, tmp_path,
                                                                           capsys):
    from dpv.cli import main

    one = runs["damping"].run_dir
    assert main(["vision-report", str(one), "--out", str(tmp_path / "one")]) == 0
    assert "| 4 | 0.102 |" in capsys.readouterr().out
    assert (tmp_path / "one" / "report.json").is_file()
    both = [str(runs[label].run_dir / "last.pt") for label in ("ce", "damping")]
    assert main(["vision-report", *both, "--thesis", "cifar100-msdnet",
                 "--out", str(tmp_path / "cmp")]) == 0
    out = capsys.readouterr().out
    assert "| ce | 1 |" in out and "| damping | 1 |" in out and "Table 4.1" in out
    assert (tmp_path / "cmp" / "comparison.png").is_file()


def _seeded(ck, seed: int, shift: float = 0.0, **settings):
    """`ck` as if run with `seed` and `settings`, its test accuracies (final and best epoch)
    shifted by `shift`."""
    metrics = dict(ck.metrics)
    for key in ("test", "test_best"):
        if key in metrics:
            metrics[key] = {**metrics[key], "accuracy": [a + shift for a in metrics[key]["accuracy"]]}
    return dataclasses.replace(ck, config=dataclasses.replace(ck.config, seed=seed, **settings),
                               metrics=metrics)


def test_best_epoch_is_the_first_with_the_best_last_exit():
    history = [{"epoch": e, "val_accuracy": [0.0, v]} for e, v in enumerate((50, 70, 70, 60), 1)]
    assert best_epoch(history) == 2


def test_comparison_groups_runs_by_lambda_and_reports_damping_means(runs, tmp_path):
    """Table 4.7: the runs of one loss at several lambdas are separate rows; Table 4.8: the
    mean damping softmax per exit beside them."""
    damping = load_vision_checkpoint(runs["damping"].checkpoint)
    ce = load_vision_checkpoint(runs["ce"].checkpoint)
    checkpoints = [_seeded(damping, seed, shift, lam=lam)
                   for lam in (0.005, 0.05) for seed, shift in enumerate((-1.0, 1.0))]
    checkpoints.append(ce)
    summaries = summarize(checkpoints)
    assert [s.label for s in summaries] == ["damping lam=0.005", "damping lam=0.05", "ce"]
    assert summaries[0].seeds == [0, 1] and summaries[0].std == pytest.approx([2 ** 0.5] * 4)
    assert summaries[0].damping_mean == pytest.approx(damping.metrics["test"]["damping_mean"])
    assert summaries[2].damping_mean == []
    markdown = write_comparison(checkpoints, tmp_path, thesis="cifar100-lambda")["markdown"].read_text()
    assert "| damping lam=0.05 | 2 |" in markdown and "Table 4.8" in markdown
    assert "| power-sqrt lam=0.025 | 61.88 |" in markdown
    # one lambda per loss: the rows are named by the loss alone
    assert [s.label for s in summarize([damping, ce])] == ["damping", "ce"]


def test_last_only_is_compared_at_its_best_epoch(runs, tmp_path):
    """Table 4.6: "MSDNet last only" is the early-stopped run, the other rows are final."""
    last = load_vision_checkpoint(runs["last-only"].checkpoint)
    threshold = load_vision_checkpoint(runs["threshold-last-only"].checkpoint)
    summaries = summarize([last, threshold])
    assert [s.label for s in summaries] == ["last-only (best epoch)", "threshold-last-only"]
    assert summaries[0].mean == last.metrics["test_best"]["accuracy"]
    assert summaries[1].mean == threshold.metrics["test"]["accuracy"]
    markdown = write_comparison([last, threshold], tmp_path,
                                thesis="cifar100-last-only")["markdown"].read_text()
    assert "| last exit | avg |" in markdown and "| damping-last-only | 76.63 | 76.63 |" in markdown


def test_threshold_sweep_reports_accuracy_and_loss_per_threshold(runs, tmp_path, capsys):
    """Fig. 4.3: the last exit's accuracy and the final training loss against the threshold
    of threshold-last-only, over seeds."""
    ck = load_vision_checkpoint(runs["threshold-last-only"].checkpoint)
    checkpoints = [_seeded(ck, seed, shift, threshold=t)
                   for t in (0.9, 0.7) for seed, shift in enumerate((-0.5, 0.5))]
    points = sweep_points(checkpoints, "threshold")
    assert [(p.loss, p.value, p.seeds) for p in points] == [
        ("threshold-last-only", 0.7, [0, 1]), ("threshold-last-only", 0.9, [0, 1])]
    assert points[0].accuracy == pytest.approx(ck.metrics["test"]["accuracy"][-1])
    assert points[0].accuracy_std == pytest.approx(2 ** -0.5)
    assert points[0].train_loss == ck.metrics["history"][-1]["train_loss"]
    paths = write_sweep(checkpoints, "threshold", tmp_path)
    assert "| threshold-last-only | 0.7 | 2 |" in paths["markdown"].read_text()
    assert paths["png"].read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="has no setting 'threshold'"):
        sweep_points([load_vision_checkpoint(runs["ce"].checkpoint)], "threshold")
    with pytest.raises(ValueError, match="unknown sweep setting 'epochs'"):
        sweep_points(checkpoints, "epochs")

    from dpv.cli import main

    assert main(["vision-report", str(runs["threshold-last-only"].run_dir), "--sweep", "threshold",
                 "--out", str(tmp_path / "cli")]) == 0
    assert "| threshold-last-only | 0.9 | 1 |" in capsys.readouterr().out
    assert (tmp_path / "cli" / "sweep-threshold.png").is_file()
