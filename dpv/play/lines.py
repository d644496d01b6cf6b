"""Lines of a pipe gathered by a reader thread, for the two ends of GTP: the engine's stdin
(a streaming command such as lz-analyze sees between two search steps whether the next
command has arrived) and an external engine's replies (read with a timeout).

The pipe is read as bytes and decoded as UTF-8 with replacement characters: a byte that is not
UTF-8 spoils its own line (a GTP engine answers `? ...`), never the reader, whatever the locale.
"""
from __future__ import annotations

import os
import threading
from collections import deque
from typing import BinaryIO


class LineQueue:
    """Lines in arrival order; None marks the end of input."""

    def __init__(self) -> None:
        self._lines: deque[str | None] = deque()
        self._ready = threading.Condition()

    def put(self, line: str | None) -> None:
        """Add a line (None: the input has ended)."""
        with self._ready:
            self._lines.append(line)
            self._ready.notify_all()

    def get(self) -> str | None:
        """The next line, waiting for it; None at the end of input (and ever after)."""
        with self._ready:
            self._ready.wait_for(lambda: bool(self._lines))
            line = self._lines[0]
            if line is not None:  # the end mark stays, for every later call
                self._lines.popleft()
            return line

    def waiting(self, timeout: float | None = 0.0) -> bool:
        """Whether a line (or the end of input) is waiting, after waiting up to `timeout`
        seconds (None: until one is)."""
        with self._ready:
            return self._ready.wait_for(lambda: bool(self._lines), timeout=timeout)


def read_lines(stream: BinaryIO) -> LineQueue:
    """A LineQueue filled with the lines of `stream` (a file with a descriptor) by a daemon
    thread, decoded as UTF-8 with replacement. The thread reads the descriptor itself, not
    the buffered stream: a thread still waiting in a buffered read when the program ends would
    make the interpreter abort at exit."""
    lines_read = LineQueue()
    fd = stream.fileno()

    def pump() -> None:
        pending = b""
        try:
            while chunk := os.read(fd, 1 << 16):
                *lines, pending = (pending + chunk).split(b"\n")
                for raw in lines:
                    lines_read.put(raw.decode("utf-8", errors="replace") + "\n")
            if pending:
                lines_read.put(pending.decode("utf-8", errors="replace"))
        except OSError:  # the pipe closed under us: the input has ended
            pass
        finally:
            lines_read.put(None)

    threading.Thread(target=pump, name="line-reader", daemon=True).start()
    return lines_read
