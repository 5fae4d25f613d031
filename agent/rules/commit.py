"""What stands between a decided code set and its commit, each problem classified.

A blocker refuses the commit; an overridable blocker (Excludes1, a mandatory code-first
partner missing, the principal diagnosis) may be committed over by a lead who gives a
reason; an invalid code never. A warning is returned with the committed set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from agent.models import Setting, System
from agent.rules.code_first import beside, unmet
from agent.rules.codes import code_problem, code_set_name
from agent.rules.guidelines import (
    EXCLUDES1,
    FIRST_LISTED,
    PRINCIPAL,
    REPORTING,
    UNSPECIFIED,
    UNSPECIFIED_CODES,
    cite,
    rule_id,
)
from agent.rules.notes import Notes, excludes1_with
from agent.rules.same_category import less_specific, same_category_reason
from agent.rules.sequencing import principal_issue
from retrieval.records import CodeRecord
from retrieval.store import KnowledgeStore

Severity = Literal["blocker", "warning"]


@dataclass(frozen=True)
class Problem:
    """One finding about a code set: how serious, which rule (guideline section), what."""

    severity: Severity
    rule: str
    message: str
    codes: tuple[str, ...] = ()
    overridable: bool = True  # a lead may commit over this blocker with a reason

    def as_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "rule": self.rule,
            "message": self.message,
            "codes": list(self.codes),
            "overridable": self.overridable,
        }


class CommitCode(Protocol):
    """What the rules read of one code of the set (review's FinalCode is one)."""

    @property
    def code(self) -> str: ...
    @property
    def system(self) -> System: ...
    @property
    def principal(self) -> bool: ...


def commit_problems(
    codes: Sequence[CommitCode], *, setting: Setting, store: KnowledgeStore, kb_release: str
) -> list[Problem]:
    """Every problem of the code set a commit would create, blockers first."""
    problems: list[Problem] = []
    records: list[tuple[CommitCode, CodeRecord]] = []
    for final in codes:
        label = code_set_name(final.system, kb_release, store.year)
        invalid = code_problem(final.code, final.system, store, label)
        record = store.get(final.code, final.system)
        if invalid is not None or record is None:
            message = invalid or f"{final.code} is not a code {cite(REPORTING)}"
            problems.append(Problem("blocker", REPORTING, message, (final.code,), False))
        elif final.system == "cm":
            records.append((final, record))
    diagnoses = [record for _, record in records]
    notes: Notes = {r.code: store.notes_with_inherited(r.code) for r in diagnoses}
    mce = {r.code: store.mce_edits(r.code, "D") for r in diagnoses}
    problems += _excludes1(diagnoses, notes)
    problems += _code_first(diagnoses, notes, mce)
    problems += _principal(records, mce, setting)
    problems += _same_category(diagnoses)
    return sorted(problems, key=lambda p: p.severity != "blocker")


def _excludes1(diagnoses: Sequence[CodeRecord], notes: Notes) -> list[Problem]:
    found: list[Problem] = []
    for i, first in enumerate(diagnoses):
        for other in diagnoses[i + 1 :]:
            note = excludes1_with(first.code, other.code, notes)
            if note is not None:
                message = (
                    f"Excludes1 conflict: {first.code} and {other.code} are never coded "
                    f"together (note at {note.defined_at}); reject or modify one of them "
                    f"{cite(EXCLUDES1)}"
                )
                found.append(Problem("blocker", EXCLUDES1, message, (first.code, other.code)))
    return found


def _code_first(
    diagnoses: Sequence[CodeRecord], notes: Notes, mce: dict[str, list[str]]
) -> list[Problem]:
    """Unmet mandatory pairs block; unmet conditional notes warn."""
    partners = {r.code: beside(r, mce[r.code]) for r in diagnoses}
    found: list[Problem] = []
    for record in diagnoses:
        others = [b for code, b in partners.items() if code != record.code]
        for requirement in unmet(record, others, notes, mce[record.code]):
            severity: Severity = "blocker" if requirement.strength == "mandatory" else "warning"
            message = f"{record.code}: {requirement.message()}"
            found.append(Problem(severity, requirement.section, message, (record.code,)))
    return found


def _principal(
    records: Sequence[tuple[CommitCode, CodeRecord]],
    mce: dict[str, list[str]],
    setting: Setting,
) -> list[Problem]:
    section = PRINCIPAL if setting == "inpatient" else FIRST_LISTED
    principal = [record for final, record in records if final.principal]
    if not principal:
        message = (
            "principal diagnosis missing: mark one accepted diagnosis as principal "
            f"(first-listed for outpatients) {cite(section)}"
        )
        return [Problem("blocker", section, message)]
    record = principal[0]
    issue = principal_issue(record, mce[record.code], setting)
    if issue is None:
        return []
    rule, why = issue
    message = f"{record.code} cannot be principal: {why}"
    return [Problem("blocker", rule_id(section, rule), message, (record.code,))]


def _same_category(diagnoses: Sequence[CodeRecord]) -> list[Problem]:
    found: list[Problem] = []
    for record in diagnoses:
        specific = next(
            (o for o in diagnoses if less_specific(record, o) and not less_specific(o, record)),
            None,
        )
        if specific is not None:
            found.append(
                Problem(
                    "warning",
                    rule_id(UNSPECIFIED, UNSPECIFIED_CODES),
                    same_category_reason(record, specific),
                    (record.code, specific.code),
                )
            )
    return found
