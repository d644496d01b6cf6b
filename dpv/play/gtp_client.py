"""The client side of GTP, written once: reading an engine's reply, and `GtpClient`, an engine
running as a subprocess (GNU Go, `dpv gtp`, any GTP v2 program), every answer awaited at most
`timeout` seconds."""
from __future__ import annotations

import shlex
import subprocess
import time

from dpv.play.lines import read_lines

QUIT_SECONDS = 5.0
"""How long `close` waits for an engine to answer `quit` and to exit."""


class GtpError(RuntimeError):
    """The engine answered a command with a failure, or stopped answering."""


def parse_reply(reply: str, command: str, engine: str) -> str:
    """The body of an engine's successful reply to `command` ("= D5" -> "D5", an id after the
    status is dropped); a failure reply ("? ...") raises GtpError naming `engine`."""
    text = reply.strip()
    status, body = text[:1], text[1:].lstrip("0123456789").strip()
    if status != "=":
        raise GtpError(f"{engine} refused '{command}': {body}")
    return body


class GtpClient:
    """Sends GTP commands to an engine process and returns its answers.

    `command("genmove b")` returns the answer text without the leading "= "; a failure answer
    raises `GtpError` with the engine's message, and so does an engine that exits, or that
    has not answered within `timeout` seconds (None: no limit; the engine is then stopped).
    """

    def __init__(self, argv: list[str] | str, name: str | None = None, timeout: float | None = None) -> None:
        self.argv = shlex.split(argv) if isinstance(argv, str) else list(argv)
        if not self.argv:
            raise GtpError("no GTP engine command line given")
        self.name = name or self.argv[0].rsplit("/", 1)[-1]
        self.timeout = timeout
        try:
            self._process = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                             stderr=subprocess.DEVNULL, text=True, bufsize=1)
        except OSError as err:
            raise GtpError(f"cannot start GTP engine '{self.argv[0]}': {err.strerror}") from None
        self._replies = read_lines(self._process.stdout)

    def check_started(self) -> str:
        """The start-up check: the engine speaks GTP version 2 (`protocol_version`) and tells
        its `name`, which is returned; GtpError otherwise."""
        version = self.command("protocol_version")
        if version != "2":
            raise GtpError(f"{self.name} speaks GTP version '{version}', not 2")
        return self.command("name")

    def command(self, line: str) -> str:
        """Send one command and return the engine's successful answer."""
        assert self._process.stdin
        try:
            self._process.stdin.write(line + "\n")
            self._process.stdin.flush()
        except (BrokenPipeError, OSError):
            raise GtpError(f"{self.name} exited before '{line}'") from None
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        lines: list[str] = []
        while True:
            if not self._replies.waiting(None if deadline is None else max(0.0, deadline - time.monotonic())):
                self._stop()
                raise GtpError(f"{self.name} did not answer '{line}' within {self.timeout:g} s")
            reply = self._replies.get()
            if reply is None:
                raise GtpError(f"{self.name} exited while answering '{line}'")
            reply = reply.rstrip("\r\n")
            if not reply and lines:
                break
            if reply or lines:
                lines.append(reply)
        return parse_reply("\n".join(lines), line, self.name)

    def close(self) -> None:
        """Ask the engine to quit (waiting at most 5 s for its answer), and make sure its
        process is gone."""
        if self._process.poll() is None:
            self.timeout = min(self.timeout or QUIT_SECONDS, QUIT_SECONDS)
            try:
                self.command("quit")
            except GtpError:
                pass
            try:
                self._process.wait(timeout=QUIT_SECONDS)
            except subprocess.TimeoutExpired:
                self._stop()

    def _stop(self) -> None:
        """Kill the engine's process and wait for it."""
        self._process.kill()
        self._process.wait()

    def __enter__(self) -> GtpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
