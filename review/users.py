"""API users: a name, a role and one key, of which only the sha256 is stored."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from enum import Enum

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from review.actors import ROLES, Actor
from review.audit import now, record_event
from review.errors import Conflict, InvalidInput, NotFound
from review.tables import UserRow

KEY_PREFIX = "mck_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class KeyState(Enum):
    VALID = "valid"
    UNKNOWN = "unknown key"
    INACTIVE = "inactive key"
    EXPIRED = "expired key"


def key_expiry(days: int | None) -> datetime | None:
    """When a key issued now for `days` expires (None: never)."""
    if days is None:
        return None
    if not 1 <= days <= 3650:
        raise InvalidInput(f"a key lives 1 to 3650 days, not {days}", field="expires_in_days")
    return now() + timedelta(days=days)


def create_user(
    session: Session, *, name: str, role: str, actor: Actor, expires_at: datetime | None = None
) -> tuple[UserRow, str]:
    """A new user and their key, which is returned this once and never stored in clear; the
    key stops working at `expires_at` when one is given."""
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}, got {role!r}", field="role")
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput("name must be 1 to 100 characters", field="name")
    if session.scalar(select(UserRow.id).where(UserRow.name == name)) is not None:
        raise Conflict(f"a user named {name!r} already exists")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    user = UserRow(
        name=name,
        role=role,
        key_hash=hash_key(key),
        key_prefix=key[:8],
        key_expires_at=expires_at,
        created_at=now(),
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError as error:  # a concurrent create of the same name
        raise Conflict(f"a user named {name!r} already exists") from error
    after = {"name": name, "role": role, "key_expires_at": _iso(expires_at)}
    record_event(session, actor=actor, action="user.create", after=after)
    return user, key


def user_for_key(session: Session, *, key: str) -> UserRow | None:
    """The active user holding `key` while it is unexpired, or None."""
    state, user = key_state(session, key=key)
    return user if state is KeyState.VALID else None


def key_state(session: Session, *, key: str) -> tuple[KeyState, UserRow | None]:
    """Whether `key` may be used now, and whose it is (None when unknown)."""
    found = session.scalar(select(UserRow).where(UserRow.key_hash == hash_key(key)))
    if found is None:
        return KeyState.UNKNOWN, None
    if not found.active:
        return KeyState.INACTIVE, found
    if found.key_expires_at is not None and found.key_expires_at <= now():
        return KeyState.EXPIRED, found
    return KeyState.VALID, found


def list_users(session: Session) -> list[UserRow]:
    return list(session.scalars(select(UserRow).order_by(UserRow.id)))


def deactivate_user(session: Session, *, user_id: int, actor: Actor) -> UserRow:
    """The user's key stops working; the user and their audit history stay."""
    user = _user(session, user_id)
    if actor.user_id == user.id:
        raise Conflict("a lead may not deactivate their own key (ask another lead)")
    user.active = False
    session.flush()
    record_event(
        session,
        actor=actor,
        action="user.deactivate",
        before={"name": user.name, "active": True},
        after={"name": user.name, "active": False},
    )
    return user


def rotate_key(
    session: Session, *, user_id: int, actor: Actor, expires_at: datetime | None = None
) -> tuple[UserRow, str]:
    """A new key for the user (returned this once, expiring at `expires_at` if given); the
    old one stops working at once."""
    user = _user(session, user_id)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    before = {"name": user.name, "key_prefix": user.key_prefix}
    user.key_hash, user.key_prefix, user.active = hash_key(key), key[:8], True
    user.key_expires_at = expires_at
    session.flush()
    after = {
        "name": user.name,
        "key_prefix": user.key_prefix,
        "key_expires_at": _iso(expires_at),
    }
    record_event(session, actor=actor, action="user.rotate_key", before=before, after=after)
    return user, key


def _user(session: Session, user_id: int) -> UserRow:
    user = session.get(UserRow, user_id)
    if user is None:
        raise NotFound(f"user {user_id} does not exist")
    return user


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None
