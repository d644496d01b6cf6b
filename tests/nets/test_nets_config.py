"""NetConfig / LossConfig validation, preset loading and the multi-step schedule (no torch)."""
import subprocess
import sys
from pathlib import Path

import pytest

from dpv.config import ConfigError, load_config
from dpv.nets.config import LossConfig, NetConfig, load_net_config
from dpv.nets.schedule import multi_step_exit

ROOT = Path(__file__).resolve().parents[2]


def test_presets_load():
    paper = load_config(ROOT / "configs/net-paper.yaml", NetConfig)
    assert paper == NetConfig()
    assert (paper.blocks, paper.channels, paper.exits, paper.num_actions) == (15, 128, [6, 9, 12, 15], 82)
    tiny = load_net_config(ROOT / "configs/net-tiny.yaml")
    assert tiny.channels == 32 and 3 <= tiny.num_exits <= 4


def test_net_section_of_a_larger_config(tmp_path):
    path = tmp_path / "selfplay.yaml"
    path.write_text("net:\n  blocks: 3\n  channels: 8\n  exits: [1, 3]\nother: 1\n")
    assert load_net_config(path) == NetConfig(blocks=3, channels=8, exits=[1, 3])
    path.write_text("net:\n  blocks: 3\n  exits: [3]\n  chanels: 8\n")
    with pytest.raises(ConfigError, match="unknown key 'net.chanels'"):
        load_net_config(path)


@pytest.mark.parametrize("exits", [[], [2, 2, 4], [3, 2, 4], [0, 4], [2, 3]])
def test_bad_exits_are_rejected(exits):
    with pytest.raises(ValueError, match="exits"):
        NetConfig(blocks=4, exits=exits)


def test_bad_yaml_value_names_key_and_file(tmp_path):
    path = tmp_path / "net.yaml"
    path.write_text("blocks: 4\nexits: [2, 5]\n")
    with pytest.raises(ConfigError, match=r"net\.yaml.*exits"):
        load_net_config(path)


def test_exit_weights():
    assert LossConfig().exit_weights(4) == [1.0, 1.0, 1.0, 2.0]
    assert LossConfig(deepest_weight=5.0).exit_weights(3) == [1.0, 1.0, 5.0]
    assert LossConfig(variant="no-weight", deepest_weight=5.0).exit_weights(4) == [1.0] * 4
    assert LossConfig().exit_weights(1) == [1.0]  # one head: plain AlphaZero's loss
    with pytest.raises(ValueError):
        LossConfig(deepest_weight=0.0)


def test_multi_step_schedule():
    exits = [multi_step_exit(p / 100, 4) for p in range(101)]
    assert exits[:25] == [0] * 25 and exits[25:50] == [1] * 25
    assert exits[50:75] == [2] * 25 and exits[75:] == [3] * 26
    assert multi_step_exit(-0.5, 4) == 0 and multi_step_exit(7.0, 4) == 3
    three = [multi_step_exit(p, 3) for p in (0.0, 0.3, 0.6, 0.9)]
    assert three[0] == 0 and three[-1] == 2 and three == sorted(three)
    assert multi_step_exit(0.0, 4, intervals=1) == 3


def test_config_and_cli_import_without_torch():
    code = ("import sys, dpv.nets, dpv.nets.config, dpv.nets.schedule, dpv.cli; "
            "dpv.cli.build_parser(); assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
