"""The test tiers of tests/conftest.py: every fixture, file and test that its e2e lists name
exists, so a renamed slow test cannot fall silently into `make test-fast`."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from conftest import E2E_FILES, E2E_FIXTURES, E2E_TESTS

ROOT = Path(__file__).resolve().parents[1]


def collected(*options: str) -> set[tuple[str, str]]:
    """(file name, test name without parameters) of each test pytest collects with `options`."""
    out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *options],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    ids = [line for line in out.splitlines() if "::" in line]
    return {(Path(i.split("::")[0]).name, i.split("::")[-1].split("[")[0]) for i in ids}


def test_the_e2e_lists_name_collected_tests_and_the_fast_tier_holds_none_of_them():
    e2e, fast = collected("-m", "e2e"), collected("-m", "not e2e")
    listed = {(file, name) for file, names in E2E_TESTS.items() for name in names}
    assert listed <= e2e, sorted(listed - e2e)
    assert E2E_FILES <= {file for file, _ in e2e}, sorted(E2E_FILES - {file for file, _ in e2e})
    assert not {(file, name) for file, name in fast if file in E2E_FILES or (file, name) in listed}
    assert len(fast) > 2 * len(e2e)


def test_each_e2e_fixture_is_defined_in_the_tests():
    sources = "\n".join(path.read_text() for path in (ROOT / "tests").rglob("*.py"))
    for name in E2E_FIXTURES:
        assert re.search(rf"@pytest\.fixture[^\n]*\ndef {name}\(", sources), name
