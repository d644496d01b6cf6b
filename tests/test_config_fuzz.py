"""Config fuzzing: every preset of configs/, mutated at random (seeded) with unknown keys, wrong
types, nan / inf / negative / huge values, empty or None sections and empty files, goes through
the validation its command runs before it starts anything. Each case must end in a valid config
or a one-line clean error (ConfigError; RunError for self-play's pre-start checks), never in
another exception. Also the loader's own cases: non-finite floats, huge ints, unreadable files."""
from __future__ import annotations

import copy
import math
import random
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from dpv.config import ConfigError, load_config, preset_dir, preset_names
from dpv.selfplay.errors import RunError

CASES_PER_PRESET = 250
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
VALUES: list[Any] = [
    math.nan, math.inf, -math.inf, -1, 0, 1, 3, -1e9, 1e30, 10**30, 10**400, 2**63, 0.5, -0.5, True, False, None,
    "", "x" * 300, "a b", "1", "auto", [], [1, 2], [-1], [math.nan], {}, {"k": 1}, "2020-01-01",
]
KEYS = ["unknown", "nmae", "net", "search", "seed", "x" * 100, "1"]


def validate_selfplay(path: Path) -> Any:
    """`dpv launch selfplay`'s checks before Ray starts: the config, the search settings each
    role plays with, the placement and the devices on a machine without a GPU."""
    from dpv.selfplay.config import load_selfplay_config
    from dpv.selfplay.placement import plan
    from dpv.selfplay.preflight import check_devices, check_metrics_host

    cfg = load_selfplay_config(path)
    if cfg.metrics.host.replace(".", "").isdigit():  # a name would be a DNS lookup: not deterministic
        check_metrics_host(cfg.metrics)
    check_devices(cfg, 0)
    plan(cfg, 0)
    cfg.search.engine_config("selfplay")
    return cfg


def validate_study(path: Path) -> Any:
    from dpv.arena.study import load_study_config

    return load_study_config(str(path))


def validate_training_study(path: Path) -> Any:
    from dpv.studies.training import load_training_study

    return load_training_study(path)


def validate_vision(path: Path) -> Any:
    from dpv.vision.train.config import VisionTrainConfig

    return load_config(path, VisionTrainConfig)


def validate_gtp(path: Path) -> Any:
    from dpv.gtp.config import GtpEngineConfig

    return load_config(path, GtpEngineConfig)


def validate_net(path: Path) -> Any:
    from dpv.nets.config import load_net_config

    return load_net_config(path)


def validator(preset: str) -> Callable[[Path], Any]:
    """The check of the command that reads `preset`."""
    for prefix, check in (("net-", validate_net), ("study-training", validate_training_study),
                          ("study-", validate_study), ("vision-", validate_vision), ("gtp-", validate_gtp)):
        if preset.startswith(prefix):
            return check
    return validate_selfplay


def paths(data: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key path of a nested mapping (sections and leaves)."""
    out = []
    if isinstance(data, dict):
        for key, value in data.items():
            out.append((*prefix, key))
            out.extend(paths(value, (*prefix, key)))
    return out


def mutate(data: Any, rng: random.Random) -> Any:
    """1 to 3 random mutations of a parsed config (a copy)."""
    data = copy.deepcopy(data)
    for _ in range(rng.randint(1, 3)):
        kind = rng.random()
        if kind < 0.03:
            return rng.choice([None, [], "text", 5])  # an empty file, or not a mapping at all
        keys = paths(data) if isinstance(data, dict) else []
        if not keys:
            return data
        path = rng.choice(keys)
        parent = data
        for key in path[:-1]:
            parent = parent[key]
        if kind < 0.6:
            parent[path[-1]] = copy.deepcopy(rng.choice(VALUES))  # a wrong type or a bad value
        elif kind < 0.75 and isinstance(parent, dict):
            parent[rng.choice(KEYS)] = copy.deepcopy(rng.choice(VALUES))  # an unknown (or repeated) key
        elif kind < 0.9:
            del parent[path[-1]]  # a key left out: its default
        else:
            parent[path[-1]] = rng.choice([None, {}, [], "section"])  # an empty or None section
    return data


@pytest.mark.parametrize("preset", preset_names())
def test_mutated_presets_end_in_a_config_or_one_clean_line(tmp_path, preset):
    source = preset_dir() / f"{preset}.yaml"
    check = validator(preset)
    assert check(source) is not None  # the preset itself is valid
    base = yaml.safe_load(source.read_text())
    rng = random.Random(f"fuzz-{preset}")
    outcomes: Counter[str] = Counter()
    path = tmp_path / f"{preset}.yaml"
    for case in range(CASES_PER_PRESET):
        mutated = mutate(base, rng)
        path.write_text("" if mutated is None else yaml.dump(mutated, Dumper=DUMPER))
        try:
            check(path)
            outcomes["valid"] += 1
        except (ConfigError, RunError) as err:
            message = str(err)
            assert message and "\n" not in message and len(message) < 600, (case, mutated, message)
            outcomes["clean error"] += 1
        except Exception as err:
            pytest.fail(f"{preset} case {case}: {type(err).__name__}: {err} for {mutated!r}"[:2000])
    assert outcomes["clean error"] > CASES_PER_PRESET // 3 and outcomes["valid"] > 0, outcomes
    print(f"\n{preset}: {CASES_PER_PRESET} cases, {dict(outcomes)}, tracebacks 0")


@pytest.mark.parametrize("text, message", [
    ("seed: .nan\n", "'seed' must be int, got nan"),
    ("search:\n  komi: .nan\n", "'search.komi' must be a finite number, got nan"),
    ("search:\n  simulations: .inf\n", "'search.simulations' must be a finite number, got inf"),
    ("search:\n  komi: -.inf\n", "'search.komi' must be a finite number, got -inf"),
    (f"search:\n  komi: {10**400}\n", "'search.komi' must be a finite number, got 1000"),
    ("seed: 1" + "0" * 5000 + "\n", "not valid YAML"),
    ("search:\n  komi: true\n", "'search.komi' must be float, got True"),
    ("", "the config file is empty"),
    ("# comments only\n", "the config file is empty"),
])
def test_the_loader_refuses_non_finite_and_impossible_values(tmp_path, text, message):
    from dpv.selfplay.config import load_selfplay_config

    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_selfplay_config(path)
    assert str(err.value).startswith(str(path)) and message in str(err.value) and "\n" not in str(err.value)


def test_an_unreadable_config_is_one_line(tmp_path):
    from dpv.nets.config import load_net_config

    with pytest.raises(ConfigError, match=r"cannot read the config file \(Is a directory\)"):
        load_net_config(tmp_path)
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="not a text file"):
        load_net_config(binary)


def test_vision_train_refuses_a_nan_learning_rate_before_anything_starts(tmp_path, capsys):
    from dpv.cli import main

    run_dir = tmp_path / "run"
    assert main(["vision-train", "digits", "--lr", "nan", "--run-dir", str(run_dir)]) == 2
    err = capsys.readouterr().err.strip()
    assert "'lr' must be a finite number, got nan" in err and "\n" not in err
    assert not run_dir.exists()
