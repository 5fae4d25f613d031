"""The offline answerer: each kind of question answered from the chart, its proposals and
the knowledge base with no model at all. Short plain text; the citations carry the rest."""

from __future__ import annotations

import re

from agent.chat import tools
from agent.chat.intent import Question, classify
from agent.chat.model import (
    ChartQuote,
    ChatAnswer,
    ChatCitation,
    ChatContext,
    KbSource,
    ProposalView,
    RuleSource,
    Turn,
)
from agent.chat.verify import verify
from agent.mentions import span_flags
from agent.rules import excludes1_with
from agent.rules.guidelines import EXCLUDES1, SECTION_TOPICS, UNSPECIFIED
from retrieval.records import CodeRecord, Note

HYPERTENSION = "I.C.9.a"
# A question about how to code (a guideline's matter) rather than what the chart says.
_CODING_WORDS = re.compile(
    r"\b(?:code[ds]?|coding|report(?:ed)?|sequenc\w*|assign\w*|bill\w*)\b", re.I
)
_FAMILY = re.compile(r"\b(?:family|relatives?|mother|father|sister|brother|sibling)", re.I)

CAN_ANSWER = (
    'why or where a code is proposed or was dropped ("why I50.23?"); what the chart says '
    'about a condition ("is sepsis mentioned?"); the code for a diagnosis or procedure '
    '("code for diabetic gastroparesis"); code-set rules ("can I code I10 with I12.9?", '
    '"Excludes1 notes for K35", "what must be coded first with F02.80?", "7th character '
    'for a healing fracture"); guideline sections ("what does the guideline say about '
    'uncertain diagnoses?")'
)
_NOTE_KINDS = {
    "excludes1": ("excludes1",),
    "excludes2": ("excludes2",),
    "excludes": ("excludes1", "excludes2"),
    "code_first": ("code_first",),
    "use_additional": ("use_additional_code",),
    "code_also": ("code_also",),
    "includes": ("includes", "inclusion_term"),
    "seventh": ("seven_chr_note", "seven_chr_def"),
    "notes": (),
}
_KIND_NAMES = {
    "excludes1": "Excludes1",
    "excludes2": "Excludes2",
    "code_first": "Code first",
    "use_additional_code": "Use additional code",
    "code_also": "Code also",
    "includes": "Includes",
    "inclusion_term": "Inclusion term",
    "seven_chr_note": "7th character",
    "seven_chr_def": "7th character",
    "note": "Note",
}
_STATUS = {
    "pending": "proposed, not decided yet",
    "accepted": "proposed and accepted by the coder",
    "rejected": "proposed and rejected by the coder",
    "modified": "proposed and changed by the coder",
    "added": "added by a coder",
}


def answer_offline(question: str, context: ChatContext, history: list[Turn]) -> ChatAnswer:
    """The answer to `question` about the chart in `context`, verified."""
    asked = classify(question, history)
    answer = {
        "why": _why,
        "find_in_chart": _find_in_chart,
        "find_code": _find_code,
        "code_rules": _code_rules,
        "guideline": _guideline,
        "open": _open,
    }[asked.kind](asked, context)
    return verify(answer, context)


def _quote(context: ChatContext, start: int, end: int) -> ChartQuote:
    flags = span_flags(context.chart, start, end)
    return ChartQuote(
        start=start, end=end, quote=context.chart.text[start:end], flags=sorted(flags)
    )


def _in_sentence(context: ChatContext, start: int, end: int) -> ChartQuote:
    """The whole sentence around a proposal's evidence (the words around a quote are what
    a coder checks), flagged as the evidence itself reads. Not negated: the agent judged the
    mention affirmed when it proposed the code, and a phrase-level reading of a status cue
    ("without complications, on insulin") would contradict it wrongly."""
    chart = context.chart
    sentence = next((s for s in chart.sentences if s.start <= start < s.end), None)
    lo, hi = (sentence.start, sentence.end) if sentence else (start, end)
    lo, hi = min(lo, start), max(hi, end)
    while hi > lo and chart.text[hi - 1].isspace():
        hi -= 1
    flags = span_flags(chart, start, end) - {"negated"}
    return ChartQuote(start=lo, end=hi, quote=chart.text[lo:hi], flags=sorted(flags))


def _flagged(quote: ChartQuote) -> str:
    marks = f" [{', '.join(quote.flags)}]" if quote.flags else ""
    return f'"{quote.quote}" (at {quote.start}-{quote.end}){marks}'


