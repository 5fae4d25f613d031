"""Limits on coding runs over HTTP: how many one user may have under way, how long one may
take, and stopping one whose caller has gone away."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import anyio.from_thread
from fastapi import Request

from agent.models import StopCheck
from review.errors import TooMany

_POLL_S = 0.5  # how often a run asks whether its caller is still there


class RunsPerUser:
    """At most `limit` coding runs under way per user, so one client cannot hold every
    coding slot while the rest of the team waits."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._running: dict[str, int] = {}
        self._lock = threading.Lock()

    def check(self, user: str) -> None:
        """TooMany when `user` has no slot free now (nothing is reserved)."""
        with self._lock:
            self._refuse_when_full(user)

    def _refuse_when_full(self, user: str) -> None:
        if self._running.get(user, 0) >= self.limit:
            raise TooMany(
                f"{user} already has {self.limit} coding runs or chat answers under way; "
                "wait for one to finish (MEDCODER_CODING_RUNS_PER_USER)",
                retry_after=5,
            )

    @contextmanager
    def slot(self, user: str) -> Iterator[None]:
        with self._lock:
            self._refuse_when_full(user)
            self._running[user] = self._running.get(user, 0) + 1
        try:
            yield
        finally:
            with self._lock:
                self._running[user] -= 1
                if not self._running[user]:
                    del self._running[user]


def stop_check(request: Request, *, deadline_s: float) -> StopCheck:
    """For a run in a worker thread: stop once `deadline_s` has passed since now, or once the
    caller has disconnected (nobody would read the answer, and the slot is wanted)."""
    deadline = time.monotonic() + deadline_s
    polled = time.monotonic()

    def check() -> str | None:
        nonlocal polled
        now = time.monotonic()
        if now > deadline:
            return f"it ran over {deadline_s:g} s (MEDCODER_CODING_DEADLINE_S)"
        if now - polled >= _POLL_S:
            polled = now
            try:
                gone = anyio.from_thread.run(request.is_disconnected)
            except RuntimeError:  # not on a worker thread of the server: nothing to ask
                return None
            if gone:
                return "the caller disconnected"
        return None

    return check
