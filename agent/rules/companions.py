"""Codes that are only reported beside another: BMI beside the weight diagnosis it qualifies,
weeks of gestation beside a pregnancy code, an external cause beside the injury it explains
(with the injury's 7th character), long-term insulin use not with type 1 diabetes or
insulin-controlled gestational diabetes, and the general examination with or without
abnormal findings as the rest of the code set says. An injury seen again for routine healing
takes the subsequent-encounter 7th character D (I.C.19.a); place, activity and status
(Y92, Y93, Y99) are reported once, at the initial encounter (I.C.20.b, c, k), one of each.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from agent.models import Chart, Dropped, RawProposal
from agent.rules.guidelines import cite
from retrieval.store import KnowledgeStore

BMI = "I.B.14"
WEEKS = "I.C.15.b"
INSULIN = "I.C.4.a.3"
GESTATIONAL_INSULIN = "I.C.15.g"
EXAMINATION = "I.C.21.c.13"
EXTERNAL_CAUSE = "I.C.20.a"
SEVENTH = "I.C.19.a"
CIRCUMSTANCES = "I.C.20.b"
# Place of occurrence, activity, external cause status.
_CIRCUMSTANCE_CATEGORIES = ("Y92", "Y93", "Y99")

# The visit is for the injury's healing, not its active treatment: 7th character D.
_SUBSEQUENT = re.compile(
    r"\b(?:routine healing|healing (?:well|appropriately|as expected|normally)|callus formation"
    r"|subsequent encounter|(?:here|presents|returns|seen|comes in|visit)\b[^.\n]{0,25}"
    r"\b(?:follow-?up|f/u|recheck|cast check))\b",
    re.IGNORECASE,
)

# The weight diagnoses a BMI may qualify: overweight, obesity, malnutrition, cachexia, weight
# loss or gain, underweight.
_WEIGHT_DIAGNOSES = ("E66", "E40", "E41", "E42", "E43", "E44", "E45", "E46", "R63", "R64",
                     "R62.5")  # fmt: skip
_INSULIN_CONTROLLED_GESTATIONAL = ("O24.414", "O24.424", "O24.434")
_EXAMS = {"Z00.00": "Z00.01", "Z00.129": "Z00.121"}


def _without(
    kept: list[RawProposal],
    dropped: list[Dropped],
    proposer: str,
    drop: Callable[[RawProposal], bool],
    reason: str,
) -> list[RawProposal]:
    out = []
    for proposal in kept:
        if drop(proposal):
            dropped.append(Dropped(code=proposal.code, reason=reason, proposer=proposer))
        else:
            out.append(proposal)
    return out


def _is_external(code: str) -> bool:
    return code.startswith(("V", "W", "X", "Y"))


def _is_injury(code: str) -> bool:
    return code.startswith(("S", "T"))


def companions(
    proposals: list[RawProposal],
    *,
    proposer: str,
    chart: Chart | None = None,
    store: KnowledgeStore | None = None,
) -> tuple[list[RawProposal], list[Dropped]]:
    """The proposals with every companion rule applied, and what was dropped and why; with
    the chart and the store, the encounter's 7th character too."""
    proposals = _encounter(proposals, chart, store)
    codes = {p.code for p in proposals}
    dropped: list[Dropped] = []
    kept = list(proposals)

    def beside_others(dependent: Callable[[str], bool]) -> bool:
        # A dependent code alone is kept: sequencing then warns that it cannot be first,
        # and the coder sees what the chart documents instead of an empty list.
        return any(not dependent(c) for c in codes)

    if not any(_is_injury(c) for c in codes) and beside_others(_is_external):
        kept = _without(
            kept, dropped, proposer, lambda p: _is_external(p.code),
            "an external cause code explains an injury and is reported beside one; none is "
            f"coded {cite(EXTERNAL_CAUSE)}",
        )  # fmt: skip
    later = {c[-1] for c in codes if _is_injury(c) and len(c) == 8} - {"A"}
    if later and not any(_is_injury(c) and c.endswith("A") for c in codes):
        kept = _without(
            kept, dropped, proposer, lambda p: p.code.startswith(_CIRCUMSTANCE_CATEGORIES),
            "place, activity and status are reported once, at the initial encounter for the "
            f"injury; this visit is a later one {cite(CIRCUMSTANCES)}",
        )  # fmt: skip
    kept = _one_of_each(kept, dropped, proposer)
    if not any(c.startswith(_WEIGHT_DIAGNOSES) for c in codes) and beside_others(
        lambda c: c.startswith("Z68")
    ):
        kept = _without(
            kept, dropped, proposer, lambda p: p.code.startswith("Z68"),
            "a BMI code is reported only with the weight diagnosis it qualifies (obesity, "
            f"overweight, malnutrition, underweight) {cite(BMI)}",
        )  # fmt: skip
    if not any(c.startswith("O") for c in codes) and beside_others(lambda c: c.startswith("Z3A")):
        kept = _without(
            kept, dropped, proposer, lambda p: p.code.startswith("Z3A"),
            "weeks of gestation (Z3A) are reported only with a pregnancy code from chapter 15 "
            f"{cite(WEEKS)}",
        )  # fmt: skip
    if any(c.startswith("E10") for c in codes):
        kept = _without(
            kept, dropped, proposer, lambda p: p.code == "Z79.4",
            "insulin is inherent in type 1 diabetes (E10): long-term insulin use Z79.4 is not "
            f"added {cite(INSULIN)}",
        )  # fmt: skip
    if any(c.startswith(_INSULIN_CONTROLLED_GESTATIONAL) for c in codes):
        kept = _without(
            kept, dropped, proposer, lambda p: p.code == "Z79.4",
            "an insulin-controlled diabetes in pregnancy code already says insulin: Z79.4 is "
            f"not added {cite(GESTATIONAL_INSULIN)}",
        )  # fmt: skip
    return [_examination(p, codes) for p in kept], dropped


