"""Which asserted concepts a code set carries: the coding policy, applied after every proposer.

`claims` follows the Official Guidelines: a negated condition is not coded; a relative's
condition is not the patient's; a resolved ("history of") condition is not coded as current
(its personal-history Z code is, I.C.21.c.4); an uncertain diagnosis ("probable", "suspected")
is coded as if established at an inpatient discharge (II.H, III.C) but not for an outpatient
(IV.H), where the symptoms are coded instead; an outpatient's procedures are CPT/HCPCS, never
ICD-10-PCS. `mentions` keeps every concept mentioned, each
proposal carrying its assertion: what abstraction, registries and CodiEsp's annotators want.
"""

from __future__ import annotations

from collections.abc import Sequence

from agent.models import Dropped, Policy, RawProposal, Sentence, Setting
from agent.rules.codes import resolve_code
from agent.rules.guidelines import cite
from agent.rules.history_codes import HistoryKind, history_code, is_chronic
from retrieval.search import HybridSearcher

UNCERTAIN_INPATIENT = "II.H"
UNCERTAIN_OUTPATIENT = "IV.H"
HISTORY = "I.C.21.c.4"
DOCUMENTED = "I.A.19"

_CLAIMS_DROP = {
    "negated": f"documented as absent or ruled out: not coded {cite(DOCUMENTED)}",
    "family": "a relative's condition, not the patient's: family history is coded with "
    f"Z80-Z84 only when it matters to the care {cite(HISTORY)}",
    "historical": "a past condition that no longer exists or is no longer treated is not "
    f"coded as current; a personal-history code applies {cite(HISTORY)}",
}

# UHDDS: the procedures reported are those performed during the stay.
_PCS_NOT_PERFORMED = (
    "a procedure only planned, scheduled or considered is not coded: the procedures of a "
    "stay reported are those performed during it (UHDDS)"
)
# The HIPAA code set standard names ICD-10-PCS for inpatient hospital procedures only.
_PCS_OUTPATIENT = (
    "ICD-10-PCS reports the procedures of an inpatient hospital stay (HIPAA code set "
    "standard, 45 CFR 162.1002); an outpatient's procedures are reported with CPT/HCPCS"
)


_NOT_CODED_OUTPATIENT = (
    "an uncertain diagnosis is not coded for an outpatient encounter; code the documented "
    f"signs and symptoms {cite(UNCERTAIN_OUTPATIENT)}"
)


def apply_policy(
    raw: list[RawProposal],
    *,
    policy: Policy,
    setting: Setting,
    proposer: str,
    searcher: HybridSearcher | None = None,
    considered: Sequence[RawProposal] = (),
    sentences: Sequence[Sentence] = (),
) -> tuple[list[RawProposal], list[Dropped]]:
    """The proposals the policy codes, and the others dropped with the reason. Under claims,
    with a searcher, an outpatient's PCS codes go (the searcher's store tells the systems
    apart: "S72001A" is CM written without its dot), a past condition becomes its
    personal-history code and a relative's its family-history code; a chronic condition
    listed in the history stays current; an outpatient's uncertain diagnosis gives way to
    the symptoms documented beside it, taken from `considered` (the proposer left them out
    as integral to that diagnosis)."""
    if policy == "mentions":
        return raw, []
    kept: list[RawProposal] = []
    dropped: list[Dropped] = []
    uncertain: list[RawProposal] = []
    for proposal in raw:
        if (
            setting == "outpatient"
            and searcher is not None
            and resolve_code(proposal.code, searcher.store)[1] == "pcs"
        ):
            dropped.append(Dropped(code=proposal.code, reason=_PCS_OUTPATIENT, proposer=proposer))
            continue
        if (
            proposal.assertion == "uncertain"
            and searcher is not None
            and resolve_code(proposal.code, searcher.store)[1] == "pcs"
        ):
            dropped.append(
                Dropped(code=proposal.code, reason=_PCS_NOT_PERFORMED, proposer=proposer)
            )
            continue
        if proposal.assertion == "historical" and is_chronic(proposal.code):
            kept.append(_still_current(proposal))
            continue
        if proposal.assertion in ("historical", "family") and searcher is not None:
            replaced = _history_instead(proposal, searcher)
            if replaced is not None:
                kept.append(replaced)
                dropped.append(
                    Dropped(
                        code=proposal.code,
                        reason=f"{_CLAIMS_DROP[proposal.assertion]}: {replaced.code} instead",
                        proposer=proposer,
                    )
                )
                continue
        reason = _CLAIMS_DROP.get(proposal.assertion)
        if proposal.assertion == "uncertain" and setting == "outpatient":
            reason = _NOT_CODED_OUTPATIENT
            uncertain.append(proposal)
        if reason is None:
            kept.append(proposal)
        else:
            dropped.append(Dropped(code=proposal.code, reason=reason, proposer=proposer))
    if policy == "claims" and setting == "outpatient":
        # A diagnosis left below the cut-off because it is only "probable" is no more coded
        # than one above it; its symptoms are, all the same.
        for below in considered:
            if below.assertion == "uncertain" and not _is_symptom(below.code):
                uncertain.append(below)
                dropped.append(
                    Dropped(code=below.code, reason=_NOT_CODED_OUTPATIENT, proposer=proposer)
                )
    kept += symptoms_instead(uncertain, kept, considered, sentences)
    return kept, dropped


