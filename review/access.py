"""Who may see a chart and who did: the read log (chart_reads, append-only) and chart
assignment, which, when the server restricts coders to their charts, decides what a coder
sees. Leads and auditors see every chart."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from review.actors import Actor
from review.audit import now, record_event
from review.charts import get_chart, lock_chart
from review.errors import Conflict, InvalidInput, NotFound
from review.states import chart_state
from review.tables import (
    ChartReadRow,
    ChartRow,
    ConversationRow,
    ProposalRow,
    QueryRow,
    UserRow,
)

_INSERT = insert(cast(Table, ChartReadRow.__table__))
ASSIGNABLE_ROLES = ("coder", "lead")


def record_read(session: Session, *, actor: Actor, chart_id: int, endpoint: str) -> None:
    """Append one read; `endpoint` is the method and route template ("GET /charts/{chart_id}")."""
    session.execute(
        _INSERT,
        dict(
            at=now(),
            user_id=actor.user_id,
            actor=actor.name,
            role=actor.role,
            chart_id=chart_id,
            endpoint=endpoint,
            request_id=actor.request_id,
        ),
    )


def chart_reads(
    session: Session, *, chart_id: int, after_id: int = 0, limit: int = 500
) -> list[ChartReadRow]:
    """A chart's reads, oldest first, in pages of `limit` after row `after_id`."""
    query = (
        select(ChartReadRow)
        .where(ChartReadRow.chart_id == chart_id, ChartReadRow.id > after_id)
        .order_by(ChartReadRow.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def restricted(actor: Actor, *, restrict_to_assigned: bool) -> bool:
    """Whether the actor sees only charts assigned to them or to no one."""
    return restrict_to_assigned and actor.role == "coder"


def _hidden(assigned_to: int | None, actor: Actor) -> bool:
    return assigned_to is not None and assigned_to != actor.user_id


def visible_chart(
    session: Session, *, chart_id: int, actor: Actor, restrict_to_assigned: bool
) -> ChartRow:
    """The chart, or NotFound worded as for a chart that does not exist: a coder restricted
    to their charts learns nothing about another's, not even that its id is taken."""
    row = get_chart(session, chart_id=chart_id)
    if restricted(actor, restrict_to_assigned=restrict_to_assigned) and _hidden(
        row.assigned_to, actor
    ):
        raise NotFound(f"chart {chart_id} does not exist")
    return row


def proposal_chart(
    session: Session, *, proposal_id: int, actor: Actor, restrict_to_assigned: bool
) -> int | None:
    """The chart of a proposal the actor may see (None when there is no such proposal: the
    caller's own lookup says so); NotFound, worded as for a missing one, when it is hidden."""
    found = session.execute(
        select(ProposalRow.chart_id, ChartRow.assigned_to)
        .join(ChartRow, ChartRow.id == ProposalRow.chart_id)
        .where(ProposalRow.id == proposal_id)
    ).first()
    if found is None:
        return None
    if restricted(actor, restrict_to_assigned=restrict_to_assigned) and _hidden(found[1], actor):
        raise NotFound(f"proposal {proposal_id} does not exist or was replaced by a new run")
    return int(found[0])


def query_chart(
    session: Session, *, query_id: int, actor: Actor, restrict_to_assigned: bool
) -> int:
    """The chart of a physician query the actor may see; NotFound as for a missing query."""
    found = session.execute(
        select(QueryRow.chart_id, ChartRow.assigned_to)
        .join(ChartRow, ChartRow.id == QueryRow.chart_id)
        .where(QueryRow.id == query_id)
    ).first()
    if found is None or (
        restricted(actor, restrict_to_assigned=restrict_to_assigned) and _hidden(found[1], actor)
    ):
        raise NotFound(f"query {query_id} does not exist")
    return int(found[0])


def conversation_chart(
    session: Session, *, conversation_id: int, actor: Actor, restrict_to_assigned: bool
) -> int:
    """The chart of a conversation the actor may see; NotFound as for a missing one."""
    found = session.execute(
        select(ConversationRow.chart_id, ChartRow.assigned_to)
        .join(ChartRow, ChartRow.id == ConversationRow.chart_id)
        .where(ConversationRow.id == conversation_id)
    ).first()
    if found is None or (
        restricted(actor, restrict_to_assigned=restrict_to_assigned) and _hidden(found[1], actor)
    ):
        raise NotFound(f"conversation {conversation_id} does not exist")
    return int(found[0])


def user_names(session: Session, user_ids: Iterable[int | None]) -> dict[int, str]:
    """Names of the given users (for showing assignees), in one query."""
    wanted = {i for i in user_ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(select(UserRow.id, UserRow.name).where(UserRow.id.in_(wanted)))
    return {int(user_id): str(name) for user_id, name in rows}


def _assignee(user: UserRow | None) -> dict[str, Any] | None:
    return None if user is None else {"user_id": user.id, "name": user.name}


def assign_chart(
    session: Session,
    *,
    chart_id: int,
    user_id: int | None,
    expected_version: int | None,
    actor: Actor,
) -> ChartRow:
    """Assign the chart to an active coder or lead (None: to no one), audited as
    "chart.assign". A change bumps the chart's version, since the assignee is part of the
    chart as served (its ETag); a committed chart may be reassigned too. Assigning the
    current assignee again changes nothing and records nothing."""
    target = None
    if user_id is not None:
        target = session.get(UserRow, user_id)
        if target is None or not target.active or target.role not in ASSIGNABLE_ROLES:
            if target is None:
                why = "does not exist"
            elif not target.active:
                why = "is deactivated"
            else:
                why = f"is an {target.role}, who may not code"
            raise InvalidInput(
                f"user {user_id} {why}; a chart is assigned to an active coder or lead",
                field="body.user_id",
            )
    current = get_chart(session, chart_id=chart_id)
    if current.assigned_to == user_id:
        if expected_version is not None and current.version != expected_version:
            raise Conflict(
                f"chart {chart_id} is at version {current.version}, not {expected_version}: "
                "reload it and try again",
                current=chart_state(current),
            )
        return current
    row = lock_chart(
        session, chart_id=chart_id, expected_version=expected_version, allow_committed=True
    )
    before = _assignee(session.get(UserRow, row.assigned_to) if row.assigned_to else None)
    row.assigned_to = user_id
    session.flush()
    record_event(
        session,
        actor=actor,
        action="chart.assign",
        chart_id=chart_id,
        before={"assigned_to": before, "version": row.version - 1},
        after={"assigned_to": _assignee(target), "version": row.version},
    )
    return row
