"""The GTP engine's input: command lines gathered by a reader thread, so that a streaming
command (lz-analyze) can see between two search steps whether the next command has arrived.

stdin is read as bytes and decoded as UTF-8 with replacement characters: a byte that is not
UTF-8 spoils its own line's command (answered `? ...`), never the engine, whatever the locale.
"""
from __future__ import annotations

import os
import threading
from collections import deque
from typing import BinaryIO


class CommandQueue:
    """Input lines in arrival order; None marks the end of input."""

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

    def waiting(self, timeout: float = 0.0) -> bool:
        """Whether a line (or the end of input) is waiting, after waiting up to `timeout` seconds."""
        with self._ready:
            return self._ready.wait_for(lambda: bool(self._lines), timeout=timeout)


def read_commands(stream: BinaryIO) -> CommandQueue:
    """A CommandQueue filled with the lines of `stream` (a file with a descriptor) by a daemon
    thread, decoded as UTF-8 with replacement. The thread reads the descriptor itself, not
    the buffered stream: a thread still waiting in a buffered read when the engine quits would
    make the interpreter abort at exit."""
    commands = CommandQueue()
    fd = stream.fileno()

    def pump() -> None:
        pending = b""
        try:
            while chunk := os.read(fd, 1 << 16):
                *lines, pending = (pending + chunk).split(b"\n")
                for raw in lines:
                    commands.put(raw.decode("utf-8", errors="replace") + "\n")
            if pending:
                commands.put(pending.decode("utf-8", errors="replace"))
        except OSError:  # stdin closed under us: the input has ended
            pass
        finally:
            commands.put(None)

    threading.Thread(target=pump, name="gtp-stdin", daemon=True).start()
    return commands
