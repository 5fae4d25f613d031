"""The deterministic proposer: a coder's rules over index matches and retrieval scores.

Which mentions are coded follows the Official Guidelines: negated and family-history
mentions are not coded as current conditions; uncertain diagnoses are coded as established
for inpatients (Section II.H / III.C) and not for outpatients (Section IV.H), where the
symptoms found elsewhere in the note are coded instead; history-of mentions are not coded as
current conditions. A code found for several mentions gains confidence; a code from the
diagnoses or assessment sections outranks one from the history of present illness.
"""

from __future__ import annotations

from collections import defaultdict

from agent.models import Candidate, Chart, Citation, Mention, ProposerOutput, RawProposal, Span

SECTION_WEIGHT = {
    "diagnoses": 1.0,
    "procedures": 1.0,
    "assessment": 0.95,
    "plan": 0.9,
    "hospital_course": 0.88,
    "other": 0.85,
    "hpi": 0.82,
    "results": 0.78,
    "exam": 0.75,
    "ros": 0.6,
    "history": 0.55,
}
MIN_SCORE = 0.45
MIN_CONFIDENCE = 0.5
REPEAT_BONUS = 0.04


def skip_reason(mention: Mention, setting: str) -> str | None:
    """Why a mention is not coded as a current condition, or None when it is."""
    if mention.negated:
        return "negated"
    if mention.family:
        return "family history"
    if mention.historical:
        return "history of"
    if mention.uncertain and setting == "outpatient":
        return "uncertain diagnosis in an outpatient encounter (Guidelines IV.H)"
    return None


class OfflineProposer:
    """Ranks each codable mention's candidates and keeps the best billable one."""

    name = "offline"

    def propose(
        self, chart: Chart, mentions: list[Mention], candidates: list[Candidate]
    ) -> ProposerOutput:
        by_mention: dict[int, list[Candidate]] = defaultdict(list)
        for candidate in candidates:
            by_mention[candidate.mention_index].append(candidate)
        chosen: dict[str, _Choice] = {}
        skipped = 0
        for index, mention in enumerate(mentions):
            if skip_reason(mention, chart.meta.setting):
                skipped += 1
                continue
            best = _best(by_mention.get(index, []))
            if best is None:
                continue
            confidence = best.score * SECTION_WEIGHT.get(mention.section, 0.8)
            if confidence < MIN_CONFIDENCE:
                continue
            choice = chosen.setdefault(best.code, _Choice(best))
            choice.add(mention, confidence, best.citations)
        proposals = [choice.proposal(chart.meta.setting) for choice in chosen.values()]
        proposals.sort(key=lambda p: -p.confidence)
        return ProposerOutput(proposals=proposals, notes=[f"{skipped} mentions not coded"])


def _best(candidates: list[Candidate]) -> Candidate | None:
    billable = [c for c in candidates if c.billable and c.score >= MIN_SCORE]
    return max(billable, key=lambda c: c.score) if billable else None


class _Choice:
    """One code and every mention that led to it."""

    def __init__(self, candidate: Candidate) -> None:
        self.candidate = candidate
        self.mentions: list[Mention] = []
        self.confidence = 0.0
        self.citations: list[Citation] = []

    def add(self, mention: Mention, confidence: float, citations: list[Citation]) -> None:
        self.mentions.append(mention)
        if self.confidence:
            self.confidence = min(0.99, max(self.confidence, confidence) + REPEAT_BONUS)
        else:
            self.confidence = confidence
        known = {c.source_id for c in self.citations}
        self.citations += [c for c in citations if c.source_id not in known]

    def proposal(self, setting: str) -> RawProposal:
        first = self.mentions[0]
        route = self.citations[0].label if self.citations else "search"
        uncertain = (
            " (uncertain; coded as established for an inpatient, Guidelines II.H)"
            if (first.uncertain and setting == "inpatient")
            else ""
        )
        rationale = (
            f'"{first.text}" in the {first.section.replace("_", " ")} section{uncertain}; '
            f"{route}; confirmed in the Tabular as {self.candidate.code} "
            f"{self.candidate.title}."
        )
        evidence: list[Span] = []
        for mention in self.mentions:
            if mention.span not in evidence:
                evidence.append(mention.span)
        return RawProposal(
            code=self.candidate.code,
            evidence=evidence[:5],
            citations=self.citations,
            rationale=rationale,
            confidence=round(self.confidence, 4),
            principal=False,
        )
