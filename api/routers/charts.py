"""/charts: post a chart (text or FHIR), list them by status, assignee or external id (with
counts per status), read one, assign one."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from agent.chart import load_chart
from agent.models import ChartError
from api.access import ChartReader, chart_public, charts_public
from api.deps import (
    INT4_MAX,
    Coder,
    IdempotencyKey,
    IfMatch,
    Lead,
    Reader,
    RowId,
    ServicesDep,
    etag,
    expected_version,
)
from api.once import run_once
from api.schemas.access import AssigneeUpdate
from api.schemas.charts import (
    ChartCounts,
    ChartCreate,
    ChartPage,
    ChartPublic,
    ChartWithText,
)
from review.access import assign_chart, restricted
from review.actors import Actor
from review.charts import (
    STATUSES,
    count_charts,
    create_chart,
    date_year,
    get_chart,
    list_charts,
)
from review.db import transaction
from review.errors import InvalidInput, TooLarge

router = APIRouter(prefix="/charts", tags=["charts"])


@router.post("", status_code=201, response_model=ChartWithText)
def post_chart(
    body: ChartCreate,
    request: Request,
    services: ServicesDep,
    actor: Coder,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    limit = services.settings.max_chart_bytes
    data = body.text if body.text is not None else json.dumps(body.fhir)
    size = len(data.encode("utf-8", "surrogatepass"))
    if size > limit:
        raise TooLarge(
            f"the chart is {size:,} bytes; this server takes at most {limit:,}",
            field="body.text" if body.text is not None else "body.fhir",
        )
    try:
        chart = load_chart(data, meta=body.meta, max_bytes=limit, source_name="chart")
    except ChartError as error:
        field = "body.text" if body.text is not None else "body.fhir"
        raise InvalidInput(str(error), field=field) from None
    # A date of service in a fiscal year the knowledge base does not hold is refused now,
    # naming the years it holds, rather than at the first coding run.
    date_year(chart.meta, services.codebook().years, field_prefix="body.meta")

    def work(session: Session) -> tuple[int, Any, dict[str, str]]:
        row = create_chart(
            session,
            chart=chart,
            source_format="text" if body.text is not None else "fhir",
            external_id=body.external_id,
            actor=actor,
        )
        public = ChartWithText.model_validate(row).model_dump(mode="json")
        return 201, public, {"ETag": etag(row.version), "Location": f"/charts/{row.id}"}

    return run_once(
        services=services, request=request, actor=actor, key=idempotency_key, body=body, work=work
    )


@router.get("", response_model=ChartPage)
def get_charts(
    services: ServicesDep,
    actor: Reader,
    status: Annotated[str | None, Query(description=f"One of {', '.join(STATUSES)}.")] = None,
    offset: Annotated[int, Query(ge=0, le=INT4_MAX)] = 0,
    limit: Annotated[int, Query(ge=1)] = 50,
    assigned_to: Annotated[
        str | None,
        Query(
            pattern=r"^(me|none|[1-9][0-9]{0,9})$",
            description="me, none (unassigned) or a user id.",
        ),
    ] = None,
    external_id: Annotated[
        str | None,
        Query(
            max_length=200,
            description="Charts whose external id contains this text, in any case "
            "(a substring match; % and _ match only themselves). Blank: no filter.",
        ),
    ] = None,
) -> ChartPage:
    """The worklist (no chart text, so no read is recorded), newest first, with `counts`:
    the charts per status under the same filters but `status` (a worklist's tabs). A coder
    on a server that restricts coders to their charts sees only those assigned to them or
    to no one, and the counts count only those."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}", field="query.status")
    search = (external_id or "").strip() or None
    if search is not None and "\x00" in search:  # PostgreSQL refuses NUL in text: a 422, not a 500
        raise InvalidInput("external_id must not contain NUL characters", field="query.external_id")
    limit = min(limit, services.settings.page_size_max)
    only = _assignee_filter(assigned_to, actor)
    visible_to = (
        actor.user_id
        if restricted(actor, restrict_to_assigned=services.settings.restrict_to_assigned)
        else None
    )
    with transaction(services.readers) as session:
        counts = count_charts(session, assigned_to=only, visible_to=visible_to, external_id=search)
        rows, total = list_charts(
            session,
            status=status,
            offset=offset,
            limit=limit,
            assigned_to=only,
            visible_to=visible_to,
            external_id=search,
            counts=counts,
        )
        items = charts_public(session, rows, ChartPublic)
    return ChartPage(
        items=items,
        total=total,
        offset=offset,
        limit=limit,
        counts=ChartCounts(**counts, all=sum(counts.values())),
    )


def _assignee_filter(value: str | None, actor: Actor) -> int | Literal["none"] | None:
    if value is None:
        return None
    if value == "none":
        return "none"
    if value == "me":
        return actor.user_id
    if int(value) > INT4_MAX:
        raise InvalidInput(f"no user has the id {value}", field="query.assigned_to")
    return int(value)


@router.get("/{chart_id}", response_model=ChartWithText)
def get_one_chart(
    chart_id: RowId, services: ServicesDep, actor: ChartReader, response: Response
) -> ChartWithText:
    with transaction(services.readers) as session:
        chart = chart_public(session, get_chart(session, chart_id=chart_id), ChartWithText)
    response.headers["ETag"] = etag(chart.version)
    return chart


@router.put("/{chart_id}/assignee", response_model=ChartPublic)
def put_assignee(
    chart_id: RowId,
    body: AssigneeUpdate,
    services: ServicesDep,
    actor: Lead,
    version_header: IfMatch,
    response: Response,
) -> ChartPublic:
    """Assign the chart to an active coder or lead, or to no one (`null`); 422 for anyone
    else. The chart's version (If-Match or body.version) is checked when sent; a change
    makes a new version, since the assignee is part of the chart as served."""
    expected = expected_version(version_header, body.version, required=False)
    with transaction(services.sessions) as session:
        row = assign_chart(
            session,
            chart_id=chart_id,
            user_id=body.user_id,
            expected_version=expected,
            actor=actor,
        )
        chart = chart_public(session, row, ChartPublic)
    response.headers["ETag"] = etag(chart.version)
    return chart
