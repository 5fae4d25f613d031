"""/charts/{id}/audit: the chart's append-only audit trail, oldest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import Reader, RowId, ServicesDep
from api.schemas.code_sets import AuditEventPublic
from review.audit import chart_events
from review.charts import get_chart
from review.db import transaction

router = APIRouter(tags=["audit"])


@router.get("/charts/{chart_id}/audit", response_model=list[AuditEventPublic])
def get_audit(
    chart_id: RowId,
    services: ServicesDep,
    actor: Reader,
    after_id: Annotated[
        int, Query(ge=0, le=2**63 - 1, description="Rows after this audit id.")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> list[AuditEventPublic]:
    with transaction(services.readers) as session:
        get_chart(session, chart_id=chart_id)
        rows = chart_events(session, chart_id=chart_id, after_id=after_id, limit=limit)
        return [AuditEventPublic.model_validate(r) for r in rows]
