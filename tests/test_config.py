"""Config loading: YAML into dataclasses, with one-line errors naming the file and key."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pytest

from dpv.config import ConfigError, from_dict, load_config


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
    assert load_config(_write(tmp_path, ""), Outer) == Outer()


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
