"""dpv vision-train's command line and checkpoints without starting Ray: bad configs, missing
data sets and wrong resumes fail with one line before any work starts; checkpoints round-trip
and damaged ones are one-line errors naming the file."""
from __future__ import annotations

import pytest
import torch

from dpv.cli import main
from dpv.vision.models.build import build_model
from dpv.vision.models.config import preset
from dpv.vision.train.checkpoint import VisionCheckpointError, load_vision_checkpoint, save_vision_checkpoint
from dpv.vision.train.config import VisionTrainConfig


def _fails(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("dpv vision-train: error: ") and "\n" not in err
    return err


def test_unknown_config_key_fails_before_work_starts(tmp_path, capsys):
    config = tmp_path / "v.yaml"
    config.write_text("dataset: digits\nloss: ce\nepoch: 3\n")
    run_dir = tmp_path / "run"
    err = _fails(capsys, ["vision-train", "--config", str(config), "--run-dir", str(run_dir)])
    assert str(config) in err and "unknown key 'epoch'" in err
    assert not run_dir.exists()


@pytest.mark.parametrize("yaml_text,message", [
    ("dataset: mnist\n", "'dataset' must be one of"),
    ("dataset: digits\nloss: focal\n", "unknown loss 'focal'"),
    ("dataset: digits\nloss: ce\ndynamic: true\n", "dynamic training needs the damping neuron"),
    ("dataset: digits\nbatch_size: 0\n", "'batch_size' must be >= 1"),
    ("dataset: digits\nmodel: resnet\n", "'model' must be one of"),
    ("dataset: digits\nworkers: 3\n", "does not split evenly over 3 workers"),
    ("dataset: digits\nloss: power-sqrt\ndynamic: true\nweight_norm: rows\n",
     "unknown weight normalisation 'rows' (known: exit, sample, matrix)"),
    ("dataset: digits\nloss: threshold-last-only\nthreshold: 0\n", "'threshold' must lie in (0, 1]"),
])
def test_bad_config_values_fail_before_work_starts(tmp_path, capsys, yaml_text, message):
    config = tmp_path / "v.yaml"
    config.write_text(yaml_text)
    run_dir = tmp_path / "run"
    assert message in _fails(capsys, ["vision-train", "--config", str(config),
                                      "--run-dir", str(run_dir)])
    assert not run_dir.exists()



def test_a_batch_larger_than_the_training_set_fails_before_work_starts(tmp_path, capsys):
    run_dir = tmp_path / "run"
    err = _fails(capsys, ["vision-train", "digits", "--batch-size", "2000",
                          "--run-dir", str(run_dir)])
    assert "batch size 2000 is larger than the 1257 training images of digits" in err
    assert not run_dir.exists()

def test_flags_override_the_config_file_and_are_checked_too(tmp_path, capsys):
    config = tmp_path / "v.yaml"
    config.write_text("dataset: digits\nloss: power-sqrt\n")
    err = _fails(capsys, ["vision-train", "--config", str(config), "--lam", "-1",
                          "--run-dir", str(tmp_path / "run")])
    assert "lam >= 0" in err


def test_missing_data_set_is_a_one_line_error_saying_where_to_put_it(tmp_path, capsys):
    err = _fails(capsys, ["vision-train", "imagenet", "--data-dir", str(tmp_path),
                          "--run-dir", str(tmp_path / "run")])
    assert f"{tmp_path}/imagenet/train/<class>/" in err


def test_missing_cifar_archive_prints_the_command_that_fetches_it(tmp_path, capsys, monkeypatch):
    """No archive and no way to download it (a closed local port stands in for a machine
    without internet): one line giving the curl command and the folder to put the file in."""
    from dpv.vision.data import cifar

    monkeypatch.setattr(cifar, "CIFAR_URL", "http://127.0.0.1:9/{archive}")
    err = _fails(capsys, ["vision-train", "cifar100", "--data-dir", str(tmp_path / "data"),
                          "--run-dir", str(tmp_path / "run")])
    assert "the download failed" in err and "Traceback" not in err
    assert "run `curl -fLO http://127.0.0.1:9/cifar-100-python.tar.gz`" in err
    assert f"put cifar-100-python.tar.gz in {(tmp_path / 'data').resolve()}/" in err
    assert not (tmp_path / "run").exists()


def test_resume_needs_a_checkpoint_and_a_data_set_is_needed(tmp_path, capsys):
    err = _fails(capsys, ["vision-train", "digits", "--resume", "--run-dir", str(tmp_path)])
    assert "--resume: no" in err and "last.pt" in err
    assert "name a data set" in _fails(capsys, ["vision-train"])


def _checkpoint(tmp_path):
    config = VisionTrainConfig(dataset="digits", loss="damping").resolved()
    torch.manual_seed(0)
    model = build_model(preset("msdnet-tiny", 10, damping=True))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.randn(4, 3, 32, 32))[-1].sum().backward()
    optimizer.step()
    path = tmp_path / "last.pt"
    save_vision_checkpoint(path, model, config, 3, optimizer, {"history": [{"epoch": 3}]})
    return path, model, config


def test_checkpoint_round_trip(tmp_path):
    path, model, config = _checkpoint(tmp_path)
    ck = load_vision_checkpoint(path)
    assert ck.config == config and ck.epoch == 3 and ck.metrics == {"history": [{"epoch": 3}]}
    assert ck.damping and ck.num_classes == 10 and not ck.model.training
    assert [c.exit for c in ck.exit_costs] == [1, 2, 3, 4]
    assert ck.optimizer_state["state"]
    x = torch.randn(2, 3, 32, 32)
    model.eval()
    with torch.no_grad():
        for a, b in zip(ck.model(x), model(x)):
            assert a.shape == (2, 11)
            torch.testing.assert_close(a, b)


@pytest.mark.parametrize("damage,message", [
    (lambda p: p.write_bytes(b"garbage"), "not a readable checkpoint"),
    (lambda p: torch.save({"format": "dpv-net/1"}, p), "not a dpv-vision/1 checkpoint"),
    (lambda p: p.unlink(), "no such checkpoint file"),
])
def test_damaged_checkpoints_are_one_line_errors_naming_the_file(tmp_path, damage, message):
    path, _, _ = _checkpoint(tmp_path)
    damage(path)
    with pytest.raises(VisionCheckpointError) as err:
        load_vision_checkpoint(path)
    assert str(path) in str(err.value) and message in str(err.value)
    assert "\n" not in str(err.value)


def test_checkpoint_whose_weights_do_not_fit_its_config(tmp_path):
    path, _, _ = _checkpoint(tmp_path)
    payload = torch.load(path, weights_only=True)
    payload["model_config"]["damping"] = False
    torch.save(payload, path)
    with pytest.raises(VisionCheckpointError, match="weights do not match the model config"):
        load_vision_checkpoint(path)


def test_evaluate_counts_every_exit_without_the_damping_neuron():
    from torch.utils.data import TensorDataset

    from dpv.vision.train.job import evaluate

    torch.manual_seed(0)
    model = build_model(preset("msdnet-tiny", 10, damping=True)).eval()
    x, y = torch.randn(300, 3, 32, 32), torch.randint(0, 10, (300,))
    with torch.no_grad():
        logits = model(x)
    result = evaluate(model, TensorDataset(x, y))
    expected = [100 * float((z[:, :10].argmax(1) == y).float().mean()) for z in logits]
    assert result["accuracy"] == pytest.approx(expected)
    assert result["damping_mean"] == pytest.approx(
        [float(z.softmax(1)[:, -1].mean()) for z in logits])
