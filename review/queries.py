"""Physician queries (CDI): created from a draft a CDI specialist may edit, answered with the
physician's reply or cancelled; every step audited. An answer joins the chart's text as an
addendum (offsets of the text before it stay as they were), so the next coding run reads it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from agent.cdi import Indicator, QueryDraft, compliance_problems
from agent.models import Span
from review.actors import Actor
from review.audit import now, record_event
from review.charts import get_chart, lock_chart
from review.errors import Conflict, InvalidInput, NotFound
from review.tables import QueryRow


@dataclass(frozen=True)
class QueryInput:
    """A query as sent: usually a draft of `GET /charts/{id}/cdi`, edited or not."""

    kind: str
    topic: str
    question: str
    options: Sequence[str]
    indicators: Sequence[tuple[str, int, int]]  # (what, start, end) in the chart's text
    code: str | None = None
    proposal_id: int | None = None


def create_query(
    session: Session, *, chart_id: int, query: QueryInput, actor: Actor, send: bool = True
) -> QueryRow:
    """Refused (InvalidInput, every problem listed) unless compliant: the indicators are the
    chart's own words, the options hold "Other" and "Clinically undetermined", nothing speaks
    of payment or grouping. Sent (open) at once, or kept as a draft to edit and send."""
    chart = lock_chart(session, chart_id=chart_id, start_review=True)
    indicators = _checked(chart.text, query)
    status = "open" if send else "draft"
    row = QueryRow(
        chart_id=chart_id,
        proposal_id=query.proposal_id,
        kind=query.kind,
        code=query.code,
        topic=query.topic,
        question=query.question,
        options=list(query.options),
        indicators=_stored(indicators),
        status=status,
        created_by=actor.name,
        created_at=now(),
    )
    session.add(row)
    session.flush()
    record_event(
        session,
        actor=actor,
        action="query.create",
        chart_id=chart_id,
        proposal_id=query.proposal_id,
        after={"query_id": row.id, "kind": row.kind, "code": row.code, "status": status},
    )
    return row


def edit_query(session: Session, *, query_id: int, query: QueryInput, actor: Actor) -> QueryRow:
    """A draft rewritten (checked for compliance again); a sent query is not edited."""
    row = get_query(session, query_id=query_id)
    if row.status != "draft":
        raise Conflict(f"query {query_id} is {row.status}: only a draft is edited")
    chart = lock_chart(session, chart_id=row.chart_id)
    indicators = _checked(chart.text, query)
    row.kind, row.topic, row.question = query.kind, query.topic, query.question
    row.options, row.indicators = list(query.options), _stored(indicators)
    row.code, row.proposal_id = query.code, query.proposal_id
    session.flush()
    record_event(
        session,
        actor=actor,
        action="query.edit",
        chart_id=row.chart_id,
        proposal_id=row.proposal_id,
        after={"query_id": row.id, "status": "draft"},
    )
    return row


def send_query(session: Session, *, query_id: int, actor: Actor) -> QueryRow:
    row = get_query(session, query_id=query_id)
    if row.status != "draft":
        raise Conflict(f"query {query_id} is {row.status}, not a draft")
    lock_chart(session, chart_id=row.chart_id)
    row.status = "open"
    session.flush()
    record_event(
        session,
        actor=actor,
        action="query.send",
        chart_id=row.chart_id,
        proposal_id=row.proposal_id,
        before={"query_id": row.id, "status": "draft"},
        after={"query_id": row.id, "status": "open"},
    )
    return row


def _checked(text: str, query: QueryInput) -> list[Indicator]:
    """The query's indicators quoted from the chart; InvalidInput unless it is compliant."""
    indicators = []
    for n, (what, start, end) in enumerate(query.indicators):
        if not 0 <= start < end <= len(text):
            raise InvalidInput(
                f"indicator {n}: [{start}, {end}) is outside the chart's text (0-{len(text)})",
                field=f"body.indicators[{n}]",
            )
        indicators.append(Indicator(what, Span(start=start, end=end, quote=text[start:end])))
    draft = QueryDraft(
        kind=query.kind,
        code=query.code or "",
        topic=query.topic,
        indicators=tuple(indicators),
        question=query.question,
        options=tuple(query.options),
    )
    problems = compliance_problems(draft, text)
    if problems:
        raise InvalidInput(f"the query is not compliant: {'; '.join(problems)}", field="body")
    return indicators


def _stored(indicators: list[Indicator]) -> list[dict[str, object]]:
    return [
        {
            "what": i.what,
            "quote": i.evidence.quote,
            "start": i.evidence.start,
            "end": i.evidence.end,
        }
        for i in indicators
    ]


def get_query(session: Session, *, query_id: int) -> QueryRow:
    row = session.get(QueryRow, query_id)
    if row is None:
        raise NotFound(f"query {query_id} does not exist")
    return row


def chart_queries(session: Session, *, chart_id: int) -> list[QueryRow]:
    get_chart(session, chart_id=chart_id)
    found = session.scalars(
        select(QueryRow).where(QueryRow.chart_id == chart_id).order_by(QueryRow.id)
    )
    return list(found)


def answer_query(session: Session, *, query_id: int, answer: str, actor: Actor) -> QueryRow:
    """Record the physician's answer; it joins the chart as an addendum."""
    row = _open(session, query_id)
    text = answer.strip()
    if not text:
        raise InvalidInput(
            "the answer is empty: record what the physician documented", field="body.answer"
        )
    chart = lock_chart(session, chart_id=row.chart_id, start_review=True)
    chart.text = (
        f"{chart.text.rstrip()}\n\nAddendum (answer to physician query {row.id}, "
        f"{row.topic}): {text}\n"
    )
    row.status, row.answer = "answered", text
    row.closed_by, row.closed_at = actor.name, now()
    session.flush()
    # The answer is documentation (patient data): it stays in the query and chart rows.
    record_event(
        session,
        actor=actor,
        action="query.answer",
        chart_id=row.chart_id,
        proposal_id=row.proposal_id,
        before={"query_id": row.id, "status": "open"},
        after={"query_id": row.id, "status": "answered", "chart_chars": len(chart.text)},
    )
    return row


def cancel_query(session: Session, *, query_id: int, reason: str, actor: Actor) -> QueryRow:
    row = get_query(session, query_id=query_id)
    if row.status not in ("draft", "open"):
        raise Conflict(f"query {query_id} is {row.status}: only a draft or an open query")
    if not reason.strip():
        raise InvalidInput("say why the query is cancelled", field="body.reason")
    lock_chart(session, chart_id=row.chart_id)
    row.status, row.reason = "cancelled", reason.strip()
    row.closed_by, row.closed_at = actor.name, now()
    session.flush()
    record_event(
        session,
        actor=actor,
        action="query.cancel",
        chart_id=row.chart_id,
        proposal_id=row.proposal_id,
        after={"query_id": row.id, "status": "cancelled"},
        reason=row.reason,
    )
    return row


def open_queries(session: Session, *, chart_id: int) -> list[QueryRow]:
    found = session.scalars(
        select(QueryRow).where(QueryRow.chart_id == chart_id, QueryRow.status == "open")
    )
    return list(found)


def _open(session: Session, query_id: int) -> QueryRow:
    row = get_query(session, query_id=query_id)
    if row.status != "open":
        raise Conflict(f"query {query_id} is {row.status}, not open")
    return row
