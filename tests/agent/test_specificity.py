"""The most specific code a diagnostic statement documents, on the real Tabular."""

from __future__ import annotations

import pytest

from agent.candidates import statement_candidates
from agent.models import Mention, Span
from agent.specificity import Statement, clause, most_specific, support, title_terms
from retrieval.search import HybridSearcher
from retrieval.store import KnowledgeStore


def _statement(sentence: str, mention: str, others: tuple[str, ...] = ()) -> str:
    start = sentence.index(mention)
    starts = tuple(sentence.index(o) for o in others)
    left, right = clause(sentence, start, start + len(mention), starts)
    return sentence[left:right]


def test_a_statement_runs_to_the_next_break_and_keeps_its_short_comma_parts() -> None:
    text = "Torus fracture of left distal radius, initial encounter. Stable."
    assert _statement(text, "Torus fracture") == (
        "Torus fracture of left distal radius, initial encounter"
    )
    # A comma part naming another mention is another statement.
    assert _statement("HTN, HLD, T2DM", "HLD", others=("HTN", "T2DM")) == "HLD"
    assert _statement("1. CKD, stage 3a - stable", "CKD") == "CKD, stage 3a"


def test_a_long_narrative_clause_is_cut_near_its_mention() -> None:
    text = (
        "the patient who had been seen many times before in other places presented with "
        "anemia which was followed in the outpatient setting for years with transfusions"
    )
    statement = _statement(text, "anemia")
    assert statement.startswith("times before") is False
    assert len(statement.split()) <= 16


def test_denied_words_and_the_side_are_read() -> None:
    statement = Statement.read("acute appendicitis without perforation or abscess")
    assert {"perfor", "abscess"} <= statement.denied
    assert "perfor" not in statement.words
    assert Statement.read("fracture of the left and right radius").side == "bilateral"
    assert Statement.read("fracture of the radius").side is None


def test_a_title_asks_for_its_words_and_excludes_what_follows_without() -> None:
    terms = title_terms("Other acute appendicitis without perforation, with gangrene")
    assert terms.required == {"acut", "appendiciti", "gangren"}
    assert terms.excluded == {"perfor"}
    assert title_terms("Torus fracture of lower end of left radius").side == "left"


@pytest.mark.parametrize(
    ("found", "statement", "expected"),
    [
        ("S52.92XA", "torus fracture of left distal radius", "S52.522"),
        ("K35.80", "gangrenous appendicitis", "K35.891"),
        ("K57.92", "perforated sigmoid diverticulitis with abscess", "K57.20"),
        ("I50.9", "acute on chronic systolic heart failure", "I50.23"),
        ("L02.91", "abscess of right thigh", "L02.415"),
    ],
)
def test_the_statement_refines_the_code_within_its_category(
    store: KnowledgeStore, found: str, statement: str, expected: str
) -> None:
    record = store.get(found, "cm")
    assert record is not None
    refined = most_specific(store, record, Statement.read(statement))
    assert refined is not None and refined.code == expected


@pytest.mark.parametrize(
    ("found", "statement"),
    [
        # Nothing more documented: an "other specified" code is no better.
        ("D64.9", "anemia"),
        ("R11.10", "vomiting"),
        # The found code already names what is documented (McArdle disease).
        ("E74.04", "glycogen storage disease type V (McArdle disease)"),
        # The statement denies what the more specific code needs.
        ("K35.80", "acute appendicitis without gangrene"),
    ],
)
def test_no_refinement_without_more_documentation(
    store: KnowledgeStore, found: str, statement: str
) -> None:
    record = store.get(found, "cm")
    assert record is not None
    assert most_specific(store, record, Statement.read(statement)) is None


def test_a_side_is_never_assumed(store: KnowledgeStore) -> None:
    record = store.get("S52.92XA", "cm")
    assert record is not None
    refined = most_specific(store, record, Statement.read("torus fracture of distal radius"))
    assert refined is not None and refined.code == "S52.529"


def test_support_is_the_documented_share_of_the_title(store: KnowledgeStore) -> None:
    record = store.get("T23.251A", "cm")
    assert record is not None
    assert support(store, record, Statement.read("second degree burn of right palm")) == 1.0
    assert support(store, record, Statement.read("second degree burn of left palm")) == 0.0


def test_a_statement_naming_no_kind_is_not_an_other_code(searcher: HybridSearcher) -> None:
    """ "Other fracture of shaft of right tibia" is for a kind of fracture the index names;
    the statement route leaves it out unless the chart says "other"."""
    mention = Mention(
        text="fracture", span=Span(start=0, end=8, quote="fracture"), kind="condition"
    )

    def codes(statement: str) -> set[str]:
        found = statement_candidates(searcher, mention, 0, Statement.read(statement))
        return {c.code[:6] for c in found}

    assert "S82.29" not in codes("closed displaced fracture of the shaft of the right tibia")
    assert "S82.29" in codes("other fracture of the shaft of the right tibia")
