"""One progress line on stderr for long work: rewritten in place on a terminal, printed as
a new line every few seconds otherwise (logs, CI)."""
from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Throttled status line: `update(text)` shows `text` at most every `interval` seconds
    (`log_interval` when the stream is not a terminal); `close()` ends the line."""

    def __init__(self, stream: TextIO | None = None, interval: float = 0.25, log_interval: float = 5.0) -> None:
        self.stream = stream or sys.stderr  # looked up now, not at import (pytest swaps stderr)
        self.tty = self.stream.isatty()
        self.interval = interval if self.tty else log_interval
        self._last = float("-inf")
        self._text = ""

    def update(self, text: str, force: bool = False) -> None:
        """Show `text` if the last update is old enough (or `force`)."""
        self._text = text
        now = time.monotonic()
        if not force and now - self._last < self.interval:
            return
        self._last = now
        if self.tty:
            self.stream.write(f"\r\x1b[K{text}")
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        """Show the last text and end the line."""
        self.update(self._text, force=True)
        if self.tty:
            self.stream.write("\n")
        self.stream.flush()