def _why(asked: Question, context: ChatContext) -> ChatAnswer:
    lines: list[str] = []
    citations: list[ChatCitation] = []
    for code in asked.codes[:2]:
        proposal = tools.find_proposal(context, code)
        if proposal is not None:
            lines += _explain(proposal, context, citations)
            continue
        dropped = tools.find_dropped(context, code)
        record = tools.code_record(context, code)
        title = f" {record.title}" if record else ""
        if dropped is not None:
            lines.append(f"{code}{title} was considered and dropped: {dropped.reason}")
        else:
            lines.append(f"{code}{title} is not among this chart's proposals or dropped codes.")
        if record is not None:
            citations.append(KbSource(source_id=record.source_id, label=record.code))
    codes = list(asked.codes)
    if not codes and asked.subject:
        # "why did you propose it?" after a search of the chart: the proposals about it
        for proposal in tools.proposals_about(context, asked.subject):
            lines += _explain(proposal, context, citations)
            codes.append(proposal.code)
        if not codes:
            lines.append(f"No proposal of this chart is about {asked.subject}.")
    elif not codes:
        lines.append('Which code? Name it, e.g. "why I50.23?".')
    return ChatAnswer(kind="why", text="\n".join(lines), citations=citations, codes=codes)


def _explain(
    proposal: ProposalView, context: ChatContext, citations: list[ChatCitation]
) -> list[str]:
    status = _STATUS.get(proposal.status, proposal.status)
    if proposal.status == "modified" and proposal.final_code:
        status += f" to {proposal.final_code}"
    if proposal.reason:
        status += f" (reason: {proposal.reason})"
    head = f"{proposal.code} {proposal.title}: {status}"
    if proposal.confidence is not None:
        head += f", confidence {proposal.confidence:.2f}"
    lines = [head + "."]
    if proposal.principal:
        lines.append("It is proposed as the principal (first-listed) diagnosis.")
    if proposal.rationale:
        lines.append(f"Why: {proposal.rationale}")
    if proposal.evidence:
        lines.append("The chart supports it at:")
        shown: list[ChartQuote] = []
        for span in proposal.evidence:
            quote = _in_sentence(context, span.start, span.end)
            if quote in shown:
                continue
            shown.append(quote)
            citations.append(quote)
            lines.append(f"- {_flagged(quote)}")
    for path, source in tools.index_paths(context, proposal.code, limit=1):
        lines.append(f"Alphabetic Index: {path}")
        citations.append(KbSource(source_id=source, label="index"))
    for citation in proposal.citations:
        citations.append(KbSource(source_id=citation.source_id, label=citation.label))
    if proposal.warnings:
        lines.append("Warnings: " + "; ".join(proposal.warnings))
    return lines


def _find_in_chart(asked: Question, context: ChatContext) -> ChatAnswer:
    subject = asked.subject or " ".join(asked.codes)
    if not subject:
        return ChatAnswer(
            kind="find_in_chart",
            text='What should I look for in the chart? e.g. "is sepsis mentioned?"',
        )
    concepts = tools.question_concepts(context, asked.text, subject)
    quotes = tools.search_chart(context, subject, concepts=concepts)
    if _FAMILY.search(asked.text):  # "in the family", "any relatives": those passages
        quotes = [q for q in quotes if "family" in q.flags] or quotes
    subject = concepts[0] if concepts and not asked.follow_up else subject
    if not quotes:
        searched = ", ".join(tools.expand_terms(subject))
        return ChatAnswer(
            kind="find_in_chart",
            text=f"The chart does not mention {subject} (searched for: {searched}).",
            phrase=subject,
        )
    plain = [q for q in quotes if not q.flags]
    if plain:
        head = f"Yes: {subject} is mentioned in {len(quotes)} passage(s)."
    else:
        kinds = sorted({flag for q in quotes for flag in q.flags})
        head = f"{subject} is mentioned only as {' / '.join(kinds)} ({len(quotes)} passage(s))."
    lines = [head, *(f"- {_flagged(q)}" for q in quotes)]
    return ChatAnswer(
        kind="find_in_chart", text="\n".join(lines), citations=list(quotes), phrase=subject
    )


def _find_code(asked: Question, context: ChatContext) -> ChatAnswer:
    phrase = asked.subject
    if not phrase:
        return ChatAnswer(
            kind="find_code", text='The code for what? e.g. "code for diabetic gastroparesis".'
        )
    hits = context.find_codes(phrase)[:5]
    if not hits:
        return ChatAnswer(kind="find_code", text=f"No code found for {phrase!r}.", phrase=phrase)
    lines = [f"Codes for {phrase!r}, most likely first:"]
    citations: list[ChatCitation] = []
    for hit in hits:
        billable = "billable" if hit.billable else "not billable (a heading)"
        line = f"- {hit.code} {hit.title} ({billable})"
        record = tools.code_record(context, hit.code or "")
        if record is not None:
            citations.append(KbSource(source_id=record.source_id, label=hit.code or ""))
        for path, source in tools.index_paths(context, hit.code or "", limit=1):
            line += f"; Index: {path}"
            citations.append(KbSource(source_id=source, label="index"))
        lines.append(line)
    codes = [h.code for h in hits if h.code]
    return ChatAnswer(
        kind="find_code", text="\n".join(lines), citations=citations, codes=codes, phrase=phrase
    )


