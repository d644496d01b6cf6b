"""`dpv study training` (dpv.studies.training): the config, the variants' self-play configs, and
a study resumed from finished runs (real checkpoints of tiny random networks) without replaying
its finished matches (real short matches, in this process)."""
from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from dpv.cli import main
from dpv.config import ConfigError
from dpv.studies.training import (
    VARIANTS,
    checkpoint_path,
    games_for,
    load_training_study,
    match_folder,
    run_training_study,
)

TINY_SELFPLAY = {
    "net": {"board_size": 9, "blocks": 2, "channels": 8, "exits": [1, 2], "value_hidden": 16},
    "search": {"simulations": 6, "max_moves": 30, "leaves_per_tree": 2, "opening_moves": 30},
    "server": {"max_wait_ms": 1.0, "device": "cpu"},
    "worker": {"workers": 1, "games": 4, "pipelines": 2, "sgf": False},
    "learner": {"min_games": 4, "games_per_cycle": 4, "steps": 5, "batch_size": 16, "device": "cpu"},
    "gating": {"games": 2, "simulations": 2, "threshold": 0.0},
    "metrics": {"port": None},
}
TINY_BASELINE = {"board_size": 9, "blocks": 2, "channels": 8, "exits": [2], "value_hidden": 16}


def write_study(folder: Path, **keys: object) -> Path:
    """A study config over the tiny self-play config and its one-exit baseline, with `keys`."""
    (folder / "selfplay.yaml").write_text(yaml.safe_dump(TINY_SELFPLAY))
    (folder / "baseline.yaml").write_text(yaml.safe_dump(TINY_BASELINE))
    study = {"selfplay": str(folder / "selfplay.yaml"), "baseline_net": str(folder / "baseline.yaml"),
             "steps": [5, 10], "samples_per_position": 2.0, "simulations": [2],
             "match": {"games": 2, "budget": "equal-sims", "max_moves": 20, "workers": 0,
                       "search": {"opening_moves": 20, "leaves_per_tree": 2}},
             **keys}
    path = folder / "study.yaml"
    path.write_text(yaml.safe_dump(study))
    return path


def test_each_variant_gets_its_loss_schedule_and_network_at_one_sample_ratio(tmp_path):
    study = load_training_study(write_study(tmp_path))
    runs = study.runs
    assert list(runs) == list(VARIANTS)
    assert {v: r.loss.variant for v, r in runs.items()} == {
        "weighted": "weighted", "no-weight": "no-weight", "multi-step": "weighted", "baseline": "weighted"}
    assert runs["multi-step"].learner.exit_schedule == "multi-step" and runs["multi-step"].learner.total_steps == 10
    assert runs["multi-step"].search.exit == 0  # the first interval's games come from exit 0 already
    assert all(r.learner.exit_schedule == "fixed" for v, r in runs.items() if v != "multi-step")
    assert runs["baseline"].net.exits == [2] and runs["weighted"].net.exits == [1, 2]
    assert {(r.learner.samples_per_position, r.learner.steps, r.learner.batch_size) for r in runs.values()} == {
        (2.0, 5, 16)}


def test_the_baseline_is_trained_whatever_the_variants(tmp_path):
    study = load_training_study(write_study(tmp_path), ["no-weight"])
    assert list(study.runs) == ["no-weight", "baseline"]


@pytest.mark.parametrize("keys, message", [
    ({"variants": ["weighted", "strong"]}, "unknown variant 'strong': use weighted, no-weight, multi-step, baseline"),
    ({"step": [5]}, "unknown key 'step'"),
    ({"steps": [10, 5]}, "'steps' must be ascending"),
    ({"steps": [5, 12]}, "must be multiples of the self-play config's learner.steps (5)"),
    ({"match": {"budget": "equal-flops"}}, "'match.budget' must be equal-sims"),
    ({"samples_per_position": 0}, "'samples_per_position' must be > 0"),
])
def test_a_bad_study_config_is_one_line(tmp_path, keys, message):
    with pytest.raises((ConfigError, ValueError)) as err:
        load_training_study(write_study(tmp_path, **keys))
    assert message in str(err.value) and "\n" not in str(err.value)


def test_without_a_baseline_net_the_baseline_is_the_base_network_with_its_last_exit(tmp_path):
    runs = load_training_study(write_study(tmp_path, baseline_net=None)).runs
    assert runs["baseline"].net == replace(runs["weighted"].net, exits=[2])


def test_a_baseline_of_another_trunk_is_refused(tmp_path):
    path = write_study(tmp_path)
    (tmp_path / "baseline.yaml").write_text(yaml.safe_dump({**TINY_BASELINE, "channels": 16}))
    with pytest.raises(ValueError, match="it differs in channels"):
        load_training_study(path)


