"""What `dpv launch selfplay` refuses before it starts anything (no Ray, no Redis): a run
directory locked by a live run, a resume whose config or checkpoints do not match the run, bad
values, unreachable addresses and file-system errors. Each is one line on stderr and exit 2."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from test_selfplay import TINY, tiny

from dpv.cli import main
from dpv.config import to_dict
from dpv.selfplay.errors import RunError
from dpv.selfplay.lock import RunLock
from dpv.selfplay.rundir import EventLog, RunDir


def launch_cli(capsys, config: Path, run_dir: Path, *flags: str) -> tuple[int, str]:
    """`dpv launch selfplay` in this process: its exit code and its last stderr line (the
    'dpv launch selfplay: CONFIG -> RUN' line before it left out)."""
    code = main(["launch", "selfplay", "--config", str(config), "--run-dir", str(run_dir), *flags])
    lines = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("dpv launch selfplay: ")]
    return code, "\n".join(lines)


def write_config(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


def saved_run(tmp_path: Path, **sections: dict) -> tuple[Path, Path]:
    """A run directory as a run of the tiny config leaves it (config.yaml, initial.pt, best.pt)
    and a config file for its resume with some sections' keys replaced."""
    from dpv.nets.checkpoint import save_checkpoint
    from dpv.nets.model import DPVNet

    run = RunDir(tmp_path / "run")
    run.prepare(resume=False)
    run.write_config(tiny())
    save_checkpoint(run.initial, DPVNet(tiny().net))
    run.promote(run.initial)
    return write_config(tmp_path / "resume.yaml", to_dict(tiny(**sections))), run.root


HOLDER = ("import sys, time; from dpv.selfplay.lock import RunLock; lock = RunLock(sys.argv[1]).acquire(); "
          "print('locked', flush=True); time.sleep(120)")


def test_a_live_run_locks_its_directory_and_a_dead_ones_lock_is_taken_over(tmp_path, capsys):
    config = write_config(tmp_path / "c.yaml", TINY)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(run_dir)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        for flags in ((), ("--resume",)):
            code, err = launch_cli(capsys, config, run_dir, *flags)
            assert code == 2 and len(err.splitlines()) == 1, err
            assert f"is in use by the run of pid {holder.pid} on host" in err
        assert not (run_dir / "config.yaml").exists()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert f"pid {holder.pid}" in (run_dir / "lock").read_text()  # a dead owner leaves its name
    code, err = launch_cli(capsys, config, run_dir, "--resume")  # then fails: nothing to resume
    assert code == 2
    assert f"taking over the lock of pid {holder.pid} on host" in err and "no run to resume" in err
    with RunLock(run_dir) as lock:  # the failed launch released the lock cleanly
        assert lock.taken_over is None
        assert (run_dir / "lock").read_text() == f"pid {os.getpid()} on host {os.uname().nodename}\n"


@pytest.mark.parametrize("sections, keys", [
    ({"search": {"komi": 6.5}}, ["search.komi 7.5 -> 6.5"]),
    ({"net": {"channels": 16}, "seed": 4}, ["net.channels 8 -> 16", "seed 3 -> 4"]),
    ({"gating": {"threshold": 0.5}, "learner": {"lr": 0.1}}, ["gating.threshold 0.0 -> 0.5", "learner.lr 0.02 -> 0.1"]),
])
def test_resume_refuses_a_config_that_changes_the_games_or_the_network(tmp_path, capsys, sections, keys):
    config, run_dir = saved_run(tmp_path, **{k: v for k, v in sections.items() if k != "seed"})
    if "seed" in sections:
        config.write_text(config.read_text().replace("seed: 3", f"seed: {sections['seed']}"))
    code, err = launch_cli(capsys, config, run_dir, "--resume")
    assert code == 2 and len(err.splitlines()) == 1, err
    assert "the config differs from the run's" in err and all(key in err for key in keys), err


def test_resume_allows_counts_threads_and_metrics_to_change(tmp_path):
    from dpv.selfplay.preflight import check_resume

    _, run_dir = saved_run(tmp_path)
    check_resume(tiny(worker={"workers": 3, "games": 12}, server={"threads": 2, "servers": 2},
                      learner={"threads": 2}, metrics={"port": 9100}), RunDir(run_dir))


@pytest.mark.parametrize("damage, message", [
    ("missing", "best.pt is missing"),
    ("truncated", "best.pt: not a readable checkpoint"),
    ("other network", "best.pt: net config mismatch"),
])
def test_resume_refuses_a_broken_or_foreign_best_network_before_any_actor(tmp_path, capsys, damage, message):
    from dpv.nets.checkpoint import save_checkpoint
    from dpv.nets.model import DPVNet

    config, run_dir = saved_run(tmp_path)
    best = run_dir / "best.pt"
    if damage == "missing":
        best.unlink()
    elif damage == "truncated":
        best.write_bytes(best.read_bytes()[:500])
    else:
        save_checkpoint(best, DPVNet(tiny(net={"channels": 16}).net))
    code, err = launch_cli(capsys, config, run_dir, "--resume")
    assert code == 2 and len(err.splitlines()) == 1 and message in err, err
    assert not (run_dir / "redis").exists()  # refused before the store started


