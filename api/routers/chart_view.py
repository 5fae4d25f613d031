"""What the chart review screen needs beyond the review API: the chart's latest coding run
(what the agent dropped and why, its warnings), which no other endpoint serves by chart."""

from __future__ import annotations

from fastapi import APIRouter

from api.access import ChartReader
from api.deps import RowId, ServicesDep
from api.schemas.proposals import CodingRunPublic
from review.charts import get_chart
from review.db import transaction
from review.runs import latest_run

router = APIRouter(tags=["coding runs"])


@router.get(
    "/charts/{chart_id}/coding-runs/latest",
    response_model=CodingRunPublic | None,
    response_model_exclude={"proposals"},
)
def get_latest_run(
    chart_id: RowId, services: ServicesDep, actor: ChartReader
) -> CodingRunPublic | None:
    """The chart's newest coding run without its proposals (GET /charts/{id}/proposals has
    those): its `dropped` candidates with the reason each was dropped, and its `warnings`.
    null for a chart never coded (a 404 would read as a missing chart)."""
    with transaction(services.readers) as session:
        get_chart(session, chart_id=chart_id)
        run = latest_run(session, chart_id=chart_id)
        return None if run is None else CodingRunPublic.model_validate(run)
