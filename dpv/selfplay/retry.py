"""Waiting out faults: exponential backoff, and remote calls to an actor that Ray is restarting.

Every self-play actor runs with `max_restarts=-1`, so a dead actor comes back; a call that was
in flight when it died fails with `RayActorError`, while calls submitted during the restart
wait for the new process. `call_actor` submits such a call again (with backoff and one log line
per retry) until the restarted actor answers; a `RemoteCall` does the same without waiting, for
a caller that polls. No torch import.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

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


def call_actor(submit: Callable[[], Any], what: str, limit_s: float = ACTOR_RETRY_S) -> Any:
    """`ray.get(submit())`, submitted again while the actor behind it is being restarted
    (`RayActorError`) for up to `limit_s` seconds; `what` names the call in the log line."""
    import ray

    deadline = time.monotonic() + limit_s
    delays = backoff()
    while True:
        try:
            return ray.get(submit())
        except ray.exceptions.RayActorError as err:
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
        died (or is still being restarted) is submitted again; any other error is raised."""
        import ray

        if not ray.wait([self.ref], timeout=0)[0]:
            return False, None
        try:
            return True, ray.get(self.ref)
        except ray.exceptions.RayActorError as err:
            if self.on_resubmit is not None:
                self.on_resubmit(err)
            self.ref = self.submit()
            return False, None
