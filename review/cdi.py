"""Documentation gaps of a chart under review: from its active proposals that the coder has
not rejected, each with a compliant query draft."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from agent.cdi import QueryDraft, compliance_problems, draft_query, find_gaps
from review.charts import get_chart
from review.runs import active_proposals


@dataclass
class ChartGap:
    proposal_id: int
    draft: QueryDraft
    problems: list[str]  # compliance problems of the draft (none for a generated one)


def chart_gaps(session: Session, *, chart_id: int) -> list[ChartGap]:
    chart = get_chart(session, chart_id=chart_id)
    live = [p for p in active_proposals(session, chart_id=chart_id) if p.status != "rejected"]
    by_code = {(p.final_code or p.code): p for p in live}
    titles = {code: p.final_title or p.title for code, p in by_code.items()}
    found = []
    for gap in find_gaps(chart.text, by_code, titles):
        draft = draft_query(gap)
        found.append(
            ChartGap(
                proposal_id=by_code[gap.code].id,
                draft=draft,
                problems=compliance_problems(draft, chart.text),
            )
        )
    return found
