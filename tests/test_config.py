"""Config loading: YAML into dataclasses, with one-line errors naming the file and key; presets
found by name from any directory and shipped in the wheel."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from dpv.cli import main
from dpv.config import ConfigError, from_dict, load_config, preset_dir, preset_names, read_config_file
from dpv.nets.config import load_net_config


@dataclass
class Inner:
    rate: float = 0.1
    mode: Literal["a", "b"] = "a"


@dataclass
class Outer:
    name: str = "x"
    sizes: list[int] = field(default_factory=lambda: [1, 2])
    inner: Inner = field(default_factory=Inner)
    limit: int | None = None


def test_nested_values_and_defaults(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("name: run\ninner:\n  rate: 1\n  mode: b\nsizes: [3]\n")
    config = load_config(path, Outer)
    assert config == Outer(name="run", sizes=[3], inner=Inner(rate=1.0, mode="b"))
    assert isinstance(config.inner.rate, float)
    with pytest.raises(ConfigError, match="the config file is empty"):  # never taken as all defaults
        load_config(_write(tmp_path, "# only a comment\n"), Outer)


@pytest.mark.parametrize(
    "text, message",
    [
        ("nmae: run\n", "unknown key 'nmae'"),
        ("inner:\n  rte: 2\n", "unknown key 'inner.rte'"),
        ("inner:\n  mode: c\n", "'inner.mode' must be one of"),
        ("sizes: 3\n", "'sizes' must be a list"),
        ("sizes: [1, x]\n", "'sizes[1]' must be int"),
        ("limit: many\n", "'limit' must be int"),
        ("inner: 5\n", "'inner' must be a mapping"),
        ("name: [unclosed\n", "not valid YAML"),
    ],
)
def test_bad_configs_name_the_file_and_key(tmp_path, text, message):
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")) as err:
        load_config(path, Outer)
    assert str(err.value).startswith(str(path)) and "\n" not in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "absent.yaml", Outer)


def test_from_dict_accepts_none_for_optional():
    assert from_dict(Outer, {"limit": None}).limit is None


def _write(tmp_path, text):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return path


# --- presets found by name ---------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]


def test_presets_are_the_files_of_configs_and_load_by_name_from_any_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    names = preset_names()
    assert names == sorted(path.stem for path in (ROOT / "configs").glob("*.yaml"))
    assert {"local", "selfplay-9x9", "net-tiny", "net-paper", "study-exits"} <= set(names)
    for name in names:
        path, data = read_config_file(name)
        assert path == preset_dir() / f"{name}.yaml" and path.is_file()
        assert isinstance(data, dict) and data, name
    assert load_net_config("net-tiny") == load_net_config(ROOT / "configs/net-tiny.yaml")
    assert load_net_config("local") == load_net_config(ROOT / "configs/local.yaml")


def test_a_path_is_read_as_a_path_even_beside_a_preset_of_that_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "net-tiny.yaml").write_text("blocks: 2\nchannels: 4\nexits: [1, 2]\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "net").write_text("blocks: 3\nexits: [3]\n")
    assert load_net_config("net-tiny.yaml").blocks == 2
    assert load_net_config("sub/net").blocks == 3
    assert load_net_config(Path("sub/net")).blocks == 3
    assert load_net_config("net-tiny").blocks != 2


def test_unknown_preset_is_one_line_listing_the_presets(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"^lcoal: no such preset \(presets: .*\blocal\b.*net-tiny") as err:
        load_config("lcoal", Outer)
    assert "\n" not in str(err.value)
    with pytest.raises(ConfigError, match="no such config file"):
        load_config("lcoal.yaml", Outer)


@pytest.mark.parametrize("argv", [
    ["launch", "selfplay", "--config"], ["study", "exits", "--config"], ["vision-train", "--config"],
    ["bayes-sim", "--config"], ["model-info", "--config"], ["demo", "--net"],
])
def test_every_command_reads_its_config_through_the_preset_lookup(argv, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main([*argv, "lcoal"]) == 2
    err = capsys.readouterr().err
    assert "lcoal: no such preset (presets: " in err and err.count("\n") == 1


def test_a_non_editable_install_ships_the_presets(tmp_path):
    """`pip install --target` of a copy of the checkout (its tracked and unignored files, as a
    clone has them): the presets lie inside the installed package, equal to configs/, a name
    finds them from another directory, models/ is installed as dpv/models where the shipped network
    is looked up, and every command module and go_engine import from the install. Builds
    go_engine, so it is slow (e2e)."""
    source, target, cwd = tmp_path / "src", tmp_path / "site", tmp_path / "cwd"
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.split("\0")
    for name in filter(None, listed):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    parallel = f"--config-settings=--build-option=build_ext -j{os.cpu_count() or 1}"  # go_engine's extensions at once
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", parallel,
                    "--target", str(target), str(source)], check=True, capture_output=True, timeout=900)
    shipped = target / "dpv" / "presets"
    assert sorted(p.name for p in shipped.glob("*.yaml")) == sorted(p.name for p in (ROOT / "configs").glob("*.yaml"))
    for path in shipped.glob("*.yaml"):
        assert path.read_bytes() == (ROOT / "configs" / path.name).read_bytes()
    cwd.mkdir()
    models = target / "dpv" / "models"  # the shipped networks and their cards, equal to models/
    assert sorted(p.name for p in models.iterdir()) == sorted(
        p.name for p in (ROOT / "models").iterdir() if p.suffix in (".pt", ".md"))
    for path in models.iterdir():
        assert path.read_bytes() == (ROOT / "models" / path.name).read_bytes()
    code = ("import dpv.cli, dpv.config, dpv.nets, dpv.play.networks, go_engine; dpv.cli.build_parser(); "
            "go_engine.Board(9); print(go_engine.__file__); print(dpv.config.resolve_config_path('local')); "
            "print(dpv.nets.load_net_config('net-tiny').channels); print(dpv.play.networks.shipped_network_path())")
    env = {key: value for key, value in os.environ.items() if key != "DPV_MODELS_DIR"}
    env["PYTHONPATH"] = str(target)
    out = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == [str(target / "go_engine" / "__init__.py"), str(shipped / "local.yaml"), "32",
                                  str(models / "dpv-four.pt")]
