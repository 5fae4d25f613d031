"""/charts/{id}/cdi: documentation gaps and compliant physician query drafts."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from api.access import ChartReader
from api.deps import RowId, ServicesDep
from review.cdi import chart_gaps
from review.db import transaction

router = APIRouter(tags=["cdi"])


class IndicatorPublic(BaseModel):
    what: str
    quote: str
    start: int
    end: int


class GapPublic(BaseModel):
    kind: str
    proposal_id: int
    code: str
    topic: str
    indicators: list[IndicatorPublic]
    question: str
    options: list[str]
    query_text: str
    compliance_problems: list[str]


@router.get("/charts/{chart_id}/cdi", response_model=list[GapPublic])
def get_cdi(chart_id: RowId, services: ServicesDep, actor: ChartReader) -> list[GapPublic]:
    """Each proposal (not rejected) the documentation leaves unspecific while the chart holds
    clinical indicators, with a query draft: indicators quoted with their offsets, a neutral
    question, options with "Other" and "Clinically undetermined", no payment words."""
    with transaction(services.readers) as session:
        found = chart_gaps(session, chart_id=chart_id)
    return [
        GapPublic(
            kind=g.draft.kind,
            proposal_id=g.proposal_id,
            code=g.draft.code,
            topic=g.draft.topic,
            indicators=[
                IndicatorPublic(
                    what=i.what, quote=i.evidence.quote, start=i.evidence.start, end=i.evidence.end
                )
                for i in g.draft.indicators
            ],
            question=g.draft.question,
            options=list(g.draft.options),
            query_text=g.draft.text(),
            compliance_problems=g.problems,
        )
        for g in found
    ]
