"""Which asserted concepts a code set carries: the coding policy, applied after every proposer.

`claims` follows the Official Guidelines: a negated condition is not coded; a relative's
condition is not the patient's; a resolved ("history of") condition is not coded as current
(its personal-history Z code is, I.C.21.c.4); an uncertain diagnosis ("probable", "suspected")
is coded as if established at an inpatient discharge (II.H, III.C) but not for an outpatient
(IV.H), where the symptoms are coded instead. `mentions` keeps every concept mentioned, each
proposal carrying its assertion: what abstraction, registries and CodiEsp's annotators want.
"""

from __future__ import annotations

from agent.models import Dropped, Policy, RawProposal, Setting
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


def apply_policy(
    raw: list[RawProposal],
    *,
    policy: Policy,
    setting: Setting,
    proposer: str,
    searcher: HybridSearcher | None = None,
) -> tuple[list[RawProposal], list[Dropped]]:
    """The proposals the policy codes, and the others dropped with the reason. Under claims,
    with a searcher, a past condition becomes its personal-history code and a relative's its
    family-history code; a chronic condition listed in the history stays current."""
    if policy == "mentions":
        return raw, []
    kept: list[RawProposal] = []
    dropped: list[Dropped] = []
    for proposal in raw:
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
            reason = (
                "an uncertain diagnosis is not coded for an outpatient encounter; code the "
                f"documented signs and symptoms {cite(UNCERTAIN_OUTPATIENT)}"
            )
        if reason is None:
            kept.append(proposal)
        else:
            dropped.append(Dropped(code=proposal.code, reason=reason, proposer=proposer))
    return kept, dropped


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
