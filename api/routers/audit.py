"""/charts/{id}/audit: the chart's append-only audit trail, oldest or newest first;
/charts/{id}/reads: who read the chart's content (leads and auditors)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from api.access import ChartReader, Overseer
from api.deps import RowId, ServicesDep
from api.schemas.access import ChartReadPublic
from api.schemas.code_sets import AuditEventPublic
from review.access import chart_reads
from review.audit import chart_events
from review.charts import get_chart
from review.db import transaction

router = APIRouter(tags=["audit"])


@router.get("/charts/{chart_id}/audit", response_model=list[AuditEventPublic])
def get_audit(
    chart_id: RowId,
    services: ServicesDep,
    actor: ChartReader,
    after_id: Annotated[
        int, Query(ge=0, le=2**63 - 1, description="Rows after this audit id.")
    ] = 0,
    before_id: Annotated[
        int | None, Query(ge=1, le=2**63 - 1, description="Rows before this audit id.")
    ] = None,
    order: Annotated[
        Literal["oldest", "newest"],
        Query(description="oldest first (the default) or newest first, to page back."),
    ] = "oldest",
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> list[AuditEventPublic]:
    with transaction(services.readers) as session:
        get_chart(session, chart_id=chart_id)
        rows = chart_events(
            session,
            chart_id=chart_id,
            after_id=after_id,
            before_id=before_id,
            newest_first=order == "newest",
            limit=limit,
        )
        return [AuditEventPublic.model_validate(r) for r in rows]


@router.get("/charts/{chart_id}/reads", response_model=list[ChartReadPublic])
def get_reads(
    chart_id: RowId,
    services: ServicesDep,
    actor: Overseer,
    after_id: Annotated[int, Query(ge=0, le=2**63 - 1, description="Rows after this read id.")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> list[ChartReadPublic]:
    """Who read the chart's content, when, through which endpoint, oldest first. Reading
    this log is not itself recorded: it shows no chart content."""
    with transaction(services.readers) as session:
        get_chart(session, chart_id=chart_id)
        rows = chart_reads(session, chart_id=chart_id, after_id=after_id, limit=limit)
        return [ChartReadPublic.model_validate(r) for r in rows]
