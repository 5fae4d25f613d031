"""A coder's decision on a proposal (accept, reject, modify) and codes a coder adds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, cast

from sqlalchemy import CursorResult, Table, bindparam, func, select, update
from sqlalchemy.orm import Session

from review.actors import Actor
from review.audit import now, record_event
from review.charts import chart_year, lock_chart, lock_proposal_chart
from review.codebook import CodeBook
from review.errors import Conflict, InvalidInput, NotFound
from review.states import decision_state, proposal_state
from review.tables import CodingRunRow, ProposalRow

Action = Literal["accept", "reject", "modify"]

# Why a coder rejects or changes a proposal; "other" needs a note.
REJECT_REASONS = (
    "not_documented",
    "negated_or_ruled_out",
    "history_only",
    "uncertain_outpatient",
    "integral_to_other_condition",
    "not_clinically_significant",
    "duplicate",
    "excludes1_conflict",
    "other",
)
MODIFY_REASONS = (
    "more_specific_code",
    "less_specific_code",
    "wrong_laterality",
    "wrong_encounter",
    "combination_code",
    "wrong_code",
    "other",
)
ADD_REASONS = ("missed_by_agent", "query_response", "other")


_DECISION_COLUMNS = (
    "status",
    "final_code",
    "final_title",
    "reason",
    "note",
    "principal",
    "decided_by",
    "decided_at",
    "version",
)
# Built once: constructing SQLAlchemy statements per request cost more than running them.
_CHART_OF_PROPOSAL = select(ProposalRow.chart_id).where(
    ProposalRow.id == bindparam("pid"), ProposalRow.active.is_(True)
)
_PROPOSALS = cast(Table, ProposalRow.__table__)
_RUNS = cast(Table, CodingRunRow.__table__)
# The proposal with the versions of the run behind it (none for a code a coder added), in
# one query: what a decision changes, and what its audit row records.
_RUN_VERSION_COLUMNS = ("model", "prompt_version", "kb_release")
_PROPOSAL_WITH_RUN = (
    select(
        _PROPOSALS,
        _RUNS.c.id.label("run_found"),
        *(_RUNS.c[name].label(f"run_{name}") for name in _RUN_VERSION_COLUMNS),
    )
    .select_from(_PROPOSALS.outerjoin(_RUNS, _RUNS.c.id == _PROPOSALS.c.run_id))
    .where(_PROPOSALS.c.id == bindparam("pid"))
)
_SET_DECISION = (
    update(_PROPOSALS)
    .where(_PROPOSALS.c.id == bindparam("pid"), _PROPOSALS.c.version == bindparam("expected"))
    .values({name: bindparam(f"new_{name}") for name in _DECISION_COLUMNS})
)


@dataclass(frozen=True)
class Decision:
    action: Action
    code: str | None = None
    reason: str | None = None
    note: str | None = None
    principal: bool | None = None


def decide(
    session: Session,
    *,
    proposal_id: int,
    decision: Decision,
    expected_version: int,
    codebook: CodeBook,
    actor: Actor,
) -> ProposalRow:
    """Record (or change) the decision on one proposal. Only one of two concurrent
    decisions on the same version wins; the other gets a Conflict with the current state.
    The proposal comes back as a detached row (not in the session) with the decision."""
    if not lock_proposal_chart(session, proposal_id=proposal_id):
        _lock_or_explain(session, proposal_id)
    # Core statements on the session's connection: the hot path of the review API, where the
    # ORM's loading and bookkeeping cost more CPU than the queries.
    connection = session.connection()
    # Read under the chart's lock, so what the decision is based on is current.
    found = connection.execute(_PROPOSAL_WITH_RUN, {"pid": proposal_id}).one()._mapping
    if found["version"] != expected_version:
        raise _stale(session, proposal_id, expected_version)
    row = ProposalRow(**{column.key: found[column.key] for column in _PROPOSALS.columns})
    before = decision_state(row)
    # The chart's code set: the year the proposal was coded (or added) in.
    codebook = codebook.for_year(row.fiscal_year)
    values = _decision_values(row, decision, codebook)
    values.update(decided_by=actor.name, decided_at=now(), version=expected_version + 1)
    if decision.principal:
        _clear_principal(session, row.chart_id, keep=row.id)
    # The version condition makes one of two concurrent decisions lose even if the locks
    # above were ever bypassed.
    params = {f"new_{name}": values[name] for name in _DECISION_COLUMNS}
    result = connection.execute(
        _SET_DECISION, {**params, "pid": proposal_id, "expected": expected_version}
    )
    if cast(CursorResult[Any], result).rowcount != 1:
        raise _stale(session, proposal_id, expected_version)
    for name in _DECISION_COLUMNS:
        setattr(row, name, values[name])
    if found["run_found"] is not None:
        versions = {name: found[f"run_{name}"] for name in _RUN_VERSION_COLUMNS}
    else:  # added by a coder: only the code set it was checked against
        versions = {"kb_release": codebook.kb_release}
    record_event(
        session,
        actor=actor,
        action=f"proposal.{decision.action}",
        chart_id=row.chart_id,
        proposal_id=row.id,
        before=before,
        after=decision_state(row),
        reason=_reason_text(decision),
        versions={**versions, "fiscal_year": codebook.year},
    )
    return row


def _lock_or_explain(session: Session, proposal_id: int) -> None:
    """When `lock_proposal_chart` locked nothing: NotFound for a missing or replaced
    proposal, else the chart's own lock, which says why it cannot be locked (or takes it, if
    the chart was reopened meanwhile)."""
    chart_id = session.scalar(_CHART_OF_PROPOSAL, {"pid": proposal_id})
    if chart_id is None:
        raise NotFound(f"proposal {proposal_id} does not exist or was replaced by a new run")
    lock_chart(session, chart_id=chart_id, start_review=True)


def _stale(session: Session, proposal_id: int, expected: int) -> Conflict:
    row = session.get(ProposalRow, proposal_id, populate_existing=True)
    assert row is not None
    return Conflict(
        f"proposal {proposal_id} is at version {row.version}, not {expected}: "
        f"{row.decided_by or 'someone'} changed it; reload and decide again",
        current=proposal_state(row),
    )


def _decision_values(row: ProposalRow, decision: Decision, codebook: CodeBook) -> dict[str, object]:
    action = decision.action
    if action == "accept":
        if decision.code is not None and decision.code.strip().upper() != row.code.upper():
            raise InvalidInput("accept takes no other code; use modify to change it", field="code")
        values: dict[str, object] = {
            "status": "accepted",
            "final_code": None,
            "final_title": None,
            "reason": decision.reason,
            "note": decision.note,
        }
    elif action == "reject":
        _check_reason(decision, REJECT_REASONS)
        values = {"status": "rejected", "final_code": None, "final_title": None}
        values.update(reason=decision.reason, note=decision.note)
    else:
        values = _modification(row, decision, codebook)
    principal = _principal_flag(row, decision, values)
    values["principal"] = principal
    return values


def _modification(row: ProposalRow, decision: Decision, codebook: CodeBook) -> dict[str, object]:
    if not decision.code:
        raise InvalidInput("modify needs the replacement code", field="code")
    _check_reason(decision, MODIFY_REASONS)
    code, system, title = codebook.billable(decision.code, field="code")
    if code == row.code:
        raise InvalidInput(f"{code} is the proposed code itself; use accept", field="code")
    if system != row.system:
        raise InvalidInput(
            f"{code} is an ICD-10-{system.upper()} code; this proposal is "
            f"ICD-10-{row.system.upper()}, so add the code instead",
            field="code",
        )
    return {
        "status": "modified",
        "final_code": code,
        "final_title": title,
        "reason": decision.reason,
        "note": decision.note,
    }


def _principal_flag(row: ProposalRow, decision: Decision, values: dict[str, object]) -> bool:
    if decision.principal is None:
        return row.principal and values["status"] != "rejected"
    if decision.principal and (values["status"] == "rejected" or row.system != "cm"):
        raise InvalidInput(
            "only an accepted or modified diagnosis can be principal", field="principal"
        )
    return decision.principal


def _check_reason(decision: Decision, allowed: tuple[str, ...]) -> None:
    if decision.reason not in allowed:
        given = f"got {decision.reason!r}" if decision.reason else "none given"
        raise InvalidInput(
            f"{decision.action} needs a reason, one of {', '.join(allowed)} ({given})",
            field="reason",
        )
    if decision.reason == "other" and not (decision.note or "").strip():
        raise InvalidInput('reason "other" needs a note saying why', field="note")


def _reason_text(decision: Decision) -> str | None:
    parts = [p for p in (decision.reason, (decision.note or "").strip()) if p]
    return ": ".join(parts) if parts else None


def _clear_principal(session: Session, chart_id: int, keep: int | None = None) -> None:
    """One principal per chart: moving it changes the others (and their versions)."""
    session.execute(
        update(ProposalRow)
        .where(
            ProposalRow.chart_id == chart_id,
            ProposalRow.principal.is_(True),
            ProposalRow.id != (keep or -1),
        )
        .values(principal=False, version=ProposalRow.version + 1)
    )


def add_code(
    session: Session,
    *,
    chart_id: int,
    code: str,
    evidence: list[tuple[int, int]],
    reason: str,
    note: str | None,
    principal: bool,
    codebook: CodeBook,
    actor: Actor,
) -> ProposalRow:
    """A code the agent missed, added by a coder with the chart text that supports it."""
    chart = lock_chart(session, chart_id=chart_id, start_review=True)
    _check_reason(Decision(action="modify", reason=reason, note=note), ADD_REASONS)
    year = chart_year(session, chart, codebook.years, codebook.base_year)
    codebook = codebook.for_year(year)
    final, system, title = codebook.billable(code, field="code")
    if principal and system != "cm":
        raise InvalidInput("only a diagnosis can be principal", field="principal")
    spans = _checked_spans(chart.text, evidence)
    if principal:
        _clear_principal(session, chart_id)
    last = session.scalar(
        select(func.max(ProposalRow.sequence)).where(
            ProposalRow.chart_id == chart_id, ProposalRow.active.is_(True)
        )
    )
    row = ProposalRow(
        chart_id=chart_id,
        run_id=None,
        origin="coder",
        active=True,
        code=final,
        system=system,
        title=title,
        sequence=(last or 0) + 1,
        principal=principal,
        confidence=None,
        evidence=spans,
        citations=[
            {
                "source_id": f"tabular:{final}" if system == "cm" else f"pcs_table:{final}",
                "label": title,
            }
        ],
        rationale="added by a coder",
        warnings=[],
        fiscal_year=year,
        status="added",
        reason=reason,
        note=note,
        decided_by=actor.name,
        decided_at=now(),
        version=1,
    )
    session.add(row)
    session.flush()
    record_event(
        session,
        actor=actor,
        action="code.add",
        chart_id=chart_id,
        proposal_id=row.id,
        after={**proposal_state(row), "evidence": spans},
        reason=_reason_text(Decision(action="modify", reason=reason, note=note)),
        versions={"kb_release": codebook.kb_release, "fiscal_year": year},
    )
    return row


def _checked_spans(text: str, evidence: list[tuple[int, int]]) -> list[dict[str, object]]:
    if not evidence:
        raise InvalidInput("an added code needs at least one evidence span", field="evidence")
    spans = []
    for index, (start, end) in enumerate(evidence):
        if not 0 <= start < end <= len(text):
            raise InvalidInput(
                f"span {start}-{end} is outside the chart text (0-{len(text)})",
                field=f"evidence.{index}",
            )
        quote = text[start:end]
        if not quote.strip():
            raise InvalidInput("an evidence span must cover some text", field=f"evidence.{index}")
        spans.append({"start": start, "end": end, "quote": quote})
    return spans
