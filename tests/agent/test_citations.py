"""Evidence spans checked against the chart text, citations against the knowledge base."""

from __future__ import annotations

import pytest

from agent.citations import resolvable_citations, verify_span
from agent.models import Citation, Span
from retrieval.store import KnowledgeStore

TEXT = "Assessment: type 2 diabetes.\nPlan: metformin.\nHistory: type 2 diabetes since 2010."


def span(start: int, quote: str) -> Span:
    return Span(start=start, end=start + len(quote), quote=quote)


def test_exact_span_is_returned_unchanged() -> None:
    start = TEXT.index("metformin")
    given = span(start, "metformin")
    assert verify_span(TEXT, given) == given


def test_wrong_offsets_move_to_the_quote() -> None:
    found = verify_span(TEXT, span(3, "metformin"))
    assert found is not None
    assert (found.start, found.end) == (TEXT.index("metformin"), TEXT.index("metformin") + 9)
    assert TEXT[found.start : found.end] == found.quote


def test_nearest_occurrence_wins() -> None:
    second = TEXT.rindex("type 2 diabetes")
    found = verify_span(TEXT, span(second - 4, "type 2 diabetes"))
    assert found is not None and found.start == second
    first = TEXT.index("type 2 diabetes")
    found = verify_span(TEXT, span(0, "type 2 diabetes"))
    assert found is not None and found.start == first


def test_an_exact_match_beats_a_nearer_case_variant() -> None:
    text = "Diabetes screening. Known diabetes."
    found = verify_span(text, span(0, "diabetes"))
    assert found is not None and found.start == text.index("diabetes")


def test_case_and_whitespace_differences_are_tolerated() -> None:
    found = verify_span(TEXT, Span(start=0, end=5, quote="TYPE 2\n  Diabetes since"))
    assert found is not None
    assert found.quote == "type 2 diabetes since"
    assert TEXT[found.start : found.end] == found.quote


@pytest.mark.parametrize(
    "quote", ["insulin pump", "type 3 diabetes", "   ", "metformin 500 mg daily"]
)
def test_quotes_not_in_the_chart_are_rejected(quote: str) -> None:
    assert verify_span(TEXT, Span(start=0, end=len(quote), quote=quote)) is None


def test_offsets_past_the_end_do_not_crash() -> None:
    found = verify_span(TEXT, Span(start=500, end=509, quote="metformin"))
    assert found is not None and found.start == TEXT.index("metformin")


def test_resolvable_citations_keep_real_sources_and_warn_about_the_rest(
    store: KnowledgeStore,
) -> None:
    citations = [
        Citation(source_id="tabular:E11.22", label="Tabular"),
        Citation(source_id="tabular:E11.22", label="again"),
        Citation(source_id="tabular:E11.99"),
        Citation(source_id="pcs_table:0DTJ4ZZ"),
        Citation(source_id="made-up:thing"),
    ]
    kept, warnings = resolvable_citations(citations, store)
    assert [c.source_id for c in kept] == ["tabular:E11.22", "pcs_table:0DTJ4ZZ"]
    assert kept[0].label == "Tabular"
    assert len(warnings) == 2
    assert "tabular:E11.99" in warnings[0] and "made-up:thing" in warnings[1]
