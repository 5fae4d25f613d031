"""People signing in to the browser workspace: passwords (argon2id, via pwdlib) and the
sessions a browser holds. API keys stay for machines (review.users)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from review.actors import Actor
from review.audit import now, record_event
from review.errors import InvalidInput, NotFound
from review.tables import UserRow, WebSessionRow

MIN_PASSWORD = 10
MAX_PASSWORD = 1024  # argon2 takes any length; a megabyte "password" is only a cost to us


@cache
def _hasher():  # type: ignore[no-untyped-def]
    # Imported on use: only sign-in and `users create --password` pay for argon2.
    from pwdlib import PasswordHash

    return PasswordHash.recommended()


@cache
def _decoy_hash() -> str:
    """A hash to check unknown names against, so a wrong name costs as long as a wrong
    password and the answer's timing does not tell which names exist."""
    return str(_hasher().hash(secrets.token_urlsafe(16)))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def set_password(session: Session, *, name: str, password: str, actor: Actor) -> UserRow:
    """Give the user named `name` a password (replacing any); their sessions end."""
    user = session.scalar(select(UserRow).where(UserRow.name == name))
    if user is None:
        raise NotFound(f"no user is named {name!r}")
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidInput(
            f"a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters", field="password"
        )
    if password.strip().lower() == name.strip().lower():
        raise InvalidInput("a password may not be the user name", field="password")
    user.password_hash = str(_hasher().hash(password))
    session.execute(delete(WebSessionRow).where(WebSessionRow.user_id == user.id))
    session.flush()
    record_event(session, actor=actor, action="user.set_password", after={"name": user.name})
    return user


def check_password(session: Session, *, name: str, password: str) -> UserRow | None:
    """The active user named `name` when `password` is theirs, else None (same cost either
    way)."""
    user = session.scalar(select(UserRow).where(UserRow.name == name.strip()))
    stored = user.password_hash if user is not None and user.active else None
    if len(password) > MAX_PASSWORD:
        return None
    if stored is None:
        _hasher().verify(password, _decoy_hash())
        return None
    return user if _hasher().verify(password, stored) else None


@dataclass(frozen=True)
class SignedIn:
    """A browser session: `token` goes in the cookie (shown this once), `csrf_token` in the
    page."""

    token: str
    csrf_token: str
    expires_at: datetime


def start_session(session: Session, *, user: UserRow, lifetime: timedelta) -> SignedIn:
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    started = now()
    row = WebSessionRow(
        token_hash=token_hash(token),
        user_id=user.id,
        csrf_token=csrf,
        created_at=started,
        expires_at=started + lifetime,
    )
    session.add(row)
    # Expired sessions of anyone go as new ones start: the table stays small with no chore.
    session.execute(delete(WebSessionRow).where(WebSessionRow.expires_at <= started))
    session.flush()
    actor = Actor(user_id=user.id, name=user.name, role=user.role)  # type: ignore[arg-type]
    record_event(session, actor=actor, action="user.sign_in", after={"name": user.name})
    return SignedIn(token=token, csrf_token=csrf, expires_at=row.expires_at)


@dataclass(frozen=True)
class SessionUser:
    user_id: int
    name: str
    role: str
    csrf_token: str
    expires_at: datetime


def session_user(session: Session, *, token: str) -> SessionUser | None:
    """Who holds the session `token`, while it is unexpired and its user active."""
    found = session.execute(
        select(WebSessionRow, UserRow)
        .join(UserRow, UserRow.id == WebSessionRow.user_id)
        .where(WebSessionRow.token_hash == token_hash(token))
    ).first()
    if found is None:
        return None
    row, user = found
    if row.expires_at <= now() or not user.active or user.password_hash is None:
        return None
    return SessionUser(user.id, user.name, user.role, row.csrf_token, row.expires_at)


def end_session(session: Session, *, token: str) -> bool:
    """Sign out: the session's token stops working. False when it was not a live session."""
    gone = session.execute(
        delete(WebSessionRow).where(WebSessionRow.token_hash == token_hash(token))
    )
    return bool(gone.rowcount)  # type: ignore[attr-defined]


def same_token(given: str | None, expected: str) -> bool:
    """A constant-time comparison, for CSRF tokens."""
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())