def _one_of_each(
    kept: list[RawProposal], dropped: list[Dropped], proposer: str
) -> list[RawProposal]:
    """One place, one activity, one status: the most confident of each."""
    best: dict[str, RawProposal] = {}
    for proposal in kept:
        category = proposal.code[:3]
        if category in _CIRCUMSTANCE_CATEGORIES and (
            category not in best or proposal.confidence > best[category].confidence
        ):
            best[category] = proposal
    chosen = {id(p) for p in best.values()}
    return _without(
        kept, dropped, proposer,
        lambda p: p.code[:3] in _CIRCUMSTANCE_CATEGORIES and id(p) not in chosen,
        "only one place of occurrence, one activity and one status code is reported "
        f"{cite(CIRCUMSTANCES)}",
    )  # fmt: skip


def _encounter(
    proposals: list[RawProposal], chart: Chart | None, store: KnowledgeStore | None
) -> list[RawProposal]:
    """Injury and external cause codes with the encounter's 7th character: D where the visit
    is for routine healing; an external cause takes the 7th character of its injuries."""
    if chart is None or store is None:
        return proposals
    later = chart.meta.setting == "outpatient" and _SUBSEQUENT.search(chart.text) is not None
    out = [_seventh(p, "D", store) if later and _is_injury(p.code) else p for p in proposals]
    injuries = {p.code[-1] for p in out if _is_injury(p.code) and len(p.code) == 8}
    if len(injuries) == 1 and (character := injuries.pop()) in "DS":
        out = [_seventh(p, character, store) if _is_external(p.code) else p for p in out]
    return out


def _seventh(proposal: RawProposal, character: str, store: KnowledgeStore) -> RawProposal:
    code = proposal.code
    if len(code) != 8 or code[-1] != "A" or code[-1] == character:
        return proposal
    changed = code[:-1] + character
    record = store.get(changed, "cm")
    if record is None or not record.billable:
        return proposal
    note = (
        f" 7th character {character}: {record.title} (the visit is for the injury's healing, "
        f"not its active treatment) {cite(SEVENTH)}."
    )
    return _recoded(proposal, changed, note)


def _recoded(proposal: RawProposal, code: str, note: str) -> RawProposal:
    """The proposal as another code of the same concept, its tabular citation following."""
    citations = [
        c.model_copy(update={"source_id": f"tabular:{code}", "label": f"Tabular: {code}"})
        if c.source_id == f"tabular:{proposal.code}"
        else c
        for c in proposal.citations
    ]
    return proposal.model_copy(
        update={"code": code, "rationale": proposal.rationale + note, "citations": citations}
    )


def _examination(proposal: RawProposal, codes: set[str]) -> RawProposal:
    """A general examination that found something coded is the "with abnormal findings"
    code; the findings are coded beside it."""
    abnormal = _EXAMS.get(proposal.code)
    if abnormal is None or not any(not c.startswith(("Z", "V", "W", "X", "Y")) for c in codes):
        return proposal
    note = (
        f" The examination found conditions that are coded: {abnormal}, with abnormal "
        f"findings {cite(EXAMINATION)}."
    )
    return _recoded(proposal, abnormal, note)
