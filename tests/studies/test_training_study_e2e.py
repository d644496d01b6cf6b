"""`dpv study training` end to end on the session's Ray: the multi-step variant and the baseline
(two tiny self-play runs at one sample ratio, each relaunched until its learner reaches the last
step; every variant's config differs only in loss, schedule and network: test_training_study.py),
then the matches."""
from __future__ import annotations

import json

from test_training_study import write_study

from dpv.selfplay.records import decode
from dpv.selfplay.rundir import RunDir
from dpv.selfplay.store import EmbeddedRedis, GameStore
from dpv.studies.training import checkpoint_path, load_training_study, run_training_study


def stored_games(run_dir):
    """Every game in a finished run's embedded store, decoded."""
    server = EmbeddedRedis(run_dir / "redis")
    try:
        return [decode(g) for g in GameStore(server.url).games(0)]
    finally:
        server.close()


def test_multi_step_and_baseline_train_the_same_steps_and_multi_step_switches_exit(ray_session, tmp_path):
    study = load_training_study(write_study(tmp_path, variants=["multi-step"]))
    out = tmp_path / "out"
    result = run_training_study(study, out)
    ratio, batch = study.config.samples_per_position, 16
    for variant in ("multi-step", "baseline"):
        run = RunDir(out / "runs" / variant)
        assert all(checkpoint_path(out, variant, s).is_file() for s in study.config.steps)
        assert run.saved_config().learner.samples_per_position == ratio
        totals = result.runs[variant]
        assert totals["learner_step"] >= 10 and totals["learner_step"] * batch <= ratio * totals["positions"]
        cycles = [json.loads(line) for line in run.events.read_text().splitlines()]
        steps = [e["step"] for e in cycles if e.get("event") == "train"]
        assert steps[:2] == [5, 10]  # every variant's checkpoints at the same steps
    assert [(p.variant, p.step) for p in result.points] == [("multi-step", 5), ("multi-step", 10)]

    # multi-step: the games before the first cycle come from exit 0, those after the switch at step 5
    # (interval 2 of 4 maps to the deepest of two exits) from exit 1
    games = stored_games(out / "runs" / "multi-step")
    first = games[:4]
    assert all(g.evals_per_exit[0] > 0 and g.evals_per_exit[1] == 0 for g in first)
    assert any(g.evals_per_exit[0] == 0 and g.evals_per_exit[1] > 0 for g in games[4:])
