"""Search over the full knowledge base: exact lookup, hybrid ranking, filters, bad queries."""

from __future__ import annotations

import random

import numpy as np
import pytest
import simple_icd_10_cm as cm

from retrieval.errors import QueryError, UnknownCodeError
from retrieval.langchain_retriever import KnowledgeBaseRetriever
from retrieval.lexical import tokenize
from retrieval.search import HybridSearcher


def test_long_titles_find_their_code(searcher: HybridSearcher) -> None:
    leaves = sorted(
        c for c in cm.get_all_codes(True) if cm.is_leaf(c) and not cm.is_chapter_or_block(c)
    )
    sample = random.Random(11).sample(leaves, 200)
    top1 = sum(
        [h.code for h in searcher.search(cm.get_description(c), k=1, system="cm")] == [c]
        for c in sample
    )
    assert top1 / len(sample) >= 0.98


def test_see_reference_leads_to_the_target_code(searcher: HybridSearcher) -> None:
    # The index line "Attack, heart" says only "see Infarct, myocardium".
    codes = [h.code for h in searcher.search("heart attack", k=3, system="cm")]
    assert "I21.9" in codes


def test_pcs_filter_returns_only_pcs(searcher: HybridSearcher) -> None:
    hits = searcher.search("resection of appendix percutaneous endoscopic", k=10, system="pcs")
    assert hits and all(h.system == "pcs" for h in hits)
    assert "0DTJ4ZZ" in [h.code for h in hits]


def test_billable_filter(searcher: HybridSearcher) -> None:
    hits = searcher.search("type 2 diabetes mellitus", k=20, billable_only=True)
    assert len(hits) == 20
    assert all(h.billable for h in hits)


def test_guideline_sections_are_searchable(searcher: HybridSearcher) -> None:
    hits = searcher.search(
        "multiple procedures same root operation", k=30, system="pcs", include_guidelines=True
    )
    assert any(h.code is None and h.source.startswith("guideline:pcs:") for h in hits)


def test_exact_lookup_normalises_the_code(searcher: HybridSearcher) -> None:
    assert searcher.lookup("e1122").code == "E11.22"
    assert searcher.lookup(" 0dtj4zz ").code == "0DTJ4ZZ"


def test_unknown_code_names_nearest_valid_codes(searcher: HybridSearcher) -> None:
    with pytest.raises(UnknownCodeError) as error:
        searcher.lookup("E11.99")
    assert error.value.nearest and all(code.startswith("E11.") for code in error.value.nearest)
    assert "E11.99" in str(error.value)


@pytest.mark.parametrize("bad", ["", "   ", "x" * 2001])
def test_bad_queries_are_refused(searcher: HybridSearcher, bad: str) -> None:
    with pytest.raises(QueryError):
        searcher.search(bad)


@pytest.mark.parametrize("bad", ["E11.22!", "hello", "12"])
def test_malformed_codes_are_refused(searcher: HybridSearcher, bad: str) -> None:
    with pytest.raises(QueryError, match="not a well-formed"):
        searcher.lookup(bad)


def test_langchain_retriever_returns_cited_documents(searcher: HybridSearcher) -> None:
    retriever = KnowledgeBaseRetriever(searcher=searcher, k=3, system="cm")
    documents = retriever.invoke("acute appendicitis")
    assert len(documents) == 3
    assert all(d.metadata["source"] and d.metadata["code"] for d in documents)
    assert any(d.metadata["code"].startswith("K35") for d in documents)


def test_index_navigation_by_term_path(searcher: HybridSearcher) -> None:
    entries = searcher.store.index_lookup(["Infarction", "myocardium"])
    assert entries[0].code == "I21.9"
    assert len(entries) > 1  # the subterms beneath it come along


def test_search_many_answers_as_search_does_one_query_at_a_time(
    searcher: HybridSearcher,
) -> None:
    """The agent's batched search (one embedding call, one vector query per collection) gives
    each query exactly the hits `search` gives it alone, whatever the systems mixed, and in a
    later year's code set too."""
    queries: list[tuple[str, str | None]] = [
        ("chest pain", "cm"),
        ("laparoscopic appendectomy", "pcs"),
        ("CHF exacerbation", "cm"),
        ("dilated cardiomyopathy", "cm"),
        ("insertion of pacemaker", None),
    ]
    for year in (None, 2027):
        batched = searcher.search_many(queries, k=5, year=year)
        alone = [searcher.search(q, k=5, system=s, year=year) for q, s in queries]
        assert [[(h.code, h.source, h.ranks) for h in hits] for hits in batched] == [
            [(h.code, h.source, h.ranks) for h in hits] for hits in alone
        ]
    assert searcher.search_many([], k=5) == []
    with pytest.raises(QueryError):
        searcher.search_many([("   ", "cm")], k=5)


@pytest.mark.parametrize(
    "query", ["pain in right knee", "fracture femur fracture", "type 2 diabetes", "zzzz fever"]
)
def test_bm25_scores_read_sparsely_equal_the_dense_scores(
    searcher: HybridSearcher, query: str
) -> None:
    """The lexical index scores only documents holding a query word; each must score as
    bm25s's own dense scoring does, and no document bm25s scores may be missing."""
    index = searcher._lexical["cm"]
    tokens = [t for t in tokenize(query) if t in index._vocab]
    matched, scores = index._matched_scores(tokens)
    dense = index._retriever.get_scores(tokens)
    assert matched.tolist() == np.flatnonzero(dense).tolist()
    assert np.allclose(scores, dense[matched], rtol=1e-6, atol=0)


def test_a_typed_category_lists_the_codes_under_it(searcher: HybridSearcher) -> None:
    """What a coder types in a code box: a category brings its family, in code order."""
    hits = searcher.search("K81", k=8, billable_only=True)
    assert [h.code for h in hits][:4] == ["K81.0", "K81.1", "K81.2", "K81.9"]
    subcategory = searcher.search("e11.6", k=8, billable_only=True)
    assert subcategory and all((h.code or "").startswith("E11.6") for h in subcategory)
    pcs = [h.code or "" for h in searcher.search("0FT4", k=5, system="pcs")]
    family = [code for code in pcs if code.startswith("0FT4")]
    assert {"0FT40ZZ", "0FT44ZZ"} <= set(family) and pcs[: len(family)] == family, pcs
