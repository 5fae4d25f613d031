"""Coding runs: the agent's proposals for a chart, stored for review."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from agent.models import CodingResult, Proposal
from review.actors import Actor
from review.audit import now, record_event
from review.charts import lock_chart
from review.errors import Conflict
from review.tables import CodingRunRow, ProposalRow


def record_coding_run(
    session: Session, *, chart_id: int, result: CodingResult, actor: Actor
) -> tuple[CodingRunRow, list[ProposalRow]]:
    """Store a run and its proposals; they replace the chart's earlier proposals, which is
    refused once any of those has a decision (a rerun must not erase a coder's work)."""
    chart = lock_chart(session, chart_id=chart_id)
    decided = session.scalar(
        select(ProposalRow.id).where(
            ProposalRow.chart_id == chart_id,
            ProposalRow.active.is_(True),
            ProposalRow.status != "pending",
        )
    )
    if decided is not None:
        raise Conflict(
            f"chart {chart_id} already has decisions; coding it again would replace them",
            current={"id": chart_id, "status": chart.status, "version": chart.version},
        )
    session.execute(
        update(ProposalRow)
        .where(ProposalRow.chart_id == chart_id, ProposalRow.active.is_(True))
        .values(active=False)
    )
    first = result.proposals[0] if result.proposals else None
    run = CodingRunRow(
        chart_id=chart_id,
        proposer=result.proposer,
        model=first.model if first else None,
        prompt_version=first.prompt_version if first else None,
        kb_release=result.kb_release,
        fiscal_year=result.fiscal_year,
        warnings=list(result.warnings),
        usage=result.usage.model_dump(),
        timings_ms=result.timings_ms,
        dropped=[d.model_dump() for d in result.dropped],
        created_by=actor.name,
        created_at=now(),
    )
    session.add(run)
    session.flush()
    rows = [_proposal_row(chart_id, run.id, p, i) for i, p in enumerate(result.proposals)]
    session.add_all(rows)
    chart.status = "coded"
    session.flush()
    record_event(
        session,
        actor=actor,
        action="coding_run.create",
        chart_id=chart_id,
        after={
            "run_id": run.id,
            "proposer": run.proposer,
            "codes": [r.code for r in rows],
            "dropped": [d.code for d in result.dropped],
        },
        versions={
            "model": run.model,
            "prompt_version": run.prompt_version,
            "kb_release": run.kb_release,
            "fiscal_year": run.fiscal_year,
        },
    )
    return run, rows


def _proposal_row(chart_id: int, run_id: int, proposal: Proposal, index: int) -> ProposalRow:
    return ProposalRow(
        chart_id=chart_id,
        run_id=run_id,
        origin="agent",
        active=True,
        code=proposal.code,
        system=proposal.system,
        title=proposal.title,
        sequence=proposal.sequence,
        # The agent lists the principal / first-listed diagnosis first.
        principal=index == 0 and proposal.system == "cm",
        confidence=proposal.confidence,
        evidence=[s.model_dump() for s in proposal.evidence],
        citations=[c.model_dump() for c in proposal.citations],
        rationale=proposal.rationale,
        warnings=list(proposal.warnings),
        fiscal_year=proposal.fiscal_year,
        status="pending",
        version=1,
    )


def latest_run(session: Session, *, chart_id: int) -> CodingRunRow | None:
    query = select(CodingRunRow).where(CodingRunRow.chart_id == chart_id)
    return session.scalar(query.order_by(CodingRunRow.id.desc()).limit(1))


def active_proposals(session: Session, *, chart_id: int) -> list[ProposalRow]:
    query = select(ProposalRow).where(
        ProposalRow.chart_id == chart_id, ProposalRow.active.is_(True)
    )
    return list(session.scalars(query.order_by(ProposalRow.sequence, ProposalRow.id)))
