"""The lookups a chat answer is built from, shared by the offline answerer and the LLM's
tools: passages of the chart, the chart's proposals and dropped codes, a code's record and
notes, its index paths, guideline sections."""

from __future__ import annotations

import re

from agent.chat.model import ChartQuote, ChatContext, DroppedView, ProposalView
from agent.mentions import span_flags
from agent.rules.guidelines import SECTION_TOPICS
from retrieval.records import CodeRecord, Guideline, Note

# Words a coder uses for a body system that the chart may say another way.
_SAME_AS: tuple[frozenset[str], ...] = tuple(
    frozenset(group)
    for group in (
        {"kidney", "kidneys", "renal", "nephro", "nephropathy", "ckd"},
        {"heart", "cardiac", "cardio", "coronary", "myocardial"},
        {"lung", "lungs", "pulmonary", "respiratory", "pneumonia"},
        {"liver", "hepatic", "hepato", "cirrhosis"},
        {"smoking", "smoker", "smokes", "tobacco", "cigarette", "cigarettes", "nicotine"},
        {"alcohol", "etoh", "drinking", "drinker"},
        {"sugar", "diabetes", "diabetic", "glucose", "hyperglycemia"},
        {"brain", "cerebral", "neurologic", "stroke"},
        {"blood pressure", "hypertension", "hypertensive"},
        {"sepsis", "septic", "septicemia"},
    )
)
_WORD = re.compile(r"[a-z0-9]+")


def _stem(word: str) -> str:
    return word[:5] if len(word) > 5 else word


def expand_terms(subject: str) -> list[str]:
    """The subject's own words plus, when it names a body system or habit in a word ("the
    kidneys", "smoking"), that system's other names; a named condition ("myocardial
    infarction", "lung cancer") is searched as written."""
    lowered = subject.lower().strip()
    terms = {lowered} if lowered else set()
    named = " ".join(w for w in _WORD.findall(lowered) if w not in _GENERAL_WORDS)
    for group in _SAME_AS:
        if named in group:
            terms |= group
    return sorted(terms)


# "kidney disease", "alcohol use": the system or habit is the subject, not a condition.
_GENERAL_WORDS = frozenset(
    {"disease", "diseases", "problem", "problems", "issue", "issues", "disorder", "disorders"}
    | {"function", "use", "status", "condition", "conditions", "the", "any", "of"}
)


# Words that put a passage in the past although no lexicon mention carries the flag.
_PAST = re.compile(r"\b(?:former|formerly|quit|ex-\w+|previously|remote|used to)\b", re.I)


def _pattern(term: str) -> re.Pattern[str]:
    # Each word of the term, by its stem ("kidneys" finds "kidney"), in order, close together.
    words = [re.escape(_stem(w)) for w in _WORD.findall(term.lower())]
    return re.compile(r"\b" + r"\w*\W{1,3}(?:\w+\W{1,3}){0,2}?".join(words) + r"\w*", re.IGNORECASE)


def question_concepts(context: ChatContext, question: str, subject: str) -> list[str]:
    """What to look for in the chart: the clinical phrases the agent's lexicon finds in the
    question ("a DVT", "sleep apnea") with their code-set wording ("deep vein thrombosis"),
    else the question's subject words."""
    concepts: list[str] = []
    if context.lexicon is not None:
        for start, end, kind in context.lexicon.match(question):
            if kind == "status":
                continue
            phrase = question[start:end]
            concepts.append(phrase)
            wording = context.lexicon.canonical(phrase)
            if wording and wording.lower() != phrase.lower():
                concepts.append(wording)
    return concepts or ([subject] if subject else [])


def _stems_of(text: str) -> list[str]:
    return [_stem(w) for w in _WORD.findall(text.lower()) if w not in _GENERAL_WORDS]


def _first_hit(text: str, stems: list[str]) -> tuple[int, int] | None:
    """Where the passage names every stem (any order): the span from the first to the last
    word found, or None when one is missing."""
    spans = []
    for word_stem in stems:
        found = re.search(r"\b" + re.escape(word_stem) + r"\w*", text, re.IGNORECASE)
        if found is None:
            return None
        spans.append(found.span())
    return min(a for a, _ in spans), max(b for _, b in spans)


