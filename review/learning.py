"""Committed reviews as coded charts the ranker and the history can learn from.

A committed code set is what a certified coder decided for the chart: accepted, modified (the
coder's code, not the agent's) and added codes are the chart's gold; a rejected proposal or the
code a modification replaced is a code the coder said does not belong, and the ranker sees it
as a negative because it is a candidate outside the gold. Only charts whose latest state is
committed count: a reopened chart is being changed and its old code set may be the reason.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from agent.models import ChartMeta
from review.charts import chart_meta
from review.tables import ChartRow, CodeSetRow, ProposalRow


@dataclass(frozen=True)
class ReviewedChart:
    """One committed chart: its text and metadata, the codes committed, and what coders
    rejected or replaced on the way."""

    chart_id: int
    text: str
    meta: ChartMeta  # setting, age, sex and the dates of service, as the agent reads them
    codes: tuple[str, ...]
    principal: str | None
    rejected: tuple[str, ...]
    kb_release: str
    # The code set the codes were committed in (None: committed before years were recorded,
    # which was FY2026); the chart is learned in that year so its codes are valid there.
    fiscal_year: int | None = None

    @property
    def source_id(self) -> str:
        return f"review-{self.chart_id}"


@dataclass(frozen=True)
class ReviewLabels:
    charts: list[ReviewedChart]
    decisions: dict[str, int]  # accepted / modified / added / rejected counts over the charts


def reviewed_charts(session: Session, *, limit: int | None = None) -> ReviewLabels:
    """Every committed chart with its latest code set, oldest commit first."""
    latest = (
        select(CodeSetRow.chart_id, CodeSetRow.version)
        .join(ChartRow, ChartRow.id == CodeSetRow.chart_id)
        .where(ChartRow.status == "committed", CodeSetRow.version == ChartRow.committed_version)
        .order_by(CodeSetRow.committed_at, CodeSetRow.chart_id)
    )
    if limit is not None:
        latest = latest.limit(limit)
    wanted = list(session.execute(latest))
    decisions: Counter[str] = Counter()
    charts = []
    for chart_id, version in wanted:
        chart = session.get(ChartRow, chart_id)
        code_set = session.scalar(
            select(CodeSetRow).where(CodeSetRow.chart_id == chart_id, CodeSetRow.version == version)
        )
        if chart is None or code_set is None:  # the join found both; a concurrent delete cannot
            continue
        proposals = session.scalars(
            select(ProposalRow).where(ProposalRow.chart_id == chart_id, ProposalRow.active)
        ).all()
        rejected = sorted({p.code for p in proposals if p.status == "rejected"}
                          | {p.code for p in proposals if p.status == "modified"})  # fmt: skip
        decisions.update(p.status for p in proposals if p.status != "pending")
        codes = tuple(entry["code"] for entry in code_set.codes)
        principal = next((e["code"] for e in code_set.codes if e.get("principal")), None)
        charts.append(
            ReviewedChart(
                chart_id=chart.id,
                text=chart.text,
                meta=chart_meta(chart),
                codes=codes,
                principal=principal,
                rejected=tuple(code for code in rejected if code not in codes),
                kb_release=code_set.kb_release,
                fiscal_year=code_set.fiscal_year,
            )
        )
    return ReviewLabels(charts, dict(sorted(decisions.items())))
