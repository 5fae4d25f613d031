"""The offline proposer: every candidate code of the chart weighed by the learned ranker.

It proposes every concept the chart mentions, each with its assertion (present, negated,
historical, family, uncertain); which of those a claim carries is the coding policy's
decision (`agent.rules.apply_policy`), made after every proposer alike. Confidence is the
ranker's calibrated probability that a coder keeps the code, and the rationale says what drove
it. Without a trained ranker (no `medcoder learn` yet) the hand-set scores of the lookups rank,
with the old fixed cut-off.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from agent.history import LearnedHistory
from agent.models import (
    Candidate,
    Chart,
    Mention,
    Policy,
    ProposerOutput,
    RawProposal,
    Sentence,
)
from agent.ranker import CodeFinding, Ranker, feature_rows, gather
from agent.ranker.features import SECTION_WEIGHT
from agent.rules import first_listed_rank, is_drug_effect
from retrieval.store import KnowledgeStore

# Only for an agent with no trained ranker: the hand-set cut-off it replaced.
UNTRAINED_MIN_CONFIDENCE = 0.5
MAX_EVIDENCE = 5
# A sentence that is a code's title word for word documents that code: no statistics learned
# from narrative case reports (where that almost never happens) outweigh the statement.
STATED_CONFIDENCE = 0.95
# Below the cut-off, the most likely codes are kept as "considered" for the coder to browse.
MAX_CONSIDERED = 25
MIN_CONSIDERED_CONFIDENCE = 0.02
_ROUTE_NAMES = {
    "index": "Alphabetic Index",
    "table": "Neoplasm/Drug table",
    "phrase": "exact title or index phrase",
    "statement": "Tabular title documented word for word by the diagnostic statement",
    "search": "hybrid search",
    "status": "status cue (medication, device, tobacco, BMI, visit reason) or history code",
}


class OfflineProposer:
    """Ranks each candidate code of the chart and keeps those the ranker believes in."""

    name = "offline"

    def __init__(
        self,
        store: KnowledgeStore,
        ranker: Ranker | None = None,
        history: LearnedHistory | None = None,
    ) -> None:
        self.store = store
        self.ranker = ranker
        self.history = history

    def propose(
        self,
        chart: Chart,
        mentions: list[Mention],
        candidates: list[Candidate],
        *,
        policy: Policy = "claims",
    ) -> ProposerOutput:
        # The chart's code set: the store bound to its fiscal year (set by the agent).
        store = self.store.for_year(chart.fiscal_year)
        findings = gather(chart, mentions, candidates, self.history, store)
        if self.ranker is not None:
            ranker = self.ranker
            rows = feature_rows(findings, mentions, self.history)
            confidences = ranker.confidence(rows)

            def cutoff(system: str) -> float:
                return ranker.threshold(system, policy)

            note = "ranked by the learned ranker"
        else:
            confidences = [_untrained_confidence(f, mentions) for f in findings]
            cutoff = _untrained_cutoff
            note = "no trained ranker: hand-set lookup scores (run `medcoder learn`)"
        weighed = sorted(
            (
                (f, max(c, STATED_CONFIDENCE) if f.stated else c)
                for f, c in zip(findings, confidences, strict=True)
                if f.evidence
            ),
            key=lambda item: -item[1],
        )
        kept = [
            (f, c)
            for f, c in weighed
            if c >= cutoff(f.system) and not (policy == "claims" and _undocumented_procedure(f))
        ]
        lone = _lone_diagnosis(weighed, kept, cutoff)
        kept += [lone] if lone else []
        stated = None if lone else _stated_principal(weighed, kept, cutoff, mentions, chart)
        kept += [stated] if stated else []
        chosen = {id(f) for f, _ in kept}
        below = [
            (f, c) for f, c in weighed if c >= MIN_CONSIDERED_CONFIDENCE and id(f) not in chosen
        ]
        proposals = [self._proposal(f, c, mentions) for f, c in kept]
        if lone is not None:
            proposals[-1].rationale += (
                f" Proposed below the cut-off {cutoff('cm'):.2f} because no diagnosis reached "
                "it: every chart has a principal or first-listed diagnosis; check this one."
            )
        if stated is not None:
            proposals[-1].rationale += (
                f" Proposed below the cut-off {cutoff('cm'):.2f} because the physician's "
                "diagnosis statement puts it first: it would be the principal or first-listed "
                "diagnosis; check it."
            )
        principal = principal_choice([f for f, _ in kept], mentions, chart.sentences)
        for proposal in proposals:
            proposal.principal = proposal.code == principal
        return ProposerOutput(
            proposals=proposals,
            considered=[self._proposal(f, c, mentions) for f, c in below[:MAX_CONSIDERED]],
            notes=[f"{note}; {len(proposals)} of {len(findings)} candidate codes kept"],
        )

    def _proposal(
        self, finding: CodeFinding, confidence: float, mentions: Sequence[Mention]
    ) -> RawProposal:
        return RawProposal(
            code=finding.code,
            evidence=finding.evidence[:MAX_EVIDENCE],
            citations=finding.citations,
            rationale=rationale(finding, confidence, mentions, self.history),
            confidence=round(confidence, 4),
            assertion=finding.assertion,
        )


def _undocumented_procedure(finding: CodeFinding) -> bool:
    """A PCS code only the learned history suggests ("acute blood loss anemia" charts were
    often transfused), with no words of the chart naming the procedure: a claim reports
    procedures the record shows were performed, so it stays among the considered codes.
    So do place, activity and status codes (Y92-Y99) no words of the chart state: they are
    coded from what the record says, never assumed (I.C.20.k: no status when none is
    documented)."""
    if finding.routes:
        return False
    return finding.system == "pcs" or finding.code.startswith(("Y92", "Y93", "Y99"))


def _lone_diagnosis(
    weighed: list[tuple[CodeFinding, float]],
    kept: list[tuple[CodeFinding, float]],
    cutoff: Callable[[str], float],
) -> tuple[CodeFinding, float] | None:
    """The best plainly documented diagnosis when none reached the cut-off (symptom, status
    and external-cause codes aside), if the ranker gives it at least half the cut-off: a
    chart without any diagnosis helps no coder, and the confidence shown says how sure the
    guess is."""
    # Symptoms, status and external causes alone say what happened, not what was treated:
    # a dog bite with only Z23 (the tetanus shot) kept still needs its injury.
    if any(f.system == "cm" and first_listed_rank(f.code) < 2 for f, _ in kept):
        return None
    enough = cutoff("cm") / 2
    present = [(f, c) for f, c in weighed if f.system == "cm" and f.assertion == "present"]
    definitive = next(((f, c) for f, c in present if first_listed_rank(f.code) < 2), None)
    if definitive is not None and definitive[1] >= enough:
        return definitive
    if any(f.system == "cm" for f, _ in kept) or not present or present[0][1] < enough:
        return None
    return present[0]


def _stated_principal(
    weighed: list[tuple[CodeFinding, float]],
    kept: list[tuple[CodeFinding, float]],
    cutoff: Callable[[str], float],
    mentions: Sequence[Mention],
    chart: Chart,
) -> tuple[CodeFinding, float] | None:
    """A diagnosis below the cut-off (but at least half of it) that the physician states in
    the diagnosis list or the assessment (or, anywhere, that is the reason for an encounter
    for a service or a systemic infection) and that would be sequenced before every kept
    diagnosis: a claim stands on its principal or first-listed diagnosis, so the coder is
    shown the one the physician put first ("Discharge diagnoses: sepsis due to urinary
    tract infection" with only the UTI kept), with how sure the ranker is."""
    enough = cutoff("cm") / 2
    chosen = {id(f) for f, _ in kept}
    categories = {f.code[:3] for f, _ in kept}
    statements = {
        number
        for number, sentence in enumerate(chart.sentences)
        if sentence.section in _STATEMENT_SECTIONS
    }
    # Not another code of a kept code's category: that is another reading of the same
    # condition (K35.32 beside K35.201 for one appendicitis), not a new principal.
    stated = [
        (f, c)
        for f, c in weighed
        if f.system == "cm"
        and id(f) not in chosen
        and c >= enough
        and f.assertion in ("present", "uncertain")
        and f.code[:3] not in categories
        and (
            first_listed_rank(f.code) == 0
            or _sentences_of(f, mentions, chart.sentences) & statements
        )
    ]
    if not stated:
        return None
    first = principal_choice(
        [f for f, _ in kept] + [f for f, _ in stated], mentions, chart.sentences
    )
    return next(((f, c) for f, c in stated if f.code == first), None)


# The physician's own diagnostic statements: the discharge / final diagnosis list and the
# assessment.
_STATEMENT_SECTIONS = ("diagnoses", "assessment")
# Where the physician states the diagnoses, in the order a principal is looked for: the
# discharge / final diagnosis list first, then the assessment, the course, the reason for
# admission; the first diagnosis listed there is the one the physician puts first.
_PRINCIPAL_SECTIONS = ("diagnoses", "assessment", "hospital_course", "plan", "hpi", "other")


def principal_choice(
    findings: Sequence[CodeFinding],
    mentions: Sequence[Mention],
    sentences: Sequence[Sentence] = (),
) -> str | None:
    """The diagnosis to sequence first (Guidelines II, IV.A): the reason for an encounter
    for a service or a systemic infection, then a definitive diagnosis before a symptom or
    status code (`first_listed_rank`), then the one stated first in the diagnosis list, the
    assessment, the course or the reason for admission, in that order. A symptom stated in
    one sentence with a drug's adverse effect is the nature of that effect, which is coded
    first (I.C.19.e.5.a): it counts as a definitive diagnosis here."""
    effects = _effect_sentences(findings, mentions, sentences)

    def where(finding: CodeFinding) -> tuple[int, int, int, int]:
        definitive = first_listed_rank(finding.code)
        symptom = finding.code.startswith("R")
        if symptom and _sentences_of(finding, mentions, sentences) & effects:
            definitive = 1
        places = [
            (_PRINCIPAL_SECTIONS.index(m.section), m.span.start)
            for m in (mentions[i] for i in finding.mentions)
            if m.section in _PRINCIPAL_SECTIONS
        ]
        section, start = min(places, default=(len(_PRINCIPAL_SECTIONS), 0))
        return (definitive, section, start, -len(finding.mentions))

    diagnoses = [
        f for f in findings if f.system == "cm" and f.assertion in ("present", "uncertain")
    ]
    return min(diagnoses, key=where).code if diagnoses else None


def _effect_sentences(
    findings: Sequence[CodeFinding], mentions: Sequence[Mention], sentences: Sequence[Sentence]
) -> set[int]:
    """The sentences stating a drug's adverse effect or underdosing that a finding codes."""
    found: set[int] = set()
    for finding in findings:
        if is_drug_effect(finding.code):
            found |= _sentences_of(finding, mentions, sentences)
    return found


def _sentences_of(
    finding: CodeFinding, mentions: Sequence[Mention], sentences: Sequence[Sentence]
) -> set[int]:
    starts = [mentions[i].span.start for i in finding.mentions]
    starts += [span.start for span in finding.evidence]
    return {
        number
        for number, sentence in enumerate(sentences)
        if any(sentence.start <= start < sentence.end for start in starts)
    }


def _untrained_confidence(finding: CodeFinding, mentions: Sequence[Mention]) -> float:
    """The old rule: each mention's best-scored candidate only, weighed by its section."""
    if finding.best_mention is None or finding.rank_in_mention > 0:
        return 0.0
    section = mentions[finding.best_mention].section
    repeats = 0.04 * (len(finding.mentions) - 1)
    return min(0.99, finding.best_score * SECTION_WEIGHT.get(section, 0.8) + repeats)


def _untrained_cutoff(system: str) -> float:
    return UNTRAINED_MIN_CONFIDENCE


def rationale(
    finding: CodeFinding,
    confidence: float,
    mentions: Sequence[Mention],
    history: LearnedHistory | None,
) -> str:
    """What the chart says, how the code was found, and what drove the confidence."""
    parts: list[str] = []
    if finding.best_mention is not None:
        mention = mentions[finding.best_mention]
        where = mention.section.replace("_", " ")
        times = f" ({len(finding.mentions)} mentions)" if len(finding.mentions) > 1 else ""
        parts.append(f'"{mention.text}" in the {where} section{times}')
    elif finding.evidence:
        parts.append(f'"{finding.evidence[0].quote}"')
    routes = [
        f"{_ROUTE_NAMES[r]} {s:.2f}" for r, s in sorted(finding.routes.items(), key=lambda x: -x[1])
    ]
    if routes:
        parts.append("found by " + ", ".join(routes))
    association = finding.association
    if association is not None and finding.gram is not None:
        parts.append(
            f'coded charts with "{finding.gram.key}" carried {finding.code} '
            f"{association.strength:.0%} of the time ({association.support} charts)"
        )
    if history is not None and history.charts:
        parts.append(f"{finding.code} is on {history.prior(finding.code):.1%} of coded charts")
    if finding.stated:
        parts.append("the chart states its title word for word")
    if finding.assertion != "present":
        parts.append(f"assertion: {finding.assertion}")
    parts.append(f"confidence {confidence:.2f}")
    return "; ".join(parts) + f"; Tabular: {finding.code} {finding.title}."
