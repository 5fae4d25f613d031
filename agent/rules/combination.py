"""Combination codes a claim must use: hypertension with heart failure or chronic kidney disease
(I.C.9.a), diabetes "with" its complications (I.A.15, I.C.4.a).

The Guidelines presume the link: hypertension beside heart failure is hypertensive heart
disease (I11.0), beside CKD hypertensive CKD (I12.-), beside both I13.-, with the heart
failure and the CKD stage still coded; "diabetes ... without complications" beside a condition
the index lists under Diabetes, with, is the combination code of that complication. A
complication the combination code names whole (hyperglycemia, polyneuropathy, peripheral
angiopathy, hypoglycemia) is not coded again; one it asks to be added (the CKD stage, the
ulcer site, gastroparesis) stays.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.models import Dropped, RawProposal
from agent.rules.guidelines import cite
from retrieval.store import KnowledgeStore

HYPERTENSION = "I.C.9.a"
DIABETES_WITH = "I.A.15"

_ESRD_OR_5 = ("N18.5", "N18.6")
_DIABETES_WITHOUT = {"E08.9", "E09.9", "E10.9", "E11.9", "E13.9"}


@dataclass(frozen=True)
class _Complication:
    prefixes: tuple[str, ...]  # codes of the complication as coded alone
    suffix: str  # the combination code is the diabetes category + this
    absorbed: bool  # the combination code says it all: the complication code goes


_DIABETES_COMPLICATIONS = (
    _Complication(("N18",), ".22", absorbed=False),
    _Complication(("G62.9", "G63", "G60.9", "G61.9"), ".42", absorbed=True),
    _Complication(("G58.9", "G57.9", "G56.9", "G64"), ".40", absorbed=True),
    _Complication(("H35.00", "H35.09", "H35.10"), ".319", absorbed=True),
    _Complication(("R73",), ".65", absorbed=True),
    _Complication(("E16.2", "E16.1"), ".649", absorbed=True),
    _Complication(("I73.9",), ".51", absorbed=True),
    _Complication(("L97",), ".621", absorbed=False),
    _Complication(("K31.84",), ".43", absorbed=False),
    _Complication(("M14.6",), ".610", absorbed=True),
    _Complication(("N28.9", "N05", "N08"), ".29", absorbed=True),
)


def combine(
    raw: list[RawProposal], *, store: KnowledgeStore, proposer: str
) -> tuple[list[RawProposal], list[Dropped]]:
    """The proposals with combination codes in place of the codes they combine."""
    proposals, dropped = _hypertension(raw, store, proposer)
    return _diabetes(proposals, store, proposer, dropped)


def _merged(code: str, parts: list[RawProposal], why: str) -> RawProposal:
    evidence = []
    for part in parts:
        evidence += [e for e in part.evidence if e not in evidence]
    return RawProposal(
        code=code,
        evidence=evidence,
        citations=[c for part in parts for c in part.citations],
        rationale=why,
        confidence=max(p.confidence for p in parts),
        principal=any(p.principal for p in parts),
    )


def _hypertension(
    raw: list[RawProposal], store: KnowledgeStore, proposer: str
) -> tuple[list[RawProposal], list[Dropped]]:
    essential = next((p for p in raw if p.code == "I10"), None)
    if essential is None:
        return raw, []
    failure = [p for p in raw if p.code.startswith("I50")]
    kidney = [p for p in raw if p.code.startswith("N18")]
    if not failure and not kidney:
        return raw, []
    stage_5 = any(p.code in _ESRD_OR_5 for p in kidney)
    if failure and kidney:
        code = "I13.2" if stage_5 else "I13.0"
    elif failure:
        code = "I11.0"
    else:
        code = "I12.0" if stage_5 else "I12.9"
    record = store.get(code, "cm")
    if record is None:
        return raw, []
    partners = [*failure[:1], *kidney[:1]]
    why = (
        f"hypertension with {' and '.join(p.code for p in partners)}: the Guidelines presume "
        f"the link, {code} {record.title}; the partners stay coded {cite(HYPERTENSION)}"
    )
    combined = _merged(code, [essential], why)
    combined.evidence += [e for p in partners for e in p.evidence if e not in combined.evidence]
    reason = f"I10 with {', '.join(p.code for p in partners)} is {code} {cite(HYPERTENSION)}"
    kept = [combined if p is essential else p for p in raw]
    return kept, [Dropped(code="I10", reason=reason, proposer=proposer)]


def _diabetes(
    raw: list[RawProposal], store: KnowledgeStore, proposer: str, dropped: list[Dropped]
) -> tuple[list[RawProposal], list[Dropped]]:
    for diabetes in [p for p in raw if p.code in _DIABETES_WITHOUT]:
        category = diabetes.code[:3]
        combined: list[RawProposal] = []
        absorbed: set[int] = set()
        for complication in _DIABETES_COMPLICATIONS:
            found = [p for p in raw if p.code.startswith(complication.prefixes)]
            code = category + complication.suffix
            record = store.get(code, "cm")
            if not found or record is None or not record.billable:
                continue
            why = (
                f"diabetes with {found[0].code} is one combination code, {code} "
                f"{record.title} {cite(DIABETES_WITH)}"
            )
            combined.append(_merged(code, [diabetes, found[0]], why))
            if complication.absorbed:
                absorbed |= {id(p) for p in found}
        if not combined:
            continue
        names = ", ".join(c.code for c in combined)
        dropped.append(
            Dropped(
                code=diabetes.code,
                reason=f"{diabetes.code} says without complications; the chart documents "
                f"them: {names} instead {cite(DIABETES_WITH)}",
                proposer=proposer,
            )
        )
        for part in raw:
            if id(part) in absorbed:
                dropped.append(
                    Dropped(
                        code=part.code,
                        reason=f"included in the combination code {names} {cite(DIABETES_WITH)}",
                        proposer=proposer,
                    )
                )
        raw = [p for p in raw if p is not diabetes and id(p) not in absorbed] + combined
    return raw, dropped
