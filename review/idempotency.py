"""Responses to POSTs sent with an Idempotency-Key, kept so a retry replays the first answer."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from review.audit import now
from review.errors import InvalidInput
from review.tables import IdempotentResponseRow


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: Any
    headers: dict[str, str]


def fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


def stored_response(
    session: Session, *, user_id: int, key: str, request_fingerprint: str
) -> StoredResponse | None:
    """The earlier answer to this key, or None; the same key with another request is an
    error, since replaying the old answer would silently drop the new request."""
    row = session.get(IdempotentResponseRow, (user_id, key))
    if row is None:
        return None
    if row.fingerprint != request_fingerprint:
        raise InvalidInput(
            f"Idempotency-Key {key!r} was already used for a different request",
            field="Idempotency-Key",
        )
    return StoredResponse(row.status_code, row.body, row.headers)


def store_response(
    session: Session,
    *,
    user_id: int,
    key: str,
    request_fingerprint: str,
    response: StoredResponse,
) -> None:
    """Keep the answer in the caller's transaction, so it exists exactly when the effect does."""
    session.add(
        IdempotentResponseRow(
            user_id=user_id,
            key=key,
            fingerprint=request_fingerprint,
            status_code=response.status_code,
            body=response.body,
            headers=response.headers,
            created_at=now(),
        )
    )
    session.flush()
