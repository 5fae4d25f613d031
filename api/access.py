"""Chart access at the HTTP edge: dependencies that let a request reach a chart only when its
user may see that chart (see review.access), and record every read of chart content.

A read is recorded once the endpoint has built its answer (a dependency of scope
"function": its exit runs before the response is sent), in a short write transaction of its
own: a request refused or failed records nothing, and an answer whose read could not be
recorded is not sent (500). Writes are not recorded here: the audit trail records each one,
with its actor and request id, in the write's own transaction."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, TypeVar

import anyio.to_thread
from fastapi import Depends, Request
from pydantic import BaseModel
from sqlalchemy.orm import Session

from api.deps import Coder, Reader, RowId, ServicesDep, require
from api.services import Services
from review.access import (
    conversation_chart,
    proposal_chart,
    query_chart,
    record_read,
    restricted,
    user_names,
    visible_chart,
)
from review.actors import Actor
from review.db import transaction
from review.tables import ChartRow

Model = TypeVar("Model", bound=BaseModel)


def _restrict(services: Services) -> bool:
    return services.settings.restrict_to_assigned


def endpoint_name(request: Request) -> str:
    """The method and route template ("GET /charts/{chart_id}"), not the path: the chart id
    has its own column, and templates group the log by what was read."""
    route = request.scope.get("route")
    return f"{request.method} {getattr(route, 'path', request.url.path)}"


def _check_chart(services: Services, actor: Actor, chart_id: int) -> None:
    with transaction(services.readers) as session:
        visible_chart(
            session, chart_id=chart_id, actor=actor, restrict_to_assigned=_restrict(services)
        )


def _record(services: Services, request: Request, actor: Actor, chart_id: int) -> None:
    with transaction(services.sessions) as session:
        record_read(session, actor=actor, chart_id=chart_id, endpoint=endpoint_name(request))


def read_chart(
    chart_id: RowId, request: Request, services: ServicesDep, actor: Reader
) -> Iterator[Actor]:
    # Checked even when nothing is restricted: a chart that does not exist is 404 here, so
    # no read of it is ever recorded.
    _check_chart(services, actor, chart_id)
    yield actor
    _record(services, request, actor, chart_id)


def run_chart(
    chart_id: RowId, request: Request, services: ServicesDep, actor: Coder
) -> Iterator[Actor]:
    """A coding run: a write whose answer shows chart content the caller did not send (the
    proposals with their evidence quotes), so it is recorded as a read as well."""
    _check_chart(services, actor, chart_id)
    yield actor
    _record(services, request, actor, chart_id)


# The write_* dependencies are `async def` so that the common case (nothing restricted) costs
# no thread-pool hop; a check that reads the database runs in a thread.


async def write_chart(chart_id: RowId, services: ServicesDep, actor: Coder) -> Actor:
    # Unrestricted users need no check here: the write itself says 404 for a missing chart.
    if restricted(actor, restrict_to_assigned=_restrict(services)):
        await anyio.to_thread.run_sync(_check_chart, services, actor, chart_id)
    return actor


def read_query(
    query_id: RowId, request: Request, services: ServicesDep, actor: Reader
) -> Iterator[Actor]:
    with transaction(services.readers) as session:
        chart_id = query_chart(
            session, query_id=query_id, actor=actor, restrict_to_assigned=_restrict(services)
        )
    yield actor
    _record(services, request, actor, chart_id)


def _check_query(services: Services, actor: Actor, query_id: int) -> None:
    with transaction(services.readers) as session:
        query_chart(session, query_id=query_id, actor=actor, restrict_to_assigned=True)


async def write_query(query_id: RowId, services: ServicesDep, actor: Coder) -> Actor:
    if restricted(actor, restrict_to_assigned=_restrict(services)):
        await anyio.to_thread.run_sync(_check_query, services, actor, query_id)
    return actor


def _check_proposal(services: Services, actor: Actor, proposal_id: int) -> None:
    with transaction(services.readers) as session:
        proposal_chart(session, proposal_id=proposal_id, actor=actor, restrict_to_assigned=True)


async def write_proposal(proposal_id: RowId, services: ServicesDep, actor: Coder) -> Actor:
    if restricted(actor, restrict_to_assigned=_restrict(services)):
        await anyio.to_thread.run_sync(_check_proposal, services, actor, proposal_id)
    return actor


def _conversation_chart(services: Services, actor: Actor, conversation_id: int) -> int:
    with transaction(services.readers) as session:
        return conversation_chart(
            session,
            conversation_id=conversation_id,
            actor=actor,
            restrict_to_assigned=_restrict(services),
        )


def read_conversation(
    conversation_id: RowId, request: Request, services: ServicesDep, actor: Reader
) -> Iterator[Actor]:
    chart_id = _conversation_chart(services, actor, conversation_id)
    yield actor
    _record(services, request, actor, chart_id)


def ask_conversation(
    conversation_id: RowId, request: Request, services: ServicesDep, actor: Coder
) -> Iterator[Actor]:
    """A question: a write whose answer quotes the chart, so it is recorded as a read too
    (for a streamed answer, as the stream starts)."""
    chart_id = _conversation_chart(services, actor, conversation_id)
    yield actor
    _record(services, request, actor, chart_id)


# Reader/Coder with the chart checked; the readers also record the read.
ChartReader = Annotated[Actor, Depends(read_chart, scope="function")]
ChartRunner = Annotated[Actor, Depends(run_chart, scope="function")]
ChartCoder = Annotated[Actor, Depends(write_chart)]
QueryReader = Annotated[Actor, Depends(read_query, scope="function")]
QueryCoder = Annotated[Actor, Depends(write_query)]
ProposalCoder = Annotated[Actor, Depends(write_proposal)]
ConversationReader = Annotated[Actor, Depends(read_conversation, scope="function")]
ConversationAsker = Annotated[Actor, Depends(ask_conversation, scope="function")]
# Who may read the read log: it names every user's reads, so not coders.
Overseer = Annotated[Actor, Depends(require("lead", "auditor"))]


def chart_public(session: Session, row: ChartRow, model: type[Model]) -> Model:
    """A chart as served, its assignee named."""
    return model.model_validate(row, context={"user_names": user_names(session, [row.assigned_to])})


def charts_public(session: Session, rows: list[ChartRow], model: type[Model]) -> list[Model]:
    context = {"user_names": user_names(session, [r.assigned_to for r in rows])}
    return [model.model_validate(r, context=context) for r in rows]
