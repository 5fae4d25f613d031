"""API users: a name, a role and one key, of which only the sha256 is stored."""

from __future__ import annotations

import hashlib
import secrets

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


def create_user(session: Session, *, name: str, role: str, actor: Actor) -> tuple[UserRow, str]:
    """A new user and their key, which is returned this once and never stored in clear."""
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}, got {role!r}", field="role")
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput("name must be 1 to 100 characters", field="name")
    if session.scalar(select(UserRow.id).where(UserRow.name == name)) is not None:
        raise Conflict(f"a user named {name!r} already exists")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    user = UserRow(
        name=name, role=role, key_hash=hash_key(key), key_prefix=key[:8], created_at=now()
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError as error:  # a concurrent create of the same name
        raise Conflict(f"a user named {name!r} already exists") from error
    record_event(session, actor=actor, action="user.create", after={"name": name, "role": role})
    return user, key


def user_for_key(session: Session, *, key: str) -> UserRow | None:
    """The active user holding `key`, or None."""
    found = session.scalar(select(UserRow).where(UserRow.key_hash == hash_key(key)))
    return found if found is not None and found.active else None


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


def rotate_key(session: Session, *, user_id: int, actor: Actor) -> tuple[UserRow, str]:
    """A new key for the user (returned this once); the old one stops working at once."""
    user = _user(session, user_id)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    before = {"name": user.name, "key_prefix": user.key_prefix}
    user.key_hash, user.key_prefix, user.active = hash_key(key), key[:8], True
    session.flush()
    after = {"name": user.name, "key_prefix": user.key_prefix}
    record_event(session, actor=actor, action="user.rotate_key", before=before, after=after)
    return user, key


def _user(session: Session, user_id: int) -> UserRow:
    user = session.get(UserRow, user_id)
    if user is None:
        raise NotFound(f"user {user_id} does not exist")
    return user
