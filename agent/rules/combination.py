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

import re
from collections.abc import Collection
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
    # The diabetes subcategory whose every code names this complication (E11.4-: diabetic
    # neuropathy of any kind), so that E11.40 beside G62.9 is already the combination.
    family: str = ""


_DIABETES_COMPLICATIONS = (
    _Complication(("N18",), ".22", absorbed=False),
    _Complication(("G62.9", "G63", "G60.9", "G61.9"), ".42", absorbed=True, family=".4"),
    _Complication(("G58.9", "G57.9", "G56.9", "G64"), ".40", absorbed=True, family=".4"),
    _Complication(("H35.00", "H35.09", "H35.10"), ".319", absorbed=True, family=".3"),
    _Complication(("R73",), ".65", absorbed=True, family=".65"),
    _Complication(("E16.2", "E16.1"), ".649", absorbed=True, family=".64"),
    _Complication(("I73.9",), ".51", absorbed=True, family=".5"),
    _Complication(("L97",), ".621", absorbed=False),
    _Complication(("K31.84",), ".43", absorbed=False),
    _Complication(("M14.6",), ".610", absorbed=True, family=".61"),
    _Complication(("N28.9", "N05", "N08"), ".29", absorbed=True, family=".2"),
)
_DIABETES_CATEGORIES = tuple(code[:3] for code in sorted(_DIABETES_WITHOUT))


def _names_whole(code: str, complication: _Complication) -> bool:
    """Whether diabetes code `code` already names `complication` (E11.40 names G62.9)."""
    if not complication.absorbed or not complication.family:
        return False
    return code[:3] in _DIABETES_CATEGORIES and code[3:].startswith(complication.family)


def _includes(combined: str, part: str) -> bool:
    """Whether hypertension code `combined` says all that `part` says, for the parts a chart
    states as hypertension alone: I10 (any of them), I11.9 (I11.0 and I13.-). I11 and I12
    codes are not counted: a search for the CKD alone finds I12.9, and the chart may not
    document hypertension at all."""
    if combined == part:
        return False
    if part == "I10":
        return True
    return part == "I11.9" and combined.startswith(("I11.0", "I13"))


def becomes_one_of(code: str, codes: Collection[str]) -> bool:
    """Whether the combination rules would turn `code` into one of `codes` (or leave it
    inside one): I10 when I13.0 is coded, E11.9 when E11.22 is, G62.9 when E11.42 is. A
    ranker learning from coded charts counts such a code as right: the rules finish it."""
    if code in _HYPERTENSIVE:
        return any(other in _HYPERTENSIVE and _includes(other, code) for other in codes)
    if code in _DIABETES_WITHOUT:
        return any(
            other.startswith(code[:3]) and other[3:] == complication.suffix
            for other in codes
            for complication in _DIABETES_COMPLICATIONS
        )
    for complication in _DIABETES_COMPLICATIONS:
        if complication.absorbed and code.startswith(complication.prefixes):
            return any(_names_whole(other, complication) for other in codes)
    return False


def combine(
    raw: list[RawProposal], *, store: KnowledgeStore, proposer: str
) -> tuple[list[RawProposal], list[Dropped]]:
    """The proposals with combination codes in place of the codes they combine."""
    proposals, dropped = _undocumented_hypertension(raw, proposer)
    proposals, combined = _hypertension(proposals, store, proposer)
    return _diabetes(proposals, store, proposer, dropped + combined)


# How a chart says hypertension ("HTN", "hypertensive nephrosclerosis", "high BP").
_SAYS_HYPERTENSION = re.compile(
    r"hypertens|\bHTN\b|\bHBP\b|high blood pressure|\bhigh BP\b", re.IGNORECASE
)
_HYPERTENSIVE_DISEASE = ("I10", "I11", "I12", "I13", "I15", "I16", "I1A")