def search_chart(
    context: ChatContext, subject: str, limit: int = 8, concepts: list[str] | None = None
) -> list[ChartQuote]:
    """The chart's sentences that name `subject` (or one of `concepts`, or another name of
    the body system asked about), in chart order, each flagged negated / uncertain /
    historical / family where it is so."""
    chart = context.chart
    terms = [t for c in (concepts or [subject]) for t in expand_terms(c)]
    wanted = [stems for t in terms if (stems := _stems_of(t))]
    found: list[ChartQuote] = []
    for sentence in chart.sentences:
        text = chart.text[sentence.start : sentence.end]
        hit = next((h for stems in wanted if (h := _first_hit(text, stems))), None)
        if hit is None:
            continue
        start, end = sentence.start, sentence.end
        while end > start and chart.text[end - 1].isspace():
            end -= 1
        flags = span_flags(chart, sentence.start + hit[0], sentence.start + hit[1])
        if _PAST.search(text):
            flags.add("historical")
        found.append(
            ChartQuote(start=start, end=end, quote=chart.text[start:end], flags=sorted(flags))
        )
        if len(found) >= limit:
            break
    return found


def find_proposal(context: ChatContext, code: str) -> ProposalView | None:
    """The chart's proposal of `code` (or one a coder changed to it)."""
    wanted = code.upper()
    return next(
        (p for p in context.proposals if wanted in (p.code, (p.final_code or "").upper())), None
    )


def proposals_about(context: ChatContext, subject: str) -> list[ProposalView]:
    """The proposals whose title or evidence mentions `subject` ("sepsis")."""
    patterns = [_pattern(t) for t in expand_terms(subject) if _WORD.search(t)]
    if not patterns:
        return []

    def about(proposal: ProposalView) -> bool:
        texts = [proposal.title, *(span.quote for span in proposal.evidence)]
        return any(p.search(text) for p in patterns for text in texts)

    return [p for p in context.proposals if about(p)][:2]


def find_dropped(context: ChatContext, code: str) -> DroppedView | None:
    return next((d for d in context.dropped if d.code.upper() == code.upper()), None)


def code_record(context: ChatContext, code: str) -> CodeRecord | None:
    """The code in the chart's code set, CM or PCS by its form."""
    code = code.upper()
    system = "pcs" if len(code) == 7 and "." not in code and code[0].isdigit() else "cm"
    return context.store.get(code, system) or context.store.get(code, "cm")


def notes_of(context: ChatContext, code: str, kinds: tuple[str, ...] = ()) -> list[Note]:
    """The code's instructional notes with those it inherits (each says where it is
    defined), only `kinds` when given."""
    record = code_record(context, code)
    if record is None:
        return []
    notes = context.store.notes_with_inherited(record.code)
    return [n for n in notes if not kinds or n.kind in kinds]


def index_paths(context: ChatContext, code: str, limit: int = 3) -> list[tuple[str, str]]:
    """(path as the Index reads it, source id) of the entries that lead to the code."""
    entries = context.store.index_entries_for(code.upper())
    return [(", ".join(e.path), e.source_id) for e in entries[:limit]]


# Words every guideline question has; they would match every section.
_GENERIC = frozenset(
    {"diagn", "guide", "offic", "secti", "rule", "rules", "code", "codes", "codin", "versu"}
    | {"betwe", "about", "what", "does", "with", "when", "which", "there", "shoul", "pcs"}
)


def _topic_stems(topic: str) -> set[str]:
    stems = {_stem(w) for w in _WORD.findall(topic.lower()) if len(w) > 3}
    return stems - _GENERIC


def guideline_sections(context: ChatContext, topic: str, limit: int = 3) -> list[Guideline]:
    """Guideline sections in the knowledge base whose title or text match every
    significant word of `topic`."""
    words = _topic_stems(topic)
    if not words:
        return []
    scored = []
    for guideline in context.store.guidelines():
        text = f"{guideline.title} {guideline.text}".lower()
        stems = {_stem(w) for w in _WORD.findall(text)}
        overlap = len(words & stems)
        if overlap:
            scored.append((overlap / len(words), -len(text), guideline))
    scored.sort(key=lambda item: (-item[0], -item[1]))
    whole = [g for score, _, g in scored[:limit] if score >= 1.0]
    return whole or [g for score, _, g in scored[:1] if score >= 0.5]


def rule_sections(topic: str, limit: int = 3, least: int = 1) -> list[tuple[str, str]]:
    """(section id, what it says) of the CM guideline sections the rules apply, best
    matching `topic` first."""
    words = _topic_stems(topic)
    scored = []
    for section, summary in SECTION_TOPICS.items():
        stems = {_stem(w) for w in _WORD.findall(summary.lower())}
        overlap = len(words & stems)
        if overlap >= least:
            scored.append((-overlap, section, summary))
    scored.sort()
    return [(section, summary) for _, section, summary in scored[:limit]]
