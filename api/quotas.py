"""How much work one user may have under way at once in this process (chat answers); coding
runs are jobs, limited and stopped by review.jobs and review.job_runner."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from review.errors import TooMany


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
