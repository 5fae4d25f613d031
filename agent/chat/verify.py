"""Every citation in an answer is checked before the answer is shown: a chart quote must
equal the chart's text at its offsets, a knowledge-base source must exist in the chart's
code set, a guideline section must be one the rules know. What fails is removed, counted,
and the answer says so."""

from __future__ import annotations

from agent.chat.model import ChartQuote, ChatAnswer, ChatCitation, ChatContext, KbSource
from agent.rules.guidelines import SECTION_TOPICS

# The source kinds that name one code, and the code's system.
CODE_SOURCES = {"tabular": "cm", "pcs_table": "pcs"}


def checks_out(citation: ChatCitation, context: ChatContext) -> bool:
    if isinstance(citation, ChartQuote):
        text = context.chart.text
        return 0 <= citation.start < citation.end <= len(text) and (
            text[citation.start : citation.end] == citation.quote
        )
    if isinstance(citation, KbSource):
        return context.store.source_exists(citation.source_id)
    return citation.section_id in SECTION_TOPICS


def titled(citation: ChatCitation, context: ChatContext) -> ChatCitation:
    """A code citation with the code's title in the chart's code set (other kinds as given)."""
    if not isinstance(citation, KbSource) or citation.title:
        return citation
    kind, _, code = citation.source_id.partition(":")
    if kind not in CODE_SOURCES:
        return citation
    record = context.store.get(code, CODE_SOURCES[kind])
    return citation.model_copy(update={"title": record.title}) if record else citation


def verify(answer: ChatAnswer, context: ChatContext) -> ChatAnswer:
    """The answer with only citations that check out; a removed one is flagged in the text."""
    kept = [titled(c, context) for c in answer.citations if checks_out(c, context)]
    removed = len(answer.citations) - len(kept)
    unique = [c for i, c in enumerate(kept) if c not in kept[:i]]  # one of each
    if not removed:
        return answer.model_copy(update={"citations": unique})
    note = (
        f"\n\n[{removed} citation(s) could not be verified against the chart or the "
        "knowledge base and were removed; check this answer before relying on it.]"
    )
    return answer.model_copy(
        update={
            "citations": unique,
            "unverified": answer.unverified + removed,
            "text": answer.text + note,
        }
    )
