"""The dependency rules of dpv.vision (its package docstring): models and data depend on no other
vision subpackage, train on models and data, infer on train, sim on infer; outside itself it
uses only the shared helpers of dpv; the configs and the command line load no torch."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import dpv

ROOT = Path(dpv.__file__).parent
VISION = ROOT / "vision"
# The vision subpackages each subpackage may import (itself included).
ALLOWED = {
    "models": {"models"},
    "data": {"data"},
    "train": {"models", "data", "train"},
    "infer": {"models", "data", "train", "infer"},
    "sim": {"infer", "sim"},
}
# What dpv.vision may use of the rest of dpv: config loading, checkpoint files, progress lines.
SHARED = {"dpv.config", "dpv.checkpoint_io", "dpv.progress"}


def _dpv_imports(path: Path) -> set[str]:
    """Every dpv module `path` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name == "dpv" or name.startswith("dpv.")}


def test_every_vision_module_lies_in_a_known_subpackage():
    top = {p.name for p in VISION.iterdir() if p.suffix == ".py"}
    assert top == {"__init__.py"}
    assert {p.name for p in VISION.iterdir() if p.is_dir() and (p / "__init__.py").exists()} \
        == set(ALLOWED)


def test_subpackages_import_only_the_layers_below_them_and_the_shared_helpers():
    wrong = []
    for package, allowed in ALLOWED.items():
        for path in sorted((VISION / package).glob("*.py")):
            for name in _dpv_imports(path):
                parts = name.split(".")
                if parts[:2] == ["dpv", "vision"]:
                    ok = len(parts) > 2 and parts[2] in allowed
                else:
                    ok = name in SHARED or name.startswith("dpv.nets.")
                if not ok:
                    wrong.append(f"{path.relative_to(ROOT.parent)} imports {name}")
    assert wrong == []


def test_only_the_command_line_and_model_info_import_vision_from_outside():
    importers = {str(p.relative_to(ROOT.parent)) for p in ROOT.rglob("*.py")
                 if VISION not in p.parents
                 and any(n.startswith("dpv.vision") for n in _dpv_imports(p))}
    assert importers <= {"dpv/cli.py", "dpv/nets/command.py"}


def test_configs_and_the_command_line_load_no_torch():
    code = ("import sys, dpv.cli, dpv.vision.models.config, dpv.vision.train.config; "
            "dpv.cli.build_parser(); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
