"""`dpv vision-eval`: the logits cache, the reports, and a real `digits` checkpoint trained by
`dpv vision-train`'s job."""
from __future__ import annotations

import json

import numpy as np
import pytest

from dpv.cli import main
from dpv.vision.infer.collab import METHODS, CollabConfig
from dpv.vision.infer.command import evaluate
from dpv.vision.infer.logits import LogitsError, load_logits, save_logits, synthetic_logits
from dpv.vision.infer.report import anytime_markdown


def test_logits_cache_round_trip_and_errors(tmp_path):
    data = synthetic_logits(num_exits=3, num_classes=4, val_size=30, test_size=20)
    path = tmp_path / "logits.npz"
    save_logits(path, data)
    back = load_logits(path)
    np.testing.assert_array_equal(back.val.logits, data.val.logits)
    np.testing.assert_array_equal(back.test.labels, data.test.labels)
    np.testing.assert_array_equal(back.exit_flops, data.exit_flops)
    assert back.source == data.source
    with pytest.raises(LogitsError, match="no such logits file"):
        load_logits(tmp_path / "missing.npz")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(LogitsError, match="bad.npz: unreadable"):
        load_logits(tmp_path / "bad.npz")
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(LogitsError, match="not a dpv logits file"):
        load_logits(tmp_path / "other.npz")


def test_cli_on_cached_logits_writes_every_report(tmp_path, capsys):
    data = synthetic_logits(num_exits=4, num_classes=6, val_size=600, test_size=600, seed=7)
    save_logits(tmp_path / "l.npz", data)
    out = tmp_path / "report"
    assert main(["vision-eval", "--logits", str(tmp_path / "l.npz"), "--out", str(out),
                 "--calibrate"]) == 0
    text = capsys.readouterr().out
    assert "| Params (x10^6) |" in text and "| FLOPs (x10^6) | 1 | 2 | 3 | 4 |" in text
    assert "upper bound only" in text
    report = json.loads((out / "eval.json").read_text())
    names = [m["name"] for m in report["methods"]]
    assert names == list(METHODS)
    assert [m["name"] for m in report["methods"] if m["oracle_upper_bound"]] == \
        ["bayes-oracle", "bayes-cp-oracle"]
    pabee = report["methods"][-1]
    assert [p["setting"] for p in pabee["budgeted"]] == [1, 2, 3]
    assert len(report["methods"][0]["budgeted"]) == 39
    buckets = report["buckets"]
    assert np.sum(buckets["counts"], axis=1).tolist() == [600] * 4
    for name in ("anytime.md", "budgeted.md", "buckets.md", "anytime.png", "budgeted.png"):
        assert (out / name).stat().st_size > 100
    assert "conformal" in (out / "buckets.md").read_text()


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert main(["vision-eval", "--out", str(tmp_path)]) == 2
    assert "give a CHECKPOINT or --logits" in capsys.readouterr().err
    assert main(["vision-eval", str(tmp_path / "none.pt"), "--out", str(tmp_path)]) == 2
    assert "none.pt: no such checkpoint" in capsys.readouterr().err
    (tmp_path / "bad.pt").write_bytes(b"garbage")
    assert main(["vision-eval", str(tmp_path / "bad.pt"), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "bad.pt: not a readable checkpoint" in err and len(err.splitlines()) == 1
    assert main(["vision-eval", "--logits", str(tmp_path / "x.npz"), "--methods", "last,vote"]) == 2
    assert "unknown method 'vote'" in capsys.readouterr().err
    assert main(["vision-eval", "--logits", str(tmp_path / "x.npz"), "--calibrate",
                 "--conformal-score", "raps"]) == 2
    err = capsys.readouterr().err
    assert "unknown conformal score 'raps' (known: aps, lac)" in err and len(err.splitlines()) == 1


@pytest.fixture(scope="module")
def digits_checkpoint(tmp_path_factory):
    """A tiny MSDNet trained on the digits data set by `dpv vision-train`'s job (in this
    process: Ray Train's own runs are tests/vision/test_vision_train.py's) for a short
    schedule: every exit well above chance, the deeper exits not yet converged, where
    combining exits has something to add."""
    from dpv.vision.train.config import VisionTrainConfig
    from dpv.vision.train.job import train

    run = tmp_path_factory.mktemp("digits-run")
    result = train(VisionTrainConfig(dataset="digits", epochs=3, batch_size=32, seed=0, workers=0), run)
    assert result.finished
    return result.checkpoint


def test_digits_checkpoint_logit_vote_at_least_last(digits_checkpoint, tmp_path, capsys):
    """On a real checkpoint: logits computed once and cached, then every method evaluated
    from the cache; at the last exit logit voting is at least as accurate as the last exit
    alone (thesis Tables 5.1-5.4)."""
    cache = tmp_path / "digits.npz"
    assert main(["vision-eval", str(digits_checkpoint), "--save-logits", str(cache),
                 "--out", str(tmp_path / "a"), "--methods", "last"]) == 0
    logits = load_logits(cache)
    assert logits.val.logits.shape[1:] == (180, 10) and logits.test.logits.shape[1:] == (360, 10)
    result = evaluate(logits, list(METHODS), CollabConfig())
    table = anytime_markdown(result)
    print(table)
    acc = {m.name: m.anytime for m in result.methods}
    assert min(acc["last"]) > 0.3  # every exit well above chance (0.1)
    assert acc["logit-vote"][-1] >= acc["last"][-1], table
    assert acc["bayes-oracle"][-1] >= acc["bayes"][-1] - 0.01, table
    # the CLI's run over the network gave the same 'last' row as the cache
    report = json.loads((tmp_path / "a" / "eval.json").read_text())
    assert report["methods"][0]["anytime"] == acc["last"]
