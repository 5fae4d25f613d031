"""Who is calling: API keys checked against the users table (with a short cache), failed
attempts counted per client address, and an address that keeps failing locked out a while."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from review.actors import Actor
from review.audit import now
from review.db import transaction
from review.sign_in import SessionUser, session_user, token_hash
from review.users import KeyState, hash_key, key_state

log = logging.getLogger("medcoder.auth")

# How long a checked key is trusted without asking the database: short, so a key deactivated
# from the shell or by another worker process stops within that, yet a busy client still
# costs one users query per KEY_CACHE_SECONDS, not one per request.
KEY_CACHE_SECONDS = 2.0


class AuthenticationFailed(Exception):
    """No key, or one that is unknown, inactive or expired; `detail` says which."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class LockedOut(Exception):
    """Too many failed attempts from this address; try again after `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed authentications; retry after {retry_after} s")
        self.retry_after = retry_after


class FailureCounter:
    """Failed authentications per client address in a sliding window: after `limit` of them,
    the address is refused until the oldest leaves the window (slows key guessing)."""

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit, self.window_s = limit, window_s
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, address: str) -> int:
        """Seconds until `address` may try again (0: now)."""
        now = time.monotonic()
        with self._lock:
            failures = self._failures.get(address)
            if not failures:
                return 0
            while failures and failures[0] <= now - self.window_s:
                failures.popleft()
            if len(failures) < self.limit:
                if not failures:
                    del self._failures[address]
                return 0
            return max(1, int(failures[0] + self.window_s - now) + 1)

    def record(self, address: str) -> None:
        with self._lock:
            failures = self._failures.setdefault(address, deque())
            failures.append(time.monotonic())
            if len(failures) > self.limit:  # older ones no longer matter
                failures.popleft()
            if len(self._failures) > 100_000:  # a spray of addresses cannot grow this forever
                self._failures.pop(next(iter(self._failures)))


@dataclass
class Authenticator:
    """Turns a key into the actor holding it. Thread-safe; shared by the edge and the routes."""

    readers: sessionmaker[Session]
    failures: FailureCounter
    # key hash -> (trusted until, user id, name, role)
    _known: dict[str, tuple[float, int, str, str]] = field(default_factory=dict)
    # session token hash -> (trusted until, who holds it)
    _sessions: dict[str, tuple[float, SessionUser]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def cached(self, key: str, request_id: str | None) -> Actor | None:
        """The actor for a key checked a moment ago, without touching the database."""
        with self._lock:
            found = self._known.get(hash_key(key))
        if found is None or found[0] < time.monotonic():
            return None
        _, user_id, name, role = found
        return Actor(user_id=user_id, name=name, role=role, request_id=request_id)  # type: ignore[arg-type]

    def actor(self, key: str | None, *, request_id: str | None, client: str) -> Actor:
        """The actor for `key`, or AuthenticationFailed (counted against `client`, and logged
        with the address and request id only: never the key)."""
        retry = self.failures.retry_after(client)
        if retry:
            raise LockedOut(retry)
        if not key:
            self._failed(client, request_id, "no key")
            raise AuthenticationFailed("an API key is required (Authorization: Bearer <key>)")
        known = self.cached(key, request_id)
        if known is not None:
            return known
        with transaction(self.readers) as session:
            state, user = key_state(session, key=key)
            if state is not KeyState.VALID or user is None:
                self._failed(client, request_id, state.value)
                raise AuthenticationFailed(_DETAIL[state](user.key_expires_at if user else None))
            trusted_until = time.monotonic() + KEY_CACHE_SECONDS
            if user.key_expires_at is not None:  # the cache never outlives the key
                left = (user.key_expires_at - now()).total_seconds()
                trusted_until = min(trusted_until, time.monotonic() + left)
            entry = (trusted_until, user.id, user.name, user.role)
        with self._lock:
            self._known[hash_key(key)] = entry
        _, user_id, name, role = entry
        return Actor(user_id=user_id, name=name, role=role, request_id=request_id)  # type: ignore[arg-type]

    def session(self, token: str, *, request_id: str | None) -> tuple[Actor, str] | None:
        """The actor signed in with the browser session `token` and the session's CSRF
        token; None when the session is unknown, ended or expired (not counted as a failed
        attempt: a 256-bit token is not guessed, and an old cookie is no attack)."""
        hashed = token_hash(token)
        with self._lock:
            found = self._sessions.get(hashed)
        if found is None or found[0] < time.monotonic():
            with transaction(self.readers) as session:
                holder = session_user(session, token=token)
            if holder is None:
                with self._lock:
                    self._sessions.pop(hashed, None)
                return None
            left = (holder.expires_at - now()).total_seconds()
            found = (time.monotonic() + min(KEY_CACHE_SECONDS, left), holder)
            with self._lock:
                self._sessions[hashed] = found
        holder = found[1]
        actor = Actor(
            user_id=holder.user_id,
            name=holder.name,
            role=holder.role,  # type: ignore[arg-type]
            request_id=request_id,
        )
        return actor, holder.csrf_token

    def forget(self) -> None:
        """Drop the cache: a deactivated, rotated or expired key (or a changed password, or
        a session signed out) stops working at once."""
        with self._lock:
            self._known.clear()
            self._sessions.clear()

    def _failed(self, client: str, request_id: str | None, why: str) -> None:
        self.failures.record(client)
        log.warning("authentication failed (%s) from %s, request %s", why, client, request_id)


def _expired(at: datetime | None) -> str:
    when = f" on {at:%Y-%m-%d %H:%M} UTC" if at else ""
    return f"this API key expired{when}; ask a lead to rotate it"


_DETAIL = {
    KeyState.UNKNOWN: lambda _at: "unknown or inactive API key",
    KeyState.INACTIVE: lambda _at: "unknown or inactive API key",
    KeyState.EXPIRED: _expired,
}
