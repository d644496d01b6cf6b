"""The client side of GTP, written once: reading an engine's reply, and `GtpClient`, an engine
running as a subprocess (GNU Go, `dpv gtp`, any GTP v2 program)."""
from __future__ import annotations

import shlex
import subprocess


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
    raises `GtpError` with the engine's message.
    """

    def __init__(self, argv: list[str] | str, name: str | None = None) -> None:
        self.argv = shlex.split(argv) if isinstance(argv, str) else list(argv)
        self.name = name or self.argv[0].rsplit("/", 1)[-1]
        try:
            self._process = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                             stderr=subprocess.DEVNULL, text=True, bufsize=1)
        except OSError as err:
            raise GtpError(f"cannot start GTP engine '{self.argv[0]}': {err.strerror}") from None

    def command(self, line: str) -> str:
        """Send one command and return the engine's successful answer."""
        assert self._process.stdin and self._process.stdout
        try:
            self._process.stdin.write(line + "\n")
            self._process.stdin.flush()
        except BrokenPipeError:
            raise GtpError(f"{self.name} exited before '{line}'") from None
        lines: list[str] = []
        while True:
            reply = self._process.stdout.readline()
            if not reply:
                raise GtpError(f"{self.name} exited while answering '{line}'")
            reply = reply.rstrip("\r\n")
            if not reply and lines:
                break
            if reply or lines:
                lines.append(reply)
        return parse_reply("\n".join(lines), line, self.name)

    def close(self) -> None:
        """Ask the engine to quit, and make sure its process is gone."""
        if self._process.poll() is None:
            try:
                self.command("quit")
            except GtpError:
                pass
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def __enter__(self) -> GtpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