def test_an_unknown_variant_on_the_command_line_is_a_one_line_error(tmp_path, capsys):
    assert main(["study", "training", "--config", str(write_study(tmp_path)), "--variants", "weighted,best"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == ("dpv study: error: unknown variant 'best': use weighted, no-weight, multi-step, "
                           "baseline")


def test_games_for_reaches_the_step_at_the_positions_per_game_so_far(tmp_path):
    cfg = load_training_study(write_study(tmp_path)).runs["weighted"]  # batch 16, 2 samples per position
    # the positions for one cycle (5 steps) beyond step 10: 15 x 16 / 2 = 120; then the 4 games in hand
    assert games_for(cfg, 10, 0, 0) == 4 + 4  # the move cap's 30 per game: 4 games
    long_run = replace(cfg, learner=replace(cfg.learner, min_games=1))
    # before any game: never past the step (the cap is the most positions a game can have)
    assert games_for(long_run, 1000, 0, 0) == math.ceil(1005 * 16 / 2 / 30) + 4
    assert games_for(cfg, 10, 4, 40) == 12 + 4  # 10 per game so far: 8 more games
    assert games_for(cfg, 10, 9, 150) == 10 + 4  # enough positions already: one game more than now


def fake_finished_runs(out: Path, study_path: Path) -> None:
    """Run directories as a finished study leaves them: summary.json and a checkpoint of a tiny
    random network at every step of every variant."""
    import torch

    from dpv.nets.checkpoint import save_checkpoint
    from dpv.nets.model import DPVNet

    study = load_training_study(study_path)
    for n, (variant, cfg) in enumerate(study.runs.items()):
        torch.manual_seed(n)
        for step in study.config.steps:
            path = checkpoint_path(out, variant, step)
            path.parent.mkdir(parents=True, exist_ok=True)
            save_checkpoint(path, DPVNet(cfg.net), step=step)
        summary = {"games": 10, "positions": 80, "learner_step": study.config.steps[-1]}
        (out / "runs" / variant / "summary.json").write_text(json.dumps(summary))


def test_a_resumed_study_reads_finished_runs_and_matches_back(tmp_path, capsys):
    study_path = write_study(tmp_path, variants=["weighted", "multi-step", "baseline"])
    out = tmp_path / "out"
    fake_finished_runs(out, study_path)
    study = load_training_study(study_path)
    first = run_training_study(study, out)
    assert [(p.variant, p.step, p.read_back) for p in first.points] == [
        ("weighted", 5, False), ("multi-step", 5, False), ("weighted", 10, False), ("multi-step", 10, False)]
    assert all(p.games == 2 and 0 <= p.wins <= 2 for p in first.points)
    assert not (out / "runs" / "weighted" / "config.yaml").exists()  # finished runs are not relaunched
    for name in ("study.md", "study.json", "study.png"):
        assert (out / name).is_file()
    data = json.loads((out / "study.json").read_text())
    assert [p["wilson95"] for p in data["points"]] == [list(p.interval) for p in first.points]
    assert "| weighted |" in (out / "study.md").read_text()

    replayed = match_folder(out, "multi-step", 10, 2)
    (replayed / "match.json").unlink()  # interrupted during this match
    kept = match_folder(out, "weighted", 5, 2) / "match.json"
    stamp = kept.stat().st_mtime_ns
    capsys.readouterr()
    second = run_training_study(study, out)
    assert [p.read_back for p in second.points] == [True, True, True, False]
    assert [(p.wins, p.games) for p in second.points] == [(p.wins, p.games) for p in first.points]  # same seeds
    assert kept.stat().st_mtime_ns == stamp and (replayed / "match.json").is_file()
    assert "(read back)" in capsys.readouterr().err


def test_a_run_missing_a_step_is_not_finished(tmp_path):
    from dpv.studies.training import run_finished

    study_path = write_study(tmp_path)
    fake_finished_runs(tmp_path / "out", study_path)
    assert run_finished(tmp_path / "out", "weighted", [5, 10])
    checkpoint_path(tmp_path / "out", "weighted", 10).unlink()
    assert not run_finished(tmp_path / "out", "weighted", [5, 10])


def test_train_only_stops_after_the_runs_without_a_match_or_report(tmp_path, capsys):
    study_path = write_study(tmp_path, variants=["weighted", "baseline"])
    out = tmp_path / "out"
    fake_finished_runs(out, study_path)
    assert main(["study", "training", "--config", str(study_path), "--out", str(out), "--train-only"]) == 0
    assert not (out / "matches").exists() and not (out / "study.json").exists()
    assert "rerun without --train-only" in capsys.readouterr().err
