"""Responses to POSTs sent with an Idempotency-Key, kept so a retry replays the first answer.

Answers are kept for a window (MEDCODER_IDEMPOTENCY_HOURS), then ignored and deleted: a key
reused after that acts afresh, so a retry sent more than a window after its first attempt
makes a second effect. That is the accepted price of not keeping answers forever; clients
retry within seconds or minutes.

Only what a replay needs is kept: chart text (a chart's `text`, the `quote` of an evidence
span) is stored as a reference {"$chart_text": [chart id, start, end]} in its place and read
back from the chart on replay, so PHI lives in the charts table only. The reference keeps the
key's position, so the replayed JSON has the same keys in the same order and the same text,
unless a physician query's answer has since appended an addendum to the chart: then `text` is
the chart as it is now (evidence offsets stay valid: an addendum only trims trailing blanks
and appends).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeGuard, cast

from sqlalchemy import CursorResult, delete
from sqlalchemy.orm import Session

from review.audit import now
from review.errors import InvalidInput, NotFound
from review.tables import ChartRow, IdempotentResponseRow

CHART_TEXT = "$chart_text"


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: Any
    headers: dict[str, str]


def fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


def stored_response(
    session: Session,
    *,
    user_id: int,
    key: str,
    request_fingerprint: str,
    newer_than: datetime | None = None,
) -> StoredResponse | None:
    """The earlier answer to this key, or None; the same key with another request is an
    error, since replaying the old answer would silently drop the new request. An answer
    stored before `newer_than` counts as absent (even before housekeeping deletes it) and
    is deleted here, so this transaction can store the new answer under the same key."""
    row = session.get(IdempotentResponseRow, (user_id, key))
    if row is None:
        return None
    if newer_than is not None and row.created_at < _utc(newer_than):
        session.execute(
            delete(IdempotentResponseRow).where(
                IdempotentResponseRow.user_id == user_id,
                IdempotentResponseRow.key == key,
                IdempotentResponseRow.created_at < _utc(newer_than),
            )
        )
        session.expunge(row)  # or the new row would clash with it in the identity map
        return None
    if row.fingerprint != request_fingerprint:
        raise InvalidInput(
            f"Idempotency-Key {key!r} was already used for a different request",
            field="Idempotency-Key",
        )
    return StoredResponse(row.status_code, _with_chart_text(session, row.body), row.headers)


def expire_responses(session: Session, *, older_than: datetime) -> int:
    """Delete the answers stored before `older_than`; how many."""
    result = session.execute(
        delete(IdempotentResponseRow).where(IdempotentResponseRow.created_at < _utc(older_than))
    )
    return cast(CursorResult[Any], result).rowcount


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
            body=_without_chart_text(session, response.body),
            headers=response.headers,
            created_at=now(),
        )
    )
    session.flush()


def _utc(moment: datetime) -> datetime:
    # SQLite keeps timestamps without their zone: compare in UTC, as they are stored.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _is_id(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _chart_texts(session: Session) -> Callable[[int], str | None]:
    texts: dict[int, str | None] = {}

    def text_of(chart_id: int) -> str | None:
        if chart_id not in texts:
            chart = session.get(ChartRow, chart_id)  # usually in the session already
            texts[chart_id] = chart.text if chart is not None else None
        return texts[chart_id]

    return text_of


def _without_chart_text(session: Session, body: Any) -> Any:
    """`body` with chart text replaced by references. A string is replaced only when it is
    exactly what the reference reads back now, so a replay cannot change it by accident:
    a `text` next to an `id` (a chart), a `quote` next to `start` and `end` (an evidence
    span of the chart named by the nearest `chart_id` around it)."""
    text_of = _chart_texts(session)

    def walk(value: Any, chart_id: int | None) -> Any:
        if isinstance(value, list):
            return [walk(item, chart_id) for item in value]
        if not isinstance(value, dict):
            return value
        if _is_id(value.get("chart_id")):
            chart_id = value["chart_id"]
        own, start, end = value.get("id"), value.get("start"), value.get("end")
        kept: dict[str, Any] = {}
        for name, item in value.items():
            if name == "text" and isinstance(item, str) and _is_id(own) and text_of(own) == item:
                kept[name] = {CHART_TEXT: [own, 0, None]}
            elif (
                name == "quote"
                and isinstance(item, str)
                and item
                and chart_id is not None
                and _is_id(start)
                and _is_id(end)
                and (text_of(chart_id) or "")[start:end] == item
            ):
                kept[name] = {CHART_TEXT: [chart_id, start, end]}
            else:
                kept[name] = walk(item, chart_id)
        return kept

    return walk(body, None)


def _with_chart_text(session: Session, body: Any) -> Any:
    """`body` with each chart-text reference read back from its chart (rows stored before
    references existed have none and come back as they are)."""
    text_of = _chart_texts(session)

    def walk(value: Any) -> Any:
        if isinstance(value, list):
            return [walk(item) for item in value]
        if not isinstance(value, dict):
            return value
        restored: dict[str, Any] = {}
        for name, item in value.items():
            if name in ("text", "quote") and isinstance(item, dict) and item.keys() == {CHART_TEXT}:
                chart_id, start, end = item[CHART_TEXT]
                text = text_of(chart_id)
                if text is None:  # charts are never deleted; say so if one ever is
                    raise NotFound(
                        f"chart {chart_id}, which this key's first answer holds, is gone"
                    )
                restored[name] = text[start:end]
            else:
                restored[name] = walk(item)
        return restored

    return walk(body)
