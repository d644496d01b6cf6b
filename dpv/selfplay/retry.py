"""Waiting out faults: exponential backoff, and remote calls to an actor that Ray is restarting.

Every self-play actor runs with `max_restarts=-1`, so a dead actor comes back; a call that was
in flight when it died fails with `RayActorError`, while calls submitted during the restart
wait for the new process. `call_actor` submits such a call again (with backoff and one log line
per retry) until the restarted actor answers; a `RemoteCall` does the same without waiting, for
a caller that polls. An actor whose constructor failed (Ray does not restart it) and a call
that raised are no fault to wait out: both are a one-line RunError with the actor's own error
(`actor_error`). No torch import.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from dpv.selfplay.errors import RunError, last_line

log = logging.getLogger("dpv.selfplay")

#: First wait and longest wait between two tries, in seconds.
FIRST_DELAY_S = 0.1
MAX_DELAY_S = 5.0
#: How long `call_actor` keeps resubmitting before it raises the actor's error.
ACTOR_RETRY_S = 300.0


def backoff(first: float = FIRST_DELAY_S, cap: float = MAX_DELAY_S) -> Iterator[float]:
    """Delays first, 2 x first, 4 x first, ... capped at `cap` (forever)."""
    delay = first
    while True:
        yield delay
        delay = min(2 * delay, cap)


def actor_error(actor: str, err: BaseException) -> RunError | None:
    """The RunError of a Ray error that retrying cannot mend: `actor`'s constructor failed, or
    the call raised (a RunError raised inside the actor keeps its message); None for an actor
    that died and is being restarted."""
    import ray

    if isinstance(err, ray.exceptions.RayActorError) and getattr(err, "actor_init_failed", False):
        return RunError(f"{actor} failed to start: {last_line(str(err))}")
    if isinstance(err, ray.exceptions.RayTaskError):
        cause = err.cause
        text = str(cause) if isinstance(cause, RunError) else last_line(str(err))
        return RunError(f"{actor}: {text}")
    return None


def call_actor(submit: Callable[[], Any], what: str, limit_s: float = ACTOR_RETRY_S) -> Any:
    """`ray.get(submit())`, submitted again while the actor behind it is being restarted
    (`RayActorError`) for up to `limit_s` seconds; `what` names the call in the log line. An
    error that is no restart is a RunError (`actor_error`)."""
    import ray

    deadline = time.monotonic() + limit_s
    delays = backoff()
    while True:
        try:
            return ray.get(submit())
        except ray.exceptions.RayError as err:
            if (failed := actor_error(what, err)) is not None:
                raise failed from None
            if not isinstance(err, ray.exceptions.RayActorError):
                raise
            delay = next(delays)
            if time.monotonic() + delay > deadline:
                raise
            log.warning("%s: actor unavailable (%s), retrying in %.1fs", what, type(err).__name__, delay)
            time.sleep(delay)


@dataclass
class RemoteCall:
    """A remote call polled without waiting: `submit()` sends it to the actor named `actor`,
    and sends it again when the actor died with the call in flight (`on_resubmit` is told the
    error first)."""

    actor: str
    submit: Callable[[], Any]
    on_resubmit: Callable[[BaseException], None] | None = None
    ref: Any = field(init=False)

    def __post_init__(self) -> None:
        self.ref = self.submit()

    def poll(self) -> tuple[bool, Any]:
        """(True, result) once the call has finished, else (False, None). A call whose actor
        died (or is still being restarted) is submitted again; an actor that failed to start or
        a call that raised is a RunError (`actor_error`)."""
        import ray

        if not ray.wait([self.ref], timeout=0)[0]:
            return False, None
        try:
            return True, ray.get(self.ref)
        except ray.exceptions.RayError as err:
            if (failed := actor_error(self.actor, err)) is not None:
                raise failed from None
            if not isinstance(err, ray.exceptions.RayActorError):
                raise
            if self.on_resubmit is not None:
                self.on_resubmit(err)
            self.ref = self.submit()
            return False, None