BAD_VALUES = [
    ({"search": {"komi": float("nan")}}, "'search.komi' must be a finite number, got nan"),
    ({"search": {"komi": float("inf")}}, "'search.komi' must be a finite number, got inf"),
    ({"search": {"simulations": float("inf")}}, "'search.simulations' must be a finite number"),
    ({"net": {"board_size": 4}}, "'net.board_size' must lie in [5, 19], got 4"),
    ({"net": {"board_size": 21}}, "'net.board_size' must lie in [5, 19], got 21"),
    ({"seed": -1}, "'seed' must be >= 0, got -1"),
    ({"metrics": {"host": "not a host"}}, "'metrics.host' must be an IP address or a host name"),
    ({"metrics": {"port": 0, "host": "no-such-host.invalid"}}, "'metrics.host' 'no-such-host.invalid' does not "
                                                              "resolve"),
    ({"learner": {"lr": float("nan")}}, "'learner.lr' must be a finite number, got nan"),
    ({"gating": {"threshold": True}}, "'gating.threshold' must be float, got True"),
]


@pytest.mark.parametrize("values, message", BAD_VALUES, ids=[m.split("'")[1] + str(i) for i, (_, m) in
                                                              enumerate(BAD_VALUES)])
def test_bad_values_are_refused_before_anything_starts(tmp_path, capsys, values, message):
    data = {k: dict(v) if isinstance(v, dict) else v for k, v in TINY.items()}
    for key, value in values.items():
        if isinstance(value, dict):
            data.setdefault(key, {}).update(value)
        else:
            data[key] = value
    code, err = launch_cli(capsys, write_config(tmp_path / "c.yaml", data), tmp_path / "run")
    assert code == 2 and len(err.splitlines()) == 1 and message in err, err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("text", ["", "# nothing but a comment\n"])
def test_an_empty_config_is_refused(tmp_path, capsys, text):
    config = tmp_path / "empty.yaml"
    config.write_text(text)
    code, err = launch_cli(capsys, config, tmp_path / "run")
    assert code == 2 and "the config file is empty" in err and not (tmp_path / "run").exists()


def test_an_address_without_ray_is_one_line_at_once(tmp_path, capsys):
    import socket

    with socket.socket() as free:  # a port nobody listens on
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    config = write_config(tmp_path / "c.yaml", TINY)
    code, err = launch_cli(capsys, config, tmp_path / "run", "--address", f"127.0.0.1:{port}")
    assert code == 2 and len(err.splitlines()) == 1
    assert f"no Ray cluster reachable at 127.0.0.1:{port}" in err and not (tmp_path / "run").exists()


def test_file_system_errors_are_one_line_naming_the_path(tmp_path, capsys):
    config = write_config(tmp_path / "c.yaml", TINY)
    code, err = launch_cli(capsys, tmp_path, tmp_path / "run")  # --config a directory
    assert code == 2 and f"{tmp_path}: cannot read the config file (Is a directory)" in err
    (tmp_path / "file").write_text("")
    for run_dir, reason in ((tmp_path / "file" / "run", "Not a directory"),
                            (Path("/proc/dpv-test/run"), "No such file or directory")):
        code, err = launch_cli(capsys, config, run_dir)
        assert code == 2 and len(err.splitlines()) == 1, err
        assert f"{run_dir}: cannot create the run directory ({reason})" in err
    code, err = launch_cli(capsys, config, tmp_path / "run", "--max-hours", "nan")
    assert code == 2 and "--max-hours must be a finite number > 0, got nan" in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_a_read_only_parent_is_one_line(tmp_path, capsys):
    config = write_config(tmp_path / "c.yaml", TINY)
    parent = tmp_path / "ro"
    parent.mkdir(mode=0o500)
    code, err = launch_cli(capsys, config, parent / "run")
    assert code == 2 and f"{parent / 'run'}: cannot create the run directory (Permission denied)" in err


def test_a_full_disk_is_one_line_naming_the_file(tmp_path):
    log = EventLog(tmp_path / "metrics.jsonl")
    log.close()
    (tmp_path / "metrics.jsonl").unlink()
    (tmp_path / "metrics.jsonl").symlink_to("/dev/full")  # every write: No space left on device
    log = EventLog(tmp_path / "metrics.jsonl")
    with pytest.raises(RunError, match=r"metrics.jsonl: cannot write \(No space left on device\)$"):
        log.log("start")
    log.close()
    run = RunDir(tmp_path / "run")
    run.prepare(resume=False)
    (run.root / ".games.txt.tmp").symlink_to("/dev/full")
    with pytest.raises(RunError, match=r"games.txt: cannot write \(No space left on device\)$"):
        run.record_games(3)


def test_a_new_game_never_overwrites_an_sgf_file(tmp_path):
    import numpy as np
    from test_selfplay_records import random_game

    run = RunDir(tmp_path / "run")
    run.prepare(resume=False)
    game = random_game(np.random.default_rng(0), moves=6)
    run.write_sgf(game, 0)
    before = run.sgf_path(0).read_bytes()
    with pytest.raises(RunError, match="0000000.sgf exists: game id 0 would be reused"):
        run.write_sgf(random_game(np.random.default_rng(1), moves=8), 0)
    assert run.sgf_path(0).read_bytes() == before and run.sgf_ids() == {0}