def _code_rules(asked: Question, context: ChatContext) -> ChatAnswer:
    codes = asked.codes
    if asked.topic == "together" and len(codes) >= 2:
        return _together(codes[0], codes[1], context)
    if asked.topic == "billable" and codes:
        return _billable(codes, context)
    if asked.topic == "seventh" and not codes:
        return _section_answer("code_rules", asked.text, ["I.C.19.a", "I.A.5"])
    if not codes:
        return ChatAnswer(kind="code_rules", text='Which code? e.g. "Excludes1 notes for K35".')
    lines: list[str] = []
    citations: list[ChatCitation] = []
    kinds = _NOTE_KINDS.get(asked.topic or "notes", ())
    for code in codes[:2]:
        record = tools.code_record(context, code)
        if record is None:
            lines.append(f"{code} is not a code of this chart's code set.")
            continue
        notes = tools.notes_of(context, record.code, kinds)
        if asked.topic == "seventh":
            notes = _matching_seventh(notes, asked.text)
        billable = "billable" if record.billable else "not billable: report a code below it"
        lines.append(f"{record.code} {record.title} ({billable}).")
        citations.append(KbSource(source_id=record.source_id, label=record.code))
        if not notes:
            wanted = _KIND_NAMES.get(kinds[0], "instructional") if kinds else "instructional"
            lines.append(f"No {wanted} notes apply to {record.code}, its own or inherited.")
        for note in notes:
            where = "" if note.defined_at == record.code else f" (inherited from {note.defined_at})"
            name = _KIND_NAMES.get(note.kind, note.kind)
            lines.append(f"- {name}{where}: {note.text.strip()}")
            if note.defined_at != record.code:
                owner = context.store.get(note.defined_at, record.system)
                if owner is not None:
                    citations.append(KbSource(source_id=owner.source_id, label=note.defined_at))
    return ChatAnswer(kind="code_rules", text="\n".join(lines), citations=citations, codes=codes)


_SEVENTH_WORDS = (
    "routine healing",
    "delayed healing",
    "nonunion",
    "malunion",
    "sequela",
    "initial",
    "subsequent",
)


def _matching_seventh(notes: list[Note], question: str) -> list[Note]:
    """The 7th-character values the question describes (healing, nonunion, sequela, ...),
    else all of them."""
    asked = question.lower()
    words = [w for w in _SEVENTH_WORDS if w in asked]
    if "healing" in asked and not any("healing" in w for w in words):
        words.append("routine healing")
    picked = [
        n for n in notes if n.kind == "seven_chr_def" and any(w in n.text.lower() for w in words)
    ]
    return picked or notes


def _billable(codes: list[str], context: ChatContext) -> ChatAnswer:
    lines: list[str] = []
    citations: list[ChatCitation] = []
    for code in codes[:2]:
        record = tools.code_record(context, code)
        if record is None:
            lines.append(f"{code} is not a code of this chart's code set.")
            continue
        citations.append(KbSource(source_id=record.source_id, label=record.code))
        if record.billable:
            lines.append(f"Yes: {record.code} {record.title} is billable (a complete code).")
            continue
        below = [c.code for c in context.store.children(record.code, record.system)]
        lines.append(
            f"No: {record.code} {record.title} is not billable, it is a heading; report one "
            f"of the codes below it: {', '.join(below[:12])}" + (" ..." if len(below) > 12 else "")
        )
    return ChatAnswer(kind="code_rules", text="\n".join(lines), citations=citations, codes=codes)


def _same_category(first: CodeRecord, second: CodeRecord) -> CodeRecord | None:
    """The unspecified code of a same-category pair where the other is specific."""
    if first.code[:3] != second.code[:3] or first.code == second.code:
        return None
    for vague, other in ((first, second), (second, first)):
        title = vague.title.lower()
        vague_title = "unspecified" in title or "without complications" in title
        if vague_title and "unspecified" not in other.title.lower():
            return vague
    return None


