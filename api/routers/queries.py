"""Physician queries: create one from a draft, read, answer, cancel."""

from __future__ import annotations

from fastapi import APIRouter

from api.access import ChartCoder, ChartReader, QueryCoder, QueryReader
from api.deps import RowId, ServicesDep
from api.schemas.queries import QueryAnswer, QueryCancel, QueryCreate, QueryPublic
from review.db import transaction
from review.queries import (
    QueryInput,
    answer_query,
    cancel_query,
    chart_queries,
    create_query,
    edit_query,
    get_query,
    send_query,
)

router = APIRouter(tags=["queries"])


@router.post("/charts/{chart_id}/queries", status_code=201, response_model=QueryPublic)
def post_query(
    chart_id: RowId, body: QueryCreate, services: ServicesDep, actor: ChartCoder
) -> QueryPublic:
    """422, every problem listed, unless the query is compliant (indicators quoted from the
    chart, "Other" and "Clinically undetermined" among the options, no payment words)."""
    with transaction(services.sessions) as session:
        row = create_query(
            session, chart_id=chart_id, query=_input(body), actor=actor, send=body.send
        )
        return QueryPublic.model_validate(row)


@router.put("/queries/{query_id}", response_model=QueryPublic)
def put_query(
    query_id: RowId, body: QueryCreate, services: ServicesDep, actor: QueryCoder
) -> QueryPublic:
    """Rewrite a draft (checked for compliance again); 409 once it is sent."""
    with transaction(services.sessions) as session:
        row = edit_query(session, query_id=query_id, query=_input(body), actor=actor)
        return QueryPublic.model_validate(row)


@router.post("/queries/{query_id}/send", response_model=QueryPublic)
def post_send(query_id: RowId, services: ServicesDep, actor: QueryCoder) -> QueryPublic:
    with transaction(services.sessions) as session:
        return QueryPublic.model_validate(send_query(session, query_id=query_id, actor=actor))


def _input(body: QueryCreate) -> QueryInput:
    return QueryInput(
        kind=body.kind,
        topic=body.topic,
        question=body.question,
        options=body.options,
        indicators=[(i.what, i.start, i.end) for i in body.indicators],
        code=body.code,
        proposal_id=body.proposal_id,
    )


@router.get("/charts/{chart_id}/queries", response_model=list[QueryPublic])
def list_queries(chart_id: RowId, services: ServicesDep, actor: ChartReader) -> list[QueryPublic]:
    with transaction(services.readers) as session:
        return [QueryPublic.model_validate(r) for r in chart_queries(session, chart_id=chart_id)]


@router.get("/queries/{query_id}", response_model=QueryPublic)
def read_query(query_id: RowId, services: ServicesDep, actor: QueryReader) -> QueryPublic:
    with transaction(services.readers) as session:
        return QueryPublic.model_validate(get_query(session, query_id=query_id))


@router.post("/queries/{query_id}/answer", response_model=QueryPublic)
def post_answer(
    query_id: RowId, body: QueryAnswer, services: ServicesDep, actor: QueryCoder
) -> QueryPublic:
    """The physician's answer, recorded by the coder; it joins the chart as an addendum,
    and the next coding run reads it. 409 unless the query is open."""
    with transaction(services.sessions) as session:
        row = answer_query(session, query_id=query_id, answer=body.answer, actor=actor)
        return QueryPublic.model_validate(row)


@router.post("/queries/{query_id}/cancel", response_model=QueryPublic)
def post_cancel(
    query_id: RowId, body: QueryCancel, services: ServicesDep, actor: QueryCoder
) -> QueryPublic:
    with transaction(services.sessions) as session:
        row = cancel_query(session, query_id=query_id, reason=body.reason, actor=actor)
        return QueryPublic.model_validate(row)
