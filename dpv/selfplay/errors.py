"""The error of a self-play run that cannot start or cannot go on, and the one line of an
error that happened inside an actor. No torch or ray import."""
from __future__ import annotations


class RunError(ValueError):
    """A self-play run that cannot start (a locked run directory, a resume that does not match
    its run, a missing GPU, ...) or cannot go on (a non-finite loss, an actor that fails to
    start, a full disk): one line saying what and why; `dpv launch selfplay` prints it and
    exits 2."""


def last_line(text: str) -> str:
    """The last non-empty line of `text` (a traceback's is the exception itself), stripped."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""
