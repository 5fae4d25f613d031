"""What the chart says for each candidate code, gathered over its mentions, and the numbers a
learned ranker weighs.

One `CodeFinding` per distinct code: every mention whose lookup produced it (index walk,
Neoplasm / Drug / PCS tables, exact phrase, search), the learned n-gram associations that
point to it, and the context of its best evidence. The feature vector is plain floats in the
order of `FEATURES`, so a model file records which features it was trained on.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from agent.history import Association, Gram, LearnedHistory
from agent.mentions import span_flags
from agent.models import Assertion, Candidate, Chart, Citation, Mention, Span, System
from agent.rules import asked_for, covered
from retrieval.store import KnowledgeStore

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
ROUTES = ("index", "table", "phrase", "statement", "search", "status")
FEATURES = (
    *(f"route_{route}" for route in ROUTES),
    "routes",
    "best_score",
    "mentions",
    "section_weight",
    "negated",
    "uncertain",
    "historical",
    "family",
    "negated_share",
    "procedure_mention",
    "finding_mention",
    "mention_words",
    "rank_in_mention",
    "association_strength",
    "association_support",
    "association_words",
    "association_grams",
    "association_only",
    "prior",
    "category_prior",
    "code_characters",
    "symptom_code",
    "z_code",
    "pcs_code",
    "chapter",
    "unspecified_title",
    "unspecified_beside_sibling",
    "other_title",
    "category_competitors",
    "mention_competitors",
    "chart_lists_diagnoses",
    "listed",
    "asked_for_by_note",
)
# Routes that read a code from the chart's own words, not from similarity.
FOUND_BY_WORDS = frozenset({"index", "table", "phrase", "statement", "status"})
# Where a physician lists the diagnoses (the discharge diagnoses, the assessment): a chart
# that has such a list codes from it, and what only the narrative mentions seldom counts.
LISTING_SECTIONS = frozenset({"diagnoses", "assessment"})
_ASSERTION_ORDER: tuple[Assertion, ...] = ("present", "uncertain", "historical", "family")


@dataclass
class CodeFinding:
    """Everything found for one code in one chart."""

    code: str
    system: System
    title: str
    routes: dict[str, float] = field(default_factory=dict)
    best_score: float = 0.0
    mentions: list[int] = field(default_factory=list)
    best_mention: int | None = None
    rank_in_mention: int = 0
    mention_competitors: int = 0
    association: Association | None = None
    gram: Gram | None = None
    association_grams: int = 0
    evidence: list[Span] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)
    negated_mentions: int = 0
    stated: bool = False  # a sentence states the code's title word for word
    asked_for: bool = False  # a note of another code the chart's words found asks for it

    @property
    def assertion(self) -> Assertion:
        """How the chart asserts the concept: present when any evidence is plain."""
        if "negated" in self.flags:
            return "negated"
        for assertion in _ASSERTION_ORDER[1:]:
            if assertion in self.flags:
                return assertion
        return "present"


def gather(
    chart: Chart,
    mentions: Sequence[Mention],
    candidates: Sequence[Candidate],
    history: LearnedHistory | None,
    store: KnowledgeStore,
    systems: Collection[System] = ("cm", "pcs"),
) -> list[CodeFinding]:
    """One finding per billable code of `systems` that some route proposes for the chart."""
    findings: dict[str, CodeFinding] = {}
    per_mention: dict[int, list[Candidate]] = {}
    for candidate in candidates:
        per_mention.setdefault(candidate.mention_index, []).append(candidate)
    for index, found in per_mention.items():
        mention = mentions[index]
        found.sort(key=lambda c: -c.score)
        for rank, candidate in enumerate(found):
            if not candidate.billable or candidate.system not in systems:
                continue
            finding = findings.setdefault(
                candidate.code, CodeFinding(candidate.code, candidate.system, candidate.title)
            )
            _add_mention(finding, mention, index, candidate, rank, len(found))
    _add_whole_sentences(chart, store, systems, findings)
    if history is not None:
        _add_associations(chart, history, store, systems, findings)
    _mark_asked_for(store, findings)
    return list(findings.values())


def _mark_asked_for(store: KnowledgeStore, findings: dict[str, CodeFinding]) -> None:
    """E11.22's "use additional code to identify the stage of chronic kidney disease" makes
    the N18.- beside it likelier (I.A.13, I.B.7)."""
    for asking in findings.values():
        if asking.system != "cm" or not FOUND_BY_WORDS & asking.routes.keys():
            continue
        refs = asked_for(store.notes_with_inherited(asking.code, "cm"))
        if not refs:
            continue
        # A reference covers only codes whose first letter lies in its range: most findings
        # are skipped without a range comparison (a long chart has hundreds of them).
        letters = {
            chr(letter)
            for ref in refs
            if ref.low and ref.high
            for letter in range(ord(ref.low[0]), ord(ref.high[0]) + 1)
        }
        for finding in findings.values():
            if (
                finding is not asking
                and finding.system == "cm"
                and finding.code[:1] in letters
                and covered(refs, finding.code)
            ):
                finding.asked_for = True


MAX_SENTENCE_WORDS = 40


def _add_whole_sentences(
    chart: Chart,
    store: KnowledgeStore,
    systems: Collection[System],
    findings: dict[str, CodeFinding],
) -> None:
    """A sentence that is, word for word, a code's title, inclusion term or index phrase
    ("Displaced fracture of lateral malleolus of right fibula, initial encounter for closed
    fracture") names that code whole: the mentions inside it only name its parts."""
    for sentence in chart.sentences:
        quote = chart.text[sentence.start : sentence.end].strip()
        start = chart.text.index(quote, sentence.start) if quote else sentence.start
        phrase = quote.rstrip(".;: ")
        if not phrase or len(phrase.split()) > MAX_SENTENCE_WORDS:
            continue
        for code, source in store.phrase_codes(phrase):
            record = store.get(code)
            if record is None or not record.billable or record.system not in systems:
                continue
            finding = findings.setdefault(code, CodeFinding(code, record.system, record.title))
            finding.routes["phrase"] = 1.0
            finding.best_score = max(finding.best_score, 1.0)
            finding.stated = True
            span = chart.quote(start, start + len(phrase))
            if span not in finding.evidence:
                finding.evidence.insert(0, span)
            label = f"Exact phrase: {record.code} {record.title}"
            if source not in {c.source_id for c in finding.citations}:
                finding.citations.append(Citation(source_id=source, label=label))


def _add_mention(
    finding: CodeFinding, mention: Mention, index: int, candidate: Candidate, rank: int, n: int
) -> None:
    for route, score in (candidate.routes or {candidate.via: candidate.score}).items():
        finding.routes[route] = max(finding.routes.get(route, 0.0), score)
    if finding.best_mention is None or candidate.score > finding.best_score:
        finding.best_mention, finding.rank_in_mention = index, rank
        finding.mention_competitors = n - 1
    finding.best_score = max(finding.best_score, candidate.score)
    finding.mentions.append(index)
    finding.negated_mentions += mention.negated
    if mention.span not in finding.evidence:
        finding.evidence.append(mention.span)
    known = {c.source_id for c in finding.citations}
    finding.citations += [c for c in candidate.citations if c.source_id not in known]
    flags = _mention_flags(mention)
    if candidate.via == "status":
        # "h/o CABG", "FHx colon cancer": the history or status is itself what the Z code
        # reports, so only negation (and a relative's medication) keeps it from a claim.
        keep = {"negated", "family"} if mention.kind == "status" else {"negated"}
        flags &= keep
    finding.flags = _merge_flags(finding, flags)


def _mention_flags(mention: Mention) -> set[str]:
    names = ("negated", "uncertain", "historical", "family")
    return {name for name in names if getattr(mention, name)}


def _merge_flags(finding: CodeFinding, flags: set[str]) -> set[str]:
    """A code is as certain as its plainest evidence: one unflagged mention makes it present.
    Between two flagged mentions, what they share; else what they say that the condition
    exists somewhere (a relative's, a past one) beats a negation: "brother had prostate
    cancer" and "screening for prostate cancer" is a family history; and a negation beats an
    uncertainty ("r/o sepsis", then "sepsis ruled out")."""
    if len(finding.evidence) <= 1:
        return flags
    if not finding.flags or not flags:
        return set()
    shared = finding.flags & flags
    if shared:
        return shared
    # "Admitted to r/o sepsis ... sepsis ruled out": the workup settled the uncertainty.
    affirmed = (finding.flags | flags) - {"negated", "uncertain"}
    return affirmed or ({"negated"} if "negated" in finding.flags | flags else {"uncertain"})


def _add_associations(
    chart: Chart,
    history: LearnedHistory,
    store: KnowledgeStore,
    systems: Collection[System],
    findings: dict[str, CodeFinding],
) -> None:
    best: dict[str, tuple[Gram, Association]] = {}
    grams_per_code: Counter[str] = Counter()
    directed = [(d.start, d.end) for d in chart.directed]
    for gram, association in history.matches(chart.text):
        if any(start < gram.end and gram.start < end for start, end in directed):
            continue  # words addressed to the software are not documentation
        grams_per_code[association.code] += 1
        current = best.get(association.code)
        # Ties go to the longer, better supported, earlier n-gram: the same on every run.
        if current is None or _association_rank(gram, association) > _association_rank(*current):
            best[association.code] = (gram, association)
    for code, (gram, association) in best.items():
        finding = findings.get(code)
        if finding is None:
            record = store.get(code)
            if record is None or not record.billable or record.system not in systems:
                continue
            finding = findings[code] = CodeFinding(code, record.system, record.title)
            finding.evidence.append(chart.quote(gram.start, gram.end))
            finding.flags = set(span_flags(chart, gram.start, gram.end))
        finding.association, finding.gram = association, gram
        finding.association_grams = grams_per_code[code]


def _association_rank(gram: Gram, association: Association) -> tuple[float, int, int, int]:
    return (association.strength, gram.words, association.support, -gram.start)


def features(
    finding: CodeFinding,
    mentions: Sequence[Mention],
    history: LearnedHistory | None,
    category_counts: Counter[str],
    lists_diagnoses: bool = False,
    found_counts: Counter[str] | None = None,
) -> list[float]:
    """The finding as numbers, in the order of FEATURES."""
    mention = mentions[finding.best_mention] if finding.best_mention is not None else None
    association = finding.association
    title = finding.title.lower()
    code = finding.code
    values = [
        *(finding.routes.get(route, 0.0) for route in ROUTES),
        float(sum(route in finding.routes for route in ROUTES)),
        finding.best_score,
        math.log1p(len(finding.mentions)),
        SECTION_WEIGHT.get(mention.section, 0.8) if mention else 0.0,
        float("negated" in finding.flags),
        float("uncertain" in finding.flags),
        float("historical" in finding.flags),
        float("family" in finding.flags),
        finding.negated_mentions / len(finding.mentions) if finding.mentions else 0.0,
        float(mention is not None and mention.kind == "procedure"),
        float(mention is not None and mention.kind == "finding"),
        float(len(mention.text.split())) if mention else 0.0,
        float(finding.rank_in_mention),
        association.strength if association else 0.0,
        math.log1p(association.support) if association else 0.0,
        float(finding.gram.words) if finding.gram else 0.0,
        math.log1p(finding.association_grams),
        float(mention is None),
        math.log1p(history.code_charts[code]) if history else 0.0,
        math.log1p(history.category_charts(code)) if history else 0.0,
        float(len(code.replace(".", ""))),
        float(code.startswith("R")),
        float(code.startswith("Z")),
        float(finding.system == "pcs"),
        float(ord(code[0])),
        # "X, unspecified" leaves an axis the chart may document (side, type); a title that
        # starts "Unspecified ..." is the category's own default ("Unspecified acute
        # appendicitis").
        float("unspecified" in title and not title.startswith("unspecified")),
        # An unspecified code is wrong beside a specific sibling the chart's words found (I.B.18),
        # never for being unspecified: "Acute appendicitis" is K35.80.
        float("unspecified" in title and (found_counts or category_counts)[code[:3]] > 1),
        float(title.startswith("other")),
        float(category_counts[code[:3]] - 1),
        float(finding.mention_competitors),
        float(lists_diagnoses),
        float(any(mentions[i].section in LISTING_SECTIONS for i in finding.mentions)),
        float(finding.asked_for),
    ]
    return values


def feature_rows(
    findings: Sequence[CodeFinding], mentions: Sequence[Mention], history: LearnedHistory | None
) -> list[list[float]]:
    categories = Counter(f.code[:3] for f in findings)
    found = Counter(f.code[:3] for f in findings if FOUND_BY_WORDS & f.routes.keys())
    lists = any(m.section in LISTING_SECTIONS for m in mentions)
    return [features(f, mentions, history, categories, lists, found) for f in findings]
