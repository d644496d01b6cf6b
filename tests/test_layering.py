"""The dependency rules of DESIGN.md: go_engine imports numpy only; the CLI starts without torch."""
from __future__ import annotations

import subprocess
import sys


def _modules_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_go_engine_imports_no_torch_ray_or_dpv():
    loaded = _modules_after("import go_engine")
    assert not {"torch", "ray", "dpv"} & loaded


def test_gtp_engine_starts_without_torch():
    loaded = _modules_after("import dpv.cli, dpv.gtp.engine; dpv.cli.build_parser()")
    assert "torch" not in loaded and "ray" not in loaded
