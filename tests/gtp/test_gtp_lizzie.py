"""dpv in a real GUI: Lizzie 0.7.4 (Debian's liblizzie-java) under Xvfb with `dpv gtp` as its
engine. Lizzie checks `name` and `version` (dpv.gtp.analysis says what it reads), then sends
`lz-analyze`; the test waits for the streamed answers in the engine's GTP log (a wrapper tees
the engine's input and output), saves a screenshot of the analysed board to the test's
directory and checks what was asked and answered. Skipped where Lizzie, Java, Xvfb or
ImageMagick's `import` is missing (.ci/run installs them)."""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

LIZZIE_JAR = Path("/usr/share/java/lizzie.jar")
TOOLS = ("java", "Xvfb", "import")
ANSWER_WAIT_S = 180
"""How long the test waits for Lizzie's analysis to stream (start-up of Java and the engine)."""
INFO_LINES = 10
"""Analysis lines the engine must have answered before the screenshot."""
DRAW_S = 15
"""Seconds Lizzie is given to draw the lines it has read before the screenshot."""


def _missing() -> str | None:
    absent = [tool for tool in TOOLS if shutil.which(tool) is None]
    if not LIZZIE_JAR.exists():
        absent.append(f"{LIZZIE_JAR} (apt-get install liblizzie-java)")
    return ", ".join(absent) or None


pytestmark = pytest.mark.skipif(_missing() is not None, reason=f"Lizzie under Xvfb needs: {_missing()}")


def _lizzie_home(tmp_path: Path, engine: Path) -> Path:
    """A home directory whose Lizzie config (Debian's ~/.config/leela-zero/lizzie-config.txt)
    runs `engine` on a 9x9 board, analysing every 20 centiseconds."""
    home = tmp_path / "home"
    config = home / ".config" / "leela-zero" / "lizzie-config.txt"
    config.parent.mkdir(parents=True)
    config.write_text(json.dumps({"leelaz": {"engine-command": str(engine), "analyze-update-interval-centisec": 20},
                                  "ui": {"board-size": 9, "resume-previous-game": False, "confirm-exit": False}}))
    return home


def _engine_wrapper(tmp_path: Path) -> Path:
    """A shell script Lizzie starts as its engine: `dpv gtp` on random playouts (no network to
    load), its input and output copied to gtp-in.log / gtp-out.log."""
    repo = Path(__file__).resolve().parents[2]
    dpv_gtp = shlex.join([sys.executable, "-m", "dpv.cli", "gtp", "--checkpoint", "rollout", "--sims", "1e9"])
    script = tmp_path / "dpv-engine.sh"
    script.write_text(f"#!/bin/sh\ncd {shlex.quote(str(repo))}\n"
                      f"tee {tmp_path}/gtp-in.log | {dpv_gtp} 2>{tmp_path}/gtp-err.log | tee {tmp_path}/gtp-out.log\n")
    script.chmod(0o755)
    return script


def _answers(out_log: Path) -> dict[str, list[str]]:
    """The engine's answers in the GTP log by command id: the answer's whole lines (the last
    answer may still be streaming)."""
    text = out_log.read_text()
    answers: dict[str, list[str]] = {}
    for frame in text[:text.rfind("\n") + 1].split("\n\n"):
        lines = frame.strip("\n").split("\n")
        match = re.fullmatch(r"[=?](\d+) ?(.*)", lines[0])
        if match:
            answers[match[1]] = [match[2], *lines[1:]]
    return answers


def test_lizzie_analyses_a_position_with_dpv_as_its_engine(tmp_path):
    home = _lizzie_home(tmp_path, _engine_wrapper(tmp_path))
    read_fd, write_fd = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                            pass_fds=(write_fd,), stderr=subprocess.DEVNULL, start_new_session=True)
    os.close(write_fd)
    lizzie = None
    try:
        with os.fdopen(read_fd) as display_number:
            display = f":{display_number.readline().strip()}"
        env = {**os.environ, "DISPLAY": display}
        lizzie = subprocess.Popen(["java", f"-Duser.home={home}", "-jar", str(LIZZIE_JAR)], cwd=tmp_path, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        out_log = tmp_path / "gtp-out.log"
        deadline = time.monotonic() + ANSWER_WAIT_S
        while time.monotonic() < deadline and lizzie.poll() is None:
            if out_log.exists() and out_log.read_text().count("\ninfo move ") >= INFO_LINES:
                break
            time.sleep(1)
        time.sleep(DRAW_S)
        screenshot = tmp_path / "lizzie.png"
        subprocess.run(["import", "-window", "root", str(screenshot)], env=env, check=True, timeout=60)
    finally:
        for process in (lizzie, xvfb):  # Lizzie's group holds the engine it started
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    print(f"screenshot: {screenshot}")
    sent = (tmp_path / "gtp-in.log").read_text().splitlines()
    commands: dict[str, str] = {}  # command name -> the id of its first sending (Lizzie numbers them all)
    for ident, name in (line.split()[:2] for line in sent if line.strip()):
        commands.setdefault(name, ident)
    assert {"name", "version", "boardsize", "lz-analyze"} <= set(commands), sent
    answers = _answers(out_log)
    assert answers[commands["name"]] == ["dpv"]
    version = answers[commands["version"]][0].split()[0]
    assert int(version.split(".")[1]) >= 15  # Lizzie's check, passed: it went on to lz-analyze
    assert answers[commands["boardsize"]] == [""]
    analysis = answers[commands["lz-analyze"]][1:]
    assert len(analysis) >= INFO_LINES and all(line.startswith("info move ") for line in analysis)
    for group in analysis[-1].split("info ")[1:]:  # the integer fields MoveData.fromInfo parses
        words = group.split()
        fields = dict(zip(words[:words.index("pv")][::2], words[1:words.index("pv")][::2]))
        assert 0 <= int(fields["winrate"]) <= 10000 and int(fields["visits"]) >= 0 and int(fields["prior"]) >= 0
    assert screenshot.stat().st_size > 0
