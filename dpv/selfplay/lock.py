"""The lock of a run directory: one run at a time in it, for the life of the run.

`RunLock` takes an exclusive `fcntl.flock` on `RUN/lock` and writes its owner (pid and host)
in the file. A second launch on a live run is refused with one line naming the owner. The
kernel drops the lock when its process dies, so a lock file that still names an owner but is
not locked was left by a run that died: it is taken over, with a line saying so. A run that
ends cleanly empties the file. On a cluster's shared file system, Linux's NFS client maps the
flock to an NFS lock, so the lock holds across nodes. No torch or ray import.
"""
from __future__ import annotations

import fcntl
import os
import socket
from pathlib import Path
from types import TracebackType

from dpv.selfplay.errors import RunError

LOCK_NAME = "lock"


def owner_text() -> str:
    """How this process names itself in a lock file: "pid N on host H"."""
    return f"pid {os.getpid()} on host {socket.gethostname()}"


class RunLock:
    """An exclusive lock on the run directory `root` (see the module docstring); a context
    manager. `taken_over` is the owner named by a stale lock that `acquire` took over."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.path = self.root / LOCK_NAME
        self.taken_over: str | None = None
        self._file = None

    def acquire(self) -> RunLock:
        """Take the lock, or raise a RunError naming the run that holds it."""
        try:
            self._file = open(self.path, "a+")
        except OSError as err:
            raise RunError(f"{self.path}: cannot create the run's lock file ({err.strerror})") from None
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = self._read() or "another process"
            self._file.close()
            self._file = None
            raise RunError(f"{self.root} is in use by the run of {owner} (lock {self.path}): "
                           "wait for it to end, or use another --run-dir") from None
        self.taken_over = self._read() or None
        self._file.truncate(0)
        self._file.write(owner_text() + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())
        return self

    def _read(self) -> str:
        self._file.seek(0)
        return self._file.read().strip()

    def release(self) -> None:
        """Empty the lock file and drop the lock."""
        if self._file is None:
            return
        self._file.truncate(0)
        self._file.flush()
        fcntl.flock(self._file, fcntl.LOCK_UN)
        self._file.close()
        self._file = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.release()
