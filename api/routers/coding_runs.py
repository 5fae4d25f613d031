"""/charts/{id}/coding-runs: run the agent on a chart (synchronously) and store its proposals."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from agent.chart import build_chart
from api.access import ChartRunner
from api.deps import IdempotencyKey, RowId, ServicesDep, etag
from api.once import run_once
from api.quotas import stop_check
from api.schemas.proposals import CodingRunCreate, CodingRunPublic, ProposalPublic
from review.charts import chart_meta, get_chart
from review.db import transaction
from review.errors import Conflict
from review.runs import record_coding_run

router = APIRouter(tags=["coding runs"])


@router.post("/charts/{chart_id}/coding-runs", status_code=201, response_model=CodingRunPublic)
def post_coding_run(
    chart_id: RowId,
    request: Request,
    services: ServicesDep,
    actor: ChartRunner,
    idempotency_key: IdempotencyKey = None,
    body: CodingRunCreate | None = None,
) -> JSONResponse:
    body = body or CodingRunCreate()
    with transaction(services.readers) as session:
        row = get_chart(session, chart_id=chart_id)
        if row.status == "committed":
            raise Conflict(f"chart {chart_id} is committed; a lead must reopen it first")
        chart = build_chart(row.text, chart_meta(row), chart_id=str(chart_id))
    agent = services.agent(body.proposer)
    stop = stop_check(request, deadline_s=services.settings.coding_deadline_s)
    # Coding is CPU-heavy (or waits on an LLM): a few at a time, outside any transaction.
    with services.runs_per_user.slot(actor.name), services.coding_slots:
        result = agent.code(chart, stop=stop)

    def work(session: Session) -> tuple[int, Any, dict[str, str]]:
        run, proposals = record_coding_run(session, chart_id=chart_id, result=result, actor=actor)
        public = CodingRunPublic.model_validate(run)
        public.proposals = [ProposalPublic.model_validate(p) for p in proposals]
        chart_version = get_chart(session, chart_id=chart_id).version
        return 201, public.model_dump(mode="json"), {"ETag": etag(chart_version)}

    return run_once(
        services=services, request=request, actor=actor, key=idempotency_key, body=body, work=work
    )
