"""Commit a chart's decided codes as an immutable, versioned code set; reopen for changes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from agent.rules import Problem
from review.actors import Actor
from review.audit import record_event
from review.charts import chart_year, lock_chart
from review.codebook import CodeBook, FinalCode
from review.errors import CommitBlocked, NotAllowed, NotFound
from review.queries import open_queries
from review.runs import active_proposals
from review.states import chart_state
from review.tables import ChartRow, CodeSetRow, ProposalRow

_ACTIONS = {"accepted": "accept", "modified": "modify", "added": "add"}


def final_codes(proposals: list[ProposalRow]) -> list[FinalCode]:
    """The codes a commit would keep, principal first, then diagnoses, then procedures."""
    kept = [
        FinalCode(
            proposal_id=p.id,
            code=p.final_code or p.code,
            system=p.system,  # type: ignore[arg-type]  # "cm" | "pcs" by construction
            title=p.final_title or p.title,
            principal=p.principal,
            origin=p.origin,
            action=_ACTIONS[p.status],
        )
        for p in proposals
        if p.status in _ACTIONS
    ]
    return sorted(kept, key=lambda c: (not c.principal, c.system != "cm"))


@dataclass
class Committed:
    """A new code set version, the warnings it was committed with and the blockers a lead
    overrode (with the reason given)."""

    code_set: CodeSetRow
    warnings: list[Problem] = field(default_factory=list)
    overridden: list[Problem] = field(default_factory=list)
    override_reason: str | None = None


def commit_chart(
    session: Session,
    *,
    chart_id: int,
    expected_version: int | None,
    codebook: CodeBook,
    actor: Actor,
    override_reason: str | None = None,
) -> Committed:
    """Refused (CommitBlocked, listing every problem) while a proposal is undecided or a
    blocker remains; a lead's `override_reason` commits over the overridable blockers
    (Excludes1, a code-first partner missing, the principal diagnosis), never over an
    undecided proposal or an invalid code. Otherwise writes code set version n+1; its
    warnings and any override go into the audit row."""
    reason = (override_reason or "").strip() or None
    if reason is not None and actor.role != "lead":
        raise NotAllowed(f"role {actor.role!r} may not override commit blockers; it needs lead")
    chart = lock_chart(session, chart_id=chart_id, expected_version=expected_version)
    # Checked in the chart's code set: the fiscal year of its date of service.
    codebook = codebook.for_year(chart_year(session, chart, codebook.years, codebook.base_year))
    proposals = active_proposals(session, chart_id=chart_id)
    undecided = [
        Problem(
            "blocker",
            "review.undecided",
            f"proposal {p.id} ({p.code}) has no decision",
            (p.code,),
            overridable=False,
        )
        for p in proposals
        if p.status == "pending"
    ]
    codes = final_codes(proposals)
    problems = undecided + codebook.commit_problems(codes, chart.setting)  # type: ignore[arg-type]
    # An open physician query may still change the codes: the set commits, with a warning.
    problems += [
        Problem(
            "warning",
            "cdi.open_query",
            f"physician query {q.id} ({q.topic}) is still open",
            (q.code,) if q.code else (),
        )
        for q in open_queries(session, chart_id=chart_id)
    ]
    blockers = [p for p in problems if p.severity == "blocker"]
    warnings = [p for p in problems if p.severity == "warning"]
    final = [p for p in blockers if not p.overridable]
    if final or (blockers and reason is None):
        raise CommitBlocked(
            f"chart {chart_id} cannot be committed: {len(blockers)} problem(s)"
            + ("" if final or not blockers else "; a lead may override them with a reason"),
            problems=[p.message for p in blockers],
            blockers=[p.as_dict() for p in blockers],
            warnings=[p.as_dict() for p in warnings],
            overridable=not final,
            current=chart_state(chart),
        )
    code_set = CodeSetRow(
        chart_id=chart_id,
        version=chart.committed_version + 1,
        codes=[_code_entry(number, c) for number, c in enumerate(codes, start=1)],
        kb_release=codebook.kb_release,
        fiscal_year=codebook.year,
        committed_by=actor.name,
        committed_at=chart.updated_at,
    )
    session.add(code_set)
    chart.status = "committed"
    chart.committed_version = code_set.version
    session.flush()
    record_event(
        session,
        actor=actor,
        action="chart.commit",
        chart_id=chart_id,
        after={
            "code_set_version": code_set.version,
            "codes": [c.code for c in codes],
            "warnings": [p.as_dict() for p in warnings],
            "overridden": [p.as_dict() for p in blockers],
        },
        reason=reason,
        versions={"kb_release": codebook.kb_release, "fiscal_year": codebook.year},
    )
    return Committed(code_set, warnings, blockers, reason)


def _code_entry(number: int, code: FinalCode) -> dict[str, Any]:
    return {
        "sequence": number,
        "code": code.code,
        "system": code.system,
        "title": code.title,
        "principal": code.principal,
        "origin": code.origin,
        "action": code.action,
        "proposal_id": code.proposal_id,
    }


def reopen_chart(
    session: Session, *, chart_id: int, expected_version: int | None, reason: str, actor: Actor
) -> ChartRow:
    """Back to review; committed code sets stay readable, the next commit is a new version."""
    chart = lock_chart(
        session, chart_id=chart_id, expected_version=expected_version, allow_committed=True
    )
    if chart.status != "committed":  # checked under the lock: two reopens cannot both pass
        raise CommitBlocked(
            f"chart {chart_id} is {chart.status}, not committed; only committed charts reopen",
            current=chart_state(chart),
        )
    before = chart_state(chart)
    chart.status = "in_review"
    session.flush()
    record_event(
        session,
        actor=actor,
        action="chart.reopen",
        chart_id=chart_id,
        before=before,
        after=chart_state(chart),
        reason=reason,
    )
    return chart


def code_sets(session: Session, *, chart_id: int) -> list[CodeSetRow]:
    query = select(CodeSetRow).where(CodeSetRow.chart_id == chart_id)
    return list(session.scalars(query.order_by(CodeSetRow.version)))


def code_set(session: Session, *, chart_id: int, version: int) -> CodeSetRow:
    found = session.scalar(
        select(CodeSetRow).where(CodeSetRow.chart_id == chart_id, CodeSetRow.version == version)
    )
    if found is None:
        raise NotFound(f"chart {chart_id} has no committed code set version {version}")
    return found