def _undocumented_hypertension(
    raw: list[RawProposal], proposer: str
) -> tuple[list[RawProposal], list[Dropped]]:
    """A hypertensive code whose evidence never says hypertension ("anemia in chronic kidney
    disease" read as I12.9): the link with CKD or the heart is presumed only for a patient
    documented to have hypertension (I.C.9.a)."""
    kept: list[RawProposal] = []
    dropped: list[Dropped] = []
    for proposal in raw:
        if proposal.code.startswith(_HYPERTENSIVE_DISEASE) and not any(
            _SAYS_HYPERTENSION.search(span.quote) for span in proposal.evidence
        ):
            reason = (
                "its evidence does not document hypertension; hypertensive heart or kidney "
                f"disease is presumed only when hypertension is documented {cite(HYPERTENSION)}"
            )
            dropped.append(Dropped(code=proposal.code, reason=reason, proposer=proposer))
        else:
            kept.append(proposal)
    return kept, dropped


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


# Hypertension coded alone or already combined with part of the picture: what the proposals
# say of the heart and the kidneys decides the one code they all become.
_HYPERTENSIVE = ("I10", "I11.0", "I11.9", "I12.0", "I12.9", "I13.0", "I13.10", "I13.11", "I13.2")
_WITH_FAILURE = ("I11.0", "I13.0", "I13.2")
_WITH_HEART = ("I11.", "I13.")
_WITH_KIDNEY = ("I12.", "I13.")
_STAGE_5 = ("I12.0", "I13.11", "I13.2")


def _hypertension_code(codes: set[str], stage_5: bool) -> str | None:
    """The hypertension code for what `codes` document together (I.C.9.a.1-3), None when
    hypertension has nothing to combine with."""
    failure = any(c.startswith("I50") for c in codes) or bool(codes & set(_WITH_FAILURE))
    heart = failure or any(c.startswith(_WITH_HEART) for c in codes)
    kidney = any(c.startswith(("N18", *_WITH_KIDNEY)) for c in codes)
    if kidney and failure:
        return "I13.2" if stage_5 else "I13.0"
    if kidney and heart:
        return "I13.11" if stage_5 else "I13.10"
    if failure:
        return "I11.0"
    if kidney:
        return "I12.0" if stage_5 else "I12.9"
    return None


def _hypertension(
    raw: list[RawProposal], store: KnowledgeStore, proposer: str
) -> tuple[list[RawProposal], list[Dropped]]:
    hypertensive = [p for p in raw if p.code in _HYPERTENSIVE]
    if not hypertensive:
        return raw, []
    codes = {p.code for p in raw}
    stage_5 = bool(codes & {*_ESRD_OR_5, *_STAGE_5})
    code = _hypertension_code(codes, stage_5)
    if code is None or [p.code for p in hypertensive] == [code]:
        return raw, []
    record = store.get(code, "cm")
    if record is None or not record.billable:
        return raw, []
    failure = [p for p in raw if p.code.startswith("I50")]
    kidney = [p for p in raw if p.code.startswith("N18")]
    partners = [*failure[:1], *kidney[:1]]
    said = " and ".join(p.code for p in [*hypertensive, *partners])
    why = (
        f"{said}: the Guidelines presume the link, {code} {record.title}; heart failure and "
        f"the CKD stage stay coded {cite(HYPERTENSION)}"
    )
    combined = _merged(code, hypertensive, why)
    combined.evidence += [e for p in partners for e in p.evidence if e not in combined.evidence]
    first = hypertensive[0]
    kept = [combined if p is first else p for p in raw if p is first or p not in hypertensive]
    dropped = [
        Dropped(
            code=p.code,
            reason=f"{said} together are {code} {cite(HYPERTENSION)}",
            proposer=proposer,
        )
        for p in hypertensive
        if p.code != code
    ]
    return kept, dropped


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
    return _named_whole(raw, proposer, dropped)


def _named_whole(
    raw: list[RawProposal], proposer: str, dropped: list[Dropped]
) -> tuple[list[RawProposal], list[Dropped]]:
    """A complication beside the diabetes code that already names it (G62.9 beside E11.40)
    is not coded again."""
    gone: set[int] = set()
    for part in raw:
        for complication in _DIABETES_COMPLICATIONS:
            if not part.code.startswith(complication.prefixes):
                continue
            named = next((p for p in raw if _names_whole(p.code, complication)), None)
            if named is not None:
                gone.add(id(part))
                dropped.append(
                    Dropped(
                        code=part.code,
                        reason=f"included in the combination code {named.code} "
                        f"{cite(DIABETES_WITH)}",
                        proposer=proposer,
                    )
                )
                break
    return [p for p in raw if id(p) not in gone], dropped
