"""What the chat model is shown of one question: the context, the question, the history and
the prompt's metadata lines, either as they are or, with a de-identifier, as a scrubbed twin.

The twin is a whole ChatContext over the scrubbed chart (rebuilt with `build_chart`, same
meta and fiscal year), its proposals' evidence moved to scrubbed offsets and every free text
scrubbed, so the tool conversation runs against it unchanged and every chart quote the model
reads or gives is in scrubbed coordinates; `to_chart` takes such a quote back to the real
chart. Sentences addressed to the software in the real chart stay so in the twin (a
placeholder must not turn one back into patient text).

Everything is scrubbed in one call, the chart first and the free texts after it: a name the
chart gives away ("Patient: Jane Roe") is then replaced in a question that names the patient
without any context ("is Jane Roe's pneumonia documented?") and in earlier answers too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from agent.chart import build_chart
from agent.chat.model import ChatContext, DroppedView, ProposalView, Turn
from agent.deid import Scrubbed
from agent.models import Chart, Span
from agent.proposers.base import ProposerError

Deidentifier = Callable[[str], Scrubbed]
# Between the texts scrubbed together: a blank line, which no rule of agent.deid reads
# across (they allow one line break at most); offsets, not this, split them again.
SEPARATOR = "\n\n"


@dataclass(frozen=True)
class Shown:
    """The context, question, history (its last turns), metadata lines and reading of the
    question as the model sees them."""

    context: ChatContext
    question: str
    history: list[Turn]
    metadata: str
    reading: str
    # A span of `context.chart` as the real chart's offsets (the identity when not scrubbed).
    to_chart: Callable[[int, int], tuple[int, int]]


def _same(start: int, end: int) -> tuple[int, int]:
    return start, end


def as_is(
    question: str, context: ChatContext, history: list[Turn], metadata: str, reading: str
) -> Shown:
    return Shown(context, question, history, metadata, reading, _same)


def scrubbed(
    question: str,
    context: ChatContext,
    history: list[Turn],
    metadata: str,
    reading: str,
    deidentifier: Deidentifier,
) -> Shown:
    """The scrubbed twin; ProposerError naming only the exception type when the
    de-identifier fails (its message may quote the chart), before anything is sent."""
    chart = context.chart
    texts = [chart.text, metadata, question, reading]
    for turn in history:
        texts += [turn.question, turn.answer.text]
    for proposal in context.proposals:
        texts += [proposal.title, proposal.rationale, proposal.reason or "", *proposal.warnings]
    texts += [d.reason for d in context.dropped]
    try:
        whole, parts = _scrub_together(deidentifier, texts)
    except Exception as exc:  # whatever it raised, nothing may leave unscrubbed
        # `from None`: the cause may quote the chart, and tracebacks end up in logs.
        raise ProposerError(
            f"de-identification failed ({type(exc).__name__}); nothing was sent to the model"
        ) from None
    take = iter(parts).__next__
    text, metadata, question, reading = take(), take(), take(), take()
    size, twin_size = len(chart.text), len(text)

    def to_chart(start: int, end: int) -> tuple[int, int]:
        low, high = whole.to_original(start, end)
        return min(low, size), min(high, size)

    def to_twin(start: int, end: int) -> tuple[int, int]:
        low, high = whole.to_scrubbed(start, end)
        return min(low, twin_size), min(high, twin_size)

    turns = []
    for turn in history:
        asked, said = take(), take()
        # Only what the prompt reads of an earlier answer; its citations quote the real chart.
        answer = turn.answer.model_copy(update={"text": said, "citations": [], "phrase": None})
        turns.append(Turn(question=asked, answer=answer))
    twin = _twin_chart(chart, text, to_twin)
    proposals = [_proposal(p, twin, to_twin, take) for p in context.proposals]
    dropped = [DroppedView(code=d.code, reason=take()) for d in context.dropped]
    twin_context = ChatContext(
        chart=twin,
        store=context.store,
        searcher=context.searcher,
        find_codes=context.find_codes,
        proposals=proposals,
        dropped=dropped,
        lexicon=context.lexicon,
    )
    return Shown(twin_context, question, turns, metadata, reading, to_chart)


def _scrub_together(deidentifier: Deidentifier, texts: list[str]) -> tuple[Scrubbed, list[str]]:
    """One scrub of every text joined (the chart first, at offset 0), and each text's part."""
    whole = deidentifier(SEPARATOR.join(texts))
    parts, at = [], 0
    for text in texts:
        # An identifier across an edge is replaced whole in both parts: nothing of it shows.
        low, high = whole.to_scrubbed(at, at + len(text))
        parts.append(whole.text[low:high])
        at += len(text) + len(SEPARATOR)
    return whole, parts


def _overlaps(span: Span, start: int, end: int) -> bool:
    return span.start < end and start < span.end


def _twin_chart(chart: Chart, text: str, to_twin: Callable[[int, int], tuple[int, int]]) -> Chart:
    built = build_chart(text, chart.meta, chart.chart_id)
    held = []
    for span in chart.directed:
        start, end = to_twin(span.start, span.end)
        held.append(Span(start=start, end=end, quote=text[start:end]))
    directed = sorted(
        {(d.start, d.end): d for d in [*built.directed, *held] if d.end > d.start}.values(),
        key=lambda d: (d.start, d.end),
    )
    sentences = [s for s in built.sentences if not any(_overlaps(d, s.start, s.end) for d in held)]
    return built.model_copy(
        update={"directed": directed, "sentences": sentences, "fiscal_year": chart.fiscal_year}
    )


def _proposal(
    proposal: ProposalView,
    twin: Chart,
    to_twin: Callable[[int, int], tuple[int, int]],
    take: Callable[[], str],
) -> ProposalView:
    title, rationale, reason = take(), take(), take()
    warnings = [take() for _ in proposal.warnings]
    evidence = []
    for span in proposal.evidence:
        start, end = to_twin(span.start, span.end)
        evidence.append(Span(start=start, end=end, quote=twin.text[start:end]))
    return proposal.model_copy(
        update={
            "title": title,
            "rationale": rationale,
            "reason": reason if proposal.reason is not None else None,
            "warnings": warnings,
            "evidence": evidence,
        }
    )
