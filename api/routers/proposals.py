"""Proposals of a chart, decisions on them, and codes a coder adds."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from api.access import ChartCoder, ChartReader, ProposalCoder
from api.deps import (
    IdempotencyKey,
    IfMatch,
    RowId,
    ServicesDep,
    etag,
    expected_version,
)
from api.metrics import DECISIONS
from api.once import run_once
from api.schemas.proposals import CodeCreate, DecisionCreate, ProposalPublic
from review.charts import get_chart
from review.db import transaction
from review.decisions import Decision, add_code, decide
from review.runs import active_proposals

router = APIRouter(tags=["proposals"])


@router.get("/charts/{chart_id}/proposals", response_model=list[ProposalPublic])
def get_proposals(
    chart_id: RowId, services: ServicesDep, actor: ChartReader
) -> list[ProposalPublic]:
    with transaction(services.readers) as session:
        get_chart(session, chart_id=chart_id)
        return [
            ProposalPublic.model_validate(p) for p in active_proposals(session, chart_id=chart_id)
        ]


@router.post("/proposals/{proposal_id}/decision", response_model=ProposalPublic)
def post_decision(
    proposal_id: RowId,
    body: DecisionCreate,
    request: Request,
    services: ServicesDep,
    actor: ProposalCoder,
    version_header: IfMatch,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    expected = expected_version(version_header, body.version, required=True)
    codebook = services.codebook()
    decision = Decision(
        action=body.action,
        code=body.code,
        reason=body.reason,
        note=body.note,
        principal=body.principal,
    )

    def work(session: Session) -> tuple[int, Any, dict[str, str]]:
        row = decide(
            session,
            proposal_id=proposal_id,
            decision=decision,
            expected_version=expected,
            codebook=codebook,
            actor=actor,
        )
        return (
            200,
            ProposalPublic.model_validate(row).model_dump(mode="json"),
            {"ETag": etag(row.version)},
        )

    response = run_once(
        services=services, request=request, actor=actor, key=idempotency_key, body=body, work=work
    )
    DECISIONS.labels(body.action).inc()
    return response


@router.post("/charts/{chart_id}/codes", status_code=201, response_model=ProposalPublic)
def post_code(
    chart_id: RowId,
    body: CodeCreate,
    request: Request,
    services: ServicesDep,
    actor: ChartCoder,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    codebook = services.codebook()

    def work(session: Session) -> tuple[int, Any, dict[str, str]]:
        row = add_code(
            session,
            chart_id=chart_id,
            code=body.code,
            evidence=[(span.start, span.end) for span in body.evidence],
            reason=body.reason,
            note=body.note,
            principal=body.principal,
            codebook=codebook,
            actor=actor,
        )
        return (
            201,
            ProposalPublic.model_validate(row).model_dump(mode="json"),
            {"ETag": etag(row.version)},
        )

    return run_once(
        services=services, request=request, actor=actor, key=idempotency_key, body=body, work=work
    )
