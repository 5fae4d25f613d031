"""The chat context of a stored chart: its text, its active proposals with the decisions on
them, the latest run's dropped codes, all in the code set of the year it was coded in. The
chat gets copies (ProposalView), never the rows, so it cannot change a proposal."""

from __future__ import annotations

from sqlalchemy.orm import Session

from agent.chart import build_chart
from agent.chat import ChatContext, DroppedView, ProposalView
from agent.chat.context import chat_context
from agent.models import Citation, Span
from agent.pipeline import CodingAgent
from review.charts import chart_meta, get_chart
from review.runs import active_proposals, latest_run
from review.tables import ProposalRow


def proposal_view(row: ProposalRow) -> ProposalView:
    return ProposalView(
        id=row.id,
        code=row.code,
        system="pcs" if row.system == "pcs" else "cm",
        title=row.title,
        status=row.status,
        final_code=row.final_code,
        principal=row.principal,
        confidence=row.confidence,
        rationale=row.rationale or "",
        evidence=[Span.model_validate(s) for s in row.evidence],
        citations=[Citation.model_validate(c) for c in row.citations],
        warnings=list(row.warnings),
        reason=row.reason,
    )


def stored_chart_context(session: Session, *, chart_id: int, agent: CodingAgent) -> ChatContext:
    """The context for chatting about chart `chart_id` with `agent`'s knowledge base."""
    row = get_chart(session, chart_id=chart_id)
    chart = build_chart(row.text, chart_meta(row), chart_id=str(chart_id))
    proposals = active_proposals(session, chart_id=chart_id)
    run = latest_run(session, chart_id=chart_id)
    # The year the proposals were checked in; a chart not coded yet: its date of service's.
    year = next((p.fiscal_year for p in proposals if p.fiscal_year is not None), None)
    if year is None and run is not None:
        year = run.fiscal_year
    dropped = [
        DroppedView(code=d["code"], reason=d["reason"]) for d in (run.dropped if run else [])
    ]
    return chat_context(
        agent,
        chart,
        year=year,
        proposals=[proposal_view(p) for p in proposals],
        dropped=dropped,
    )
