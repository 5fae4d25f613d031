"""The audit trail: rows are only ever inserted (no function here updates or deletes)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from review.actors import Actor
from review.tables import AuditRow

_INSERT = insert(cast(Table, AuditRow.__table__))  # built once; see review.decisions


def now() -> datetime:
    return datetime.now(UTC)


def record_event(
    session: Session,
    *,
    actor: Actor,
    action: str,
    chart_id: int | None = None,
    proposal_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
    versions: dict[str, Any] | None = None,
) -> None:
    """Append one row; call inside the transaction that makes the change it records."""
    versions = versions or {}
    session.execute(
        _INSERT,
        dict(
            at=now(),
            actor=actor.name,
            role=actor.role,
            action=action,
            chart_id=chart_id,
            proposal_id=proposal_id,
            before=before,
            after=after,
            reason=reason,
            request_id=actor.request_id,
            model=versions.get("model"),
            prompt_version=versions.get("prompt_version"),
            kb_release=versions.get("kb_release"),
            fiscal_year=versions.get("fiscal_year"),
        ),
    )


def chart_events(
    session: Session, *, chart_id: int, after_id: int = 0, limit: int = 500
) -> list[AuditRow]:
    """A chart's audit rows, oldest first, in pages of `limit` after row `after_id`."""
    query = (
        select(AuditRow)
        .where(AuditRow.chart_id == chart_id, AuditRow.id > after_id)
        .order_by(AuditRow.id)
        .limit(limit)
    )
    return list(session.scalars(query))
