"""The dependency rules of DESIGN.md: go_engine imports numpy only; the CLI starts without torch;
dpv.gtp and dpv.arena depend on dpv.play and never on each other; dpv.play imports neither."""
from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _modules_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def _every_module(package: str) -> list[str]:
    """`package` and all its modules (from the source tree)."""
    folder = ROOT / package.replace(".", "/")
    return [package] + [f"{package}.{m.name}" for m in pkgutil.iter_modules([str(folder)])]


def test_go_engine_imports_no_torch_ray_or_dpv():
    loaded = _modules_after("import go_engine")
    assert not {"torch", "ray", "dpv"} & loaded


def test_gtp_engine_starts_without_torch():
    loaded = _modules_after("import dpv.cli, dpv.gtp.engine; dpv.cli.build_parser()")
    assert "torch" not in loaded and "ray" not in loaded


@pytest.mark.parametrize("package, forbidden", [
    ("dpv.gtp", ("dpv.arena",)),
    ("dpv.arena", ("dpv.gtp",)),
    ("dpv.play", ("dpv.arena", "dpv.gtp", "dpv.selfplay")),
    ("dpv.studies", ("dpv.gtp", "dpv.rating")),
])
def test_gtp_and_arena_depend_on_play_never_on_each_other(package, forbidden):
    modules = _every_module(package)
    loaded = _modules_after("import " + ", ".join(modules))
    assert set(modules) <= loaded
    wrong = sorted(m for m in loaded if any(m == f or m.startswith(f + ".") for f in forbidden))
    assert not wrong, f"importing every {package} module loads {wrong}"


@pytest.mark.parametrize("package, forbidden", [
    ("dpv.gtp", ("dpv.arena",)),
    ("dpv.arena", ("dpv.gtp",)),
    ("dpv.play", ("dpv.arena", "dpv.gtp", "dpv.selfplay")),
    ("dpv.studies", ("dpv.gtp", "dpv.rating")),
])
def test_no_import_in_any_function_breaks_the_rule(package, forbidden):
    """The imports a module makes only when a function runs count too."""
    wrong = []
    for path in sorted((ROOT / package.replace(".", "/")).glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            wrong += [f"{path.name}: {n}" for n in names if any(n == f or n.startswith(f + ".") for f in forbidden)]
    assert not wrong


def test_play_imports_no_torch_or_ray():
    loaded = _modules_after("import " + ", ".join(_every_module("dpv.play")))
    assert not {"torch", "ray"} & loaded
