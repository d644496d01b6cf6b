"""The engine config of `dpv gtp --config` (dpv.gtp.config, configs/gtp-engine.yaml): the
shipped file is valid and holds the defaults, a bad key is one line, flags override keys."""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import pytest

from dpv.config import ConfigError, load_config
from dpv.gtp.command import register
from dpv.gtp.config import GtpEngineConfig, engine_config

ROOT = Path(__file__).resolve().parents[2]


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    return parser.parse_args(["gtp", *argv])


def test_the_shipped_config_writes_out_every_key_at_its_default():
    text = (ROOT / "configs/gtp-engine.yaml").read_text()
    assert load_config("gtp-engine", GtpEngineConfig) == GtpEngineConfig()
    for field in dataclasses.fields(GtpEngineConfig):
        assert f"\n{field.name}:" in text, field.name


def test_flags_override_the_files_keys(tmp_path):
    path = tmp_path / "engine.yaml"
    path.write_text("exit: dynamic:0.02,0.05\nsims: 50\nponder: true\nms_per_move: 500\n")
    config = engine_config(parse("--config", str(path), "--sims", "20"))
    assert (config.exit, config.sims, config.ponder, config.ms_per_move) == ("dynamic:0.02,0.05", 20, True, 500)
    assert engine_config(parse()) == GtpEngineConfig()
    assert engine_config(parse("--ms-per-move", "250")).simulations == 100_000  # the time decides
    assert engine_config(parse()).simulations == 100


@pytest.mark.parametrize("text, message", [
    ("resign: 0.9\n", "unknown key 'resign'"),
    ("exit: fast\n", "bad exit policy 'fast'"),
    ("sims: 0\n", "'sims' must be"),
    ("threads: 0\n", "'threads' must be >= 1"),
    ("player: gnugo\n", "'player' must be one of"),
    ("ms_per_move: -5\n", "'ms_per_move' must be a positive number"),
])
def test_bad_keys_are_one_line_errors(tmp_path, text, message):
    path = tmp_path / "engine.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as err:
        engine_config(parse("--config", str(path)))
    assert "\n" not in str(err.value)
    with pytest.raises(ConfigError, match="command line: 'threads' must be >= 1"):
        engine_config(parse("--threads", "0"))

