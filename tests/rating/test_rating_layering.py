"""dpv.rating's dependency rule (dpv/rating/__init__.py): it uses dpv.arena, dpv.play and the
run directory's layout, never dpv.gtp, and imports no torch or ray until a command runs."""
from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import dpv.rating


def test_dpv_rating_imports_no_torch_ray_or_gtp():
    folder = str(Path(dpv.rating.__file__).parent)
    modules = ["dpv.rating"] + [f"dpv.rating.{m.name}" for m in pkgutil.iter_modules([folder])]
    code = f"import sys, {', '.join(modules)}; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = set(out.split())
    assert set(modules) <= loaded and len(modules) >= 7
    assert not [m for m in loaded if m.split(".")[0] in ("torch", "ray") or m.startswith("dpv.gtp")]
