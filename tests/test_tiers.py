"""The test tiers of tests/conftest.py: every fixture, file and test that its e2e lists name
exists, so a renamed slow test cannot fall silently into `make test-fast`."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from conftest import E2E_FILES, E2E_FIXTURES, E2E_TESTS

ROOT = Path(__file__).resolve().parents[1]


# One collection in a fresh pytest, writing "e2e|fast NODEID" per test once tests/conftest.py has marked them.
COLLECT = """
import sys, pytest
class Tiers:
    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items):
        with open(sys.argv[1], "w") as out:
            for item in items:
                out.write(("e2e " if item.get_closest_marker("e2e") else "fast ") + item.nodeid + "\\n")
sys.exit(pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider"], plugins=[Tiers()]))
"""


def tiers(tmp_path: Path) -> dict[str, set[tuple[str, str]]]:
    """Tier -> (file name, test name without parameters) of each test pytest collects."""
    listing = tmp_path / "tiers.txt"
    subprocess.run([sys.executable, "-c", COLLECT, str(listing)], cwd=ROOT, capture_output=True, check=True)
    found: dict[str, set[tuple[str, str]]] = {"e2e": set(), "fast": set()}
    for line in listing.read_text().splitlines():
        tier, node = line.split(" ", 1)
        found[tier].add((Path(node.split("::")[0]).name, node.split("::")[-1].split("[")[0]))
    return found


def test_the_e2e_lists_name_collected_tests_and_the_fast_tier_holds_none_of_them(tmp_path):
    found = tiers(tmp_path)
    e2e, fast = found["e2e"], found["fast"]
    listed = {(file, name) for file, names in E2E_TESTS.items() for name in names}
    assert listed <= e2e, sorted(listed - e2e)
    assert E2E_FILES <= {file for file, _ in e2e}, sorted(E2E_FILES - {file for file, _ in e2e})
    assert not {(file, name) for file, name in fast if file in E2E_FILES or (file, name) in listed}
    assert len(fast) > 2 * len(e2e)


def test_each_e2e_fixture_is_defined_in_the_tests():
    sources = "\n".join(path.read_text() for path in (ROOT / "tests").rglob("*.py"))
    for name in E2E_FIXTURES:
        assert re.search(rf"@pytest\.fixture[^\n]*\ndef {name}\(", sources), name
