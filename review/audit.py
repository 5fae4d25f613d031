"""The audit trail: rows are only ever inserted (no function here updates or deletes), each
chained by hash to the one before (review/audit_chain.py checks the chain)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select, text
from sqlalchemy.orm import Session

from review.actors import Actor
from review.audit_chain import GENESIS, chain_hash
from review.tables import AuditRow

_INSERT = insert(cast(Table, AuditRow.__table__))  # built once; see review.decisions

# The id is part of the row's hash, so it is taken before the insert (rows cannot be updated
# afterwards): from the sequence on PostgreSQL, max + 1 on SQLite (what SQLite would assign).
_HEAD = "(SELECT row_hash FROM audit_events ORDER BY id DESC LIMIT 1)"
_NEXT_LINK = {
    "postgresql": text(f"SELECT nextval(pg_get_serial_sequence('audit_events', 'id')), {_HEAD}"),
    "sqlite": text(f"SELECT coalesce(max(id), 0) + 1, {_HEAD} FROM audit_events"),
}
# Any fixed 64-bit number ("medcoder" in ASCII): the advisory lock appenders queue on.
_CHAIN_LOCK = 0x6D6564636F646572
_TAKE_CHAIN_LOCK = text(f"SELECT pg_advisory_xact_lock({_CHAIN_LOCK})")


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
    """Append one row, chained to the newest one; call inside the transaction that makes
    the change it records (on PostgreSQL at READ COMMITTED, the default: each statement must
    see what was committed while this one waited for the chain's lock)."""
    versions = versions or {}
    # Core statements straight on the transaction's connection (none of them is an ORM
    # statement, so the session would not flush for them either): less CPU per write.
    connection = session.connection()
    dialect = connection.dialect.name
    if dialect == "postgresql":
        # Held until commit, so the next appender reads the head only once this row is
        # committed: two rows never chain from the same one. SQLite needs no lock: its
        # writers already go one at a time (BEGIN IMMEDIATE and review.db's writer lock).
        connection.execute(_TAKE_CHAIN_LOCK)
    row_id, head = connection.execute(_NEXT_LINK[dialect]).one()
    prev_hash = head or GENESIS
    fields: dict[str, Any] = dict(
        id=row_id,
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
    )
    row_hash = chain_hash(prev_hash, fields)
    connection.execute(_INSERT, {**fields, "prev_hash": prev_hash, "row_hash": row_hash})


def chart_events(
    session: Session,
    *,
    chart_id: int,
    after_id: int = 0,
    before_id: int | None = None,
    newest_first: bool = False,
    limit: int = 500,
) -> list[AuditRow]:
    """A chart's audit rows between `after_id` and `before_id` (both exclusive), in pages of
    `limit`: oldest first, or newest first so a reader can start from the latest events and
    page back with `before_id`."""
    query = select(AuditRow).where(AuditRow.chart_id == chart_id, AuditRow.id > after_id)
    if before_id is not None:
        query = query.where(AuditRow.id < before_id)
    order = AuditRow.id.desc() if newest_first else AuditRow.id
    return list(session.scalars(query.order_by(order).limit(limit)))