def _together(first: str, second: str, context: ChatContext) -> ChatAnswer:
    records = [tools.code_record(context, code) for code in (first, second)]
    missing = [
        code for code, record in zip((first, second), records, strict=True) if record is None
    ]
    if missing:
        return ChatAnswer(
            kind="code_rules",
            text=f"{', '.join(missing)} is not a code of this chart's code set.",
            codes=[first, second],
        )
    a, b = records[0], records[1]
    assert a is not None and b is not None
    notes = {r.code: context.store.notes_with_inherited(r.code) for r in (a, b)}
    citations: list[ChatCitation] = [
        KbSource(source_id=a.source_id, label=a.code),
        KbSource(source_id=b.source_id, label=b.code),
    ]
    found = excludes1_with(a.code, b.code, notes)
    combined = _hypertension_combined(a.code, b.code)
    vague = _same_category(a, b)
    if vague is not None and found is None and combined is None:
        specific = b if vague is a else a
        citations.append(RuleSource(section_id=UNSPECIFIED, label="unspecified codes"))
        text = (
            f"No: {vague.code} is not reported beside {specific.code}, a more specific code of "
            f"the same category ({vague.code[:3]}); code only {specific.code}. "
            f"{SECTION_TOPICS[UNSPECIFIED]}"
        )
    elif combined is not None:
        citations.append(RuleSource(section_id=HYPERTENSION, label="hypertension"))
        text = (
            f"No: {combined} already classifies the hypertension, so I10 is not reported "
            f"beside it. {SECTION_TOPICS[HYPERTENSION]}"
        )
    elif found is not None:
        owner = context.store.get(found.defined_at, a.system)
        if owner is not None:
            citations.append(KbSource(source_id=owner.source_id, label=found.defined_at))
        citations.append(RuleSource(section_id=EXCLUDES1, label="Excludes1"))
        text = (
            f"No: {a.code} and {b.code} are not coded together. The Excludes1 note at "
            f"{found.defined_at} says: {found.text.strip()} - {SECTION_TOPICS[EXCLUDES1]}"
        )
    else:
        text = (
            f"Nothing in the Tabular forbids {a.code} with {b.code}: neither has an Excludes1 "
            "note naming the other (own or inherited). Both still need their own support in "
            "the chart, and a combination code, when one exists, replaces the pair."
        )
    return ChatAnswer(kind="code_rules", text=text, citations=citations, codes=[a.code, b.code])


def _hypertension_combined(first: str, second: str) -> str | None:
    """The hypertensive combination code (I11-I13, I15, I16) of a pair with I10, if any."""
    pair = {first[:3]: first, second[:3]: second}
    if "I10" not in pair:
        return None
    return next((pair[c] for c in ("I11", "I12", "I13", "I15", "I16") if c in pair), None)


def _guideline(asked: Question, context: ChatContext) -> ChatAnswer:
    topic = asked.subject or asked.text
    lines: list[str] = []
    citations: list[ChatCitation] = []
    for section, summary in tools.rule_sections(topic):
        lines.append(f"ICD-10-CM Official Guidelines {section}: {summary}")
        citations.append(RuleSource(section_id=section, label=section))
    for guideline in tools.guideline_sections(context, topic):
        lines.append(
            f"ICD-10-PCS Official Guidelines {guideline.section_id} ({guideline.title}): "
            f"{guideline.text.strip()}"
        )
        citations.append(KbSource(source_id=guideline.source_id, label=guideline.section_id))
    if not lines:
        lines.append(f"No guideline section on {topic!r} found.")
    return ChatAnswer(kind="guideline", text="\n".join(lines), citations=citations)


def _section_answer(kind: str, question: str, sections: list[str]) -> ChatAnswer:
    lines = [f"ICD-10-CM Official Guidelines {s}: {SECTION_TOPICS[s]}" for s in sections]
    citations: list[ChatCitation] = [RuleSource(section_id=s, label=s) for s in sections]
    return ChatAnswer(kind="code_rules", text="\n".join(lines), citations=citations)


def _open(asked: Question, context: ChatContext) -> ChatAnswer:
    if asked.fallback:
        # A question in words the classifier does not know: a guideline section that clearly
        # matches it, or the clinical concept it names in the chart, before refusing.
        about_coding = _CODING_WORDS.search(asked.text) is not None
        names_concept = context.lexicon is not None and bool(
            tools.question_concepts(context, asked.text, "")
        )
        if names_concept and not about_coding:
            return _find_in_chart(asked, context)
        if tools.rule_sections(asked.text, least=2):
            return _guideline(asked, context)
        if names_concept:
            return _find_in_chart(asked, context)
    return ChatAnswer(
        kind="open",
        refused=True,
        text=(
            "I cannot answer that offline: it needs a language model (configure one with "
            f"MEDCODER_LLM_BASE_URL and MEDCODER_LLM_MODEL). Offline I can answer: {CAN_ANSWER}."
        ),
    )
