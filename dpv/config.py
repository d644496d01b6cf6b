"""YAML configs validated into typed dataclasses, and the presets shipped with dpv.

Every config in dpv is a (possibly nested) dataclass. `load_config(path, Schema)` reads a YAML
file and builds the dataclass, failing before any work starts with a one-line `ConfigError`
that names the file and the offending key: unknown keys, wrong types and bad values. A float
must be finite (nan and inf are refused wherever a number is read), and an empty file is
refused rather than taken as all defaults.

Wherever a command takes a config, a bare name (no `.yaml`, no `/`: `--config local`) is a
preset: a file of the repository's top-level `configs/` folder, which the wheel ships as
`dpv/presets/`, so a name works from any directory and after a non-editable install.
"""
from __future__ import annotations

import dataclasses
import math
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")

PRESET_SUFFIX = ".yaml"
#: libyaml's safe loader where PyYAML was built with it (ten times faster), else PyYAML's own.
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ConfigError(ValueError):
    """A config file or mapping that does not match its schema."""


def preset_dir() -> Path:
    """The folder of the shipped presets: `dpv/presets/` in an installed wheel (setup.py maps
    `configs/` there), else the source checkout's `configs/` beside the package (editable
    installs import dpv from the checkout)."""
    package = Path(__file__).resolve().parent
    installed = package / "presets"
    return installed if installed.is_dir() else package.parent / "configs"


def preset_names() -> list[str]:
    """Names of the shipped presets, sorted (`local`, `net-tiny`, ...)."""
    return sorted(path.stem for path in preset_dir().glob(f"*{PRESET_SUFFIX}"))


def resolve_config_path(name_or_path: str | Path) -> Path:
    """The file that a `--config` value means: a bare name (no `/`, not ending in `.yaml` or
    `.yml`, not a Path) is a shipped preset, anything else is a path. An unknown preset name is
    a one-line ConfigError that lists the presets."""
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or "/" in text or text.endswith((PRESET_SUFFIX, ".yml")):
        return Path(name_or_path)
    path = preset_dir() / f"{text}{PRESET_SUFFIX}"
    if not path.is_file():
        names = ", ".join(preset_names())
        raise ConfigError(f"{text}: no such preset (presets: {names}; or give the path of a YAML file)")
    return path


def read_config_file(name_or_path: str | Path) -> tuple[Path, Any]:
    """Resolve a preset name or path (see `resolve_config_path`) and parse its YAML: the file
    and its contents. A file that cannot be read (missing, a directory, no permission, not
    text) or holds nothing (empty, only comments: never taken as all defaults) is a ConfigError."""
    path = resolve_config_path(name_or_path)
    try:
        data = yaml.load(path.read_text(), Loader=YAML_LOADER)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except OSError as err:
        raise ConfigError(f"{path}: cannot read the config file ({err.strerror or err})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text file") from None
    except (yaml.YAMLError, ValueError) as err:  # ValueError: an int literal beyond Python's digit limit
        raise ConfigError(f"{path}: not valid YAML ({str(err).splitlines()[0]})") from None
    if data is None:
        raise ConfigError(f"{path}: the config file is empty (write out the settings, or start from a preset)")
    return path, data


def load_config(path: str | Path, schema: type[T]) -> T:
    """Read the YAML file at `path` (or the preset of that name) and validate it into the
    dataclass `schema`."""
    path, data = read_config_file(path)
    return from_dict(schema, data, source=str(path))


def from_dict(schema: type[T], data: Any, source: str = "<config>", prefix: str = "") -> T:
    """Build the dataclass `schema` from a mapping, checking keys and value types."""
    if not isinstance(data, dict):
        where = f"'{prefix.rstrip('.')}'" if prefix else "the top level"
        raise ConfigError(f"{source}: {where} must be a mapping, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(schema)}
    unknown = sorted(set(data) - set(fields))
    renamed = getattr(schema, "RENAMED_KEYS", {})  # old key -> its name now, for a schema whose keys changed
    if old := next((key for key in unknown if key in renamed), None):
        raise ConfigError(f"{source}: '{prefix}{old}' is now called '{prefix}{renamed[old]}'")
    if unknown:
        raise ConfigError(
            f"{source}: unknown key '{prefix}{unknown[0]}' (known: {', '.join(sorted(fields))})"
        )
    hints = typing.get_type_hints(schema)
    values = {name: _coerce(hints[name], value, source, f"{prefix}{name}") for name, value in data.items()}
    try:
        return schema(**values)
    except (TypeError, ValueError, ArithmeticError) as err:
        raise ConfigError(f"{source}: {err}") from None


def to_dict(config: Any) -> dict[str, Any]:
    """The plain-dict form of a config dataclass (for checkpoints and run directories)."""
    return dataclasses.asdict(config)


def _coerce(hint: Any, value: Any, source: str, key: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerce(arg, value, source, key)
            except ConfigError as err:
                errors.append(str(err))
        raise ConfigError(errors[0])
    if dataclasses.is_dataclass(hint):
        return from_dict(hint, value, source, prefix=f"{key}.")
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{source}: '{key}' must be a list, got {_short(value)}")
        item = args[0] if args else Any
        return origin(_coerce(item, v, source, f"{key}[{i}]") for i, v in enumerate(value))
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{source}: '{key}' must be one of {list(args)}, got {_short(value)}")
        return value
    if hint is Any:
        return value
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(value, int) and abs(value) > 1e308:  # float() would overflow
            raise ConfigError(f"{source}: '{key}' must be a finite number, got {_short(value)}")
        return _finite(float(value), source, key)
    wrong_type = not isinstance(value, hint) or (hint in (int, float) and isinstance(value, bool))
    if hint in (int, float, str, bool) and wrong_type:
        raise ConfigError(f"{source}: '{key}' must be {hint.__name__}, got {_short(value)}")
    return value


def _finite(value: float, source: str, key: str) -> float:
    """`value` if it is finite; nan and +-inf are a ConfigError naming the key."""
    if not math.isfinite(value):
        raise ConfigError(f"{source}: '{key}' must be a finite number, got {value!r}")
    return value


def _short(value: Any, limit: int = 60) -> str:
    """The repr of a bad value, cut to `limit` characters (an error stays one short line)."""
    try:
        text = repr(value)
    except ValueError:  # an int beyond Python's digit limit for str()
        text = f"an int of {value.bit_length()} bits"
    return text if len(text) <= limit else f"{text[:limit]}..."