# Symptoms, signs and abnormal findings (R00-R69): what IV.H codes in place of an outpatient's
# uncertain diagnosis.
def _is_symptom(code: str) -> bool:
    return code.startswith("R") and code[1:3].isdigit() and int(code[1:3]) < 70


def _sentence_of(position: int, sentences: Sequence[Sentence]) -> int | None:
    return next((i for i, s in enumerate(sentences) if s.start <= position < s.end), None)


def symptoms_instead(
    uncertain: Sequence[RawProposal],
    kept: Sequence[RawProposal],
    considered: Sequence[RawProposal],
    sentences: Sequence[Sentence],
) -> list[RawProposal]:
    """The present symptom codes documented in the sentence of an uncertain outpatient
    diagnosis or the one next to it ("Probable pneumonia. Cough and fever."), one per
    category, that are not coded already (IV.H)."""
    near: set[int] = set()
    for proposal in uncertain:
        for span in proposal.evidence:
            at = _sentence_of(span.start, sentences)
            if at is not None:
                near |= {at - 1, at, at + 1}
    taken = {p.code[:3] for p in kept}
    promoted: list[RawProposal] = []
    for candidate in considered:
        if not _is_symptom(candidate.code) or candidate.assertion != "present":
            continue
        if candidate.code[:3] in taken or not candidate.evidence:
            continue
        if _sentence_of(candidate.evidence[0].start, sentences) not in near:
            continue
        taken.add(candidate.code[:3])
        note = (
            " Documented beside an uncertain diagnosis, which an outpatient encounter does "
            f"not code: the symptom is coded instead {cite(UNCERTAIN_OUTPATIENT)}."
        )
        promoted.append(candidate.model_copy(update={"rationale": candidate.rationale + note}))
    return promoted


def _still_current(proposal: RawProposal) -> RawProposal:
    note = (
        " Listed in the history, but a chronic condition the patient still has: coded as "
        f"current {cite(HISTORY)}."
    )
    return proposal.model_copy(
        update={"assertion": "present", "rationale": proposal.rationale + note}
    )


def _history_instead(proposal: RawProposal, searcher: HybridSearcher) -> RawProposal | None:
    condition = searcher.store.get(proposal.code, "cm")
    if condition is None or not proposal.evidence:
        return None
    kind: HistoryKind = "family" if proposal.assertion == "family" else "personal"
    found = history_code(searcher, condition, proposal.evidence[0].quote, kind)
    if found is None:
        return None
    whose = "a relative's" if kind == "family" else "a past"
    rationale = (
        f'"{proposal.evidence[0].quote}" is {whose} condition ({condition.code} '
        f"{condition.title}): coded as {found.record.code} {found.record.title} {cite(HISTORY)}."
    )
    return RawProposal(
        code=found.record.code,
        evidence=proposal.evidence,
        citations=[found.citation],
        rationale=rationale,
        confidence=proposal.confidence,
        assertion=proposal.assertion,
    )
