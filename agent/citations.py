"""Checks that what a proposal quotes is in the chart and what it cites is in the KB."""

from __future__ import annotations

import re
from collections.abc import Iterable

from agent.models import Citation, Span
from retrieval.store import KnowledgeStore


def verify_span(chart_text: str, span: Span) -> Span | None:
    """The span as it really is in `chart_text`, or None when the quote is not there.

    Models often quote the right words at the wrong offsets, so a quote found elsewhere is
    moved to the occurrence nearest the given start; a quote that differs only in case or
    whitespace is matched too, and its `quote` becomes the chart's own text."""
    quote = span.quote
    if not quote.strip():
        return None
    if span.start <= span.end <= len(chart_text) and chart_text[span.start : span.end] == quote:
        return span
    exact = [m.start() for m in re.finditer(re.escape(quote), chart_text)]
    if exact:
        start = _nearest(exact, span.start)
        return Span(start=start, end=start + len(quote), quote=quote)
    pattern = r"\s+".join(re.escape(word) for word in quote.split())
    loose = [(m.start(), m.end()) for m in re.finditer(pattern, chart_text, re.IGNORECASE)]
    if not loose:
        return None
    start = _nearest([s for s, _ in loose], span.start)
    end = dict(loose)[start]
    return Span(start=start, end=end, quote=chart_text[start:end])


def _nearest(starts: list[int], wanted: int) -> int:
    return min(starts, key=lambda start: (abs(start - wanted), start))


def resolvable_citations(
    citations: Iterable[Citation], store: KnowledgeStore
) -> tuple[list[Citation], list[str]]:
    """Citations whose source id resolves in this KB version (first of each id kept), and a
    warning for each one that does not."""
    kept: list[Citation] = []
    warnings: list[str] = []
    seen: set[str] = set()
    for citation in citations:
        if citation.source_id in seen:
            continue
        seen.add(citation.source_id)
        if store.source_exists(citation.source_id):
            kept.append(citation)
        else:
            warnings.append(
                f"citation {citation.source_id!r} does not resolve in this knowledge base; removed"
            )
    return kept, warnings
