"""The lexicon reads the vocabulary's abbreviations and lay terms. Charts invented."""

from __future__ import annotations

import pytest

from agent.chart import build_chart
from agent.lexicon import Lexicon
from agent.mentions import find_mentions
from retrieval.search import HybridSearcher
from retrieval.vocabulary import Vocabulary, default_vocabulary, parse


@pytest.fixture(scope="module")
def lexicon(searcher: HybridSearcher) -> Lexicon:
    return Lexicon.from_store(searcher.store)


def _found(lexicon: Lexicon, text: str) -> dict[str, str]:
    return {text[s:e]: kind for s, e, kind in lexicon.match(text)}


def test_problem_list_abbreviations_are_mentions(lexicon: Lexicon) -> None:
    text = (
        "h/o CVA, afib on apixaban, GERD, OSA on CPAP, BPH, ESRD on HD, CHF, HTN, HLD, "
        "CAD s/p CABG, UTI, AKI, DVT, PE, NSTEMI, TIA, SOB, N/V, CKD 3b, DKA, hypoK"
    )
    found = _found(lexicon, text)
    conditions = (
        "CVA,afib,GERD,OSA,BPH,ESRD,CHF,HTN,HLD,CAD,UTI,AKI,DVT,PE,NSTEMI,TIA,CKD 3b,DKA,hypoK,"
        "on apixaban,on HD"
    )
    for variant in conditions.split(","):
        assert found.get(variant) == "condition", variant
    assert found["SOB"] == "finding" and found["N/V"] == "finding"
    assert found["CABG"] == "procedure" and found["CPAP"] == "procedure"


def test_variants_compose_with_the_words_around_them(lexicon: Lexicon) -> None:
    text = "T2DM w/ diabetic neuropathy; paroxysmal afib; COPD exacerbation."
    assert _found(lexicon, text) == {
        "T2DM w/ diabetic neuropathy": "condition",
        "paroxysmal afib": "condition",
        "COPD exacerbation": "condition",
    }
    # Written with the bare "w/", the diabetes and the neuropathy are two mentions, as when
    # written out in full; the lookup reads the rest of the sentence for the combination.
    assert _found(lexicon, "T2DM w/ neuropathy") == {"T2DM": "condition", "neuropathy": "condition"}


def test_canonical_wording_for_lookup(lexicon: Lexicon) -> None:
    assert lexicon.canonical("CHF") == "congestive heart failure"
    assert lexicon.canonical("afib") == "atrial fibrillation"
    assert lexicon.canonical("T2DM w/ diabetic neuropathy") == (
        "type 2 diabetes mellitus with diabetic neuropathy"
    )
    assert lexicon.canonical("heart attack") == "acute myocardial infarction"
    assert lexicon.canonical("acute appendicitis") is None
    assert lexicon.canonical("RA") is None  # search only: "on RA" is room air
    assert lexicon.kind("CHF") == "condition" and "CHF" in lexicon


def test_acronym_case_and_headings(lexicon: Lexicon) -> None:
    assert _found(lexicon, "pe of the abdomen") == {}
    assert "PE" not in _found(lexicon, "PE: lungs clear, no CVA tenderness")
    assert _found(lexicon, "No CVA tenderness.") == {}
    assert _found(lexicon, "heat stroke") == {"heat stroke": "condition"}  # as written wins


def test_mentions_keep_context_flags(lexicon: Lexicon) -> None:
    chart = build_chart("Past history: none. He has a h/o CVA. Denies SOB. Current CHF.")
    found = {m.text: m for m in find_mentions(chart, lexicon)}
    assert found["CVA"].historical
    assert found["SOB"].negated
    assert not (found["CHF"].negated or found["CHF"].historical)


def test_a_small_lexicon_with_a_vocabulary() -> None:
    vocabulary = Vocabulary(parse(["CHF\tcongestive heart failure\tcondition\t"]))
    lexicon = Lexicon.from_phrases([("Heart failure", "condition")], vocabulary)
    text = "CHF and heart failure"
    assert [(text[s:e], k) for s, e, k in lexicon.match(text)] == [
        ("CHF", "condition"),
        ("heart failure", "condition"),
    ]
    assert Lexicon.from_phrases([("Heart failure", "condition")]).match("CHF") == []


def test_build_reads_the_default_vocabulary(lexicon: Lexicon, searcher: HybridSearcher) -> None:
    assert lexicon.kind("afib") == "condition"
    bare = Lexicon.from_store(searcher.store, Vocabulary([]))
    assert bare.kind("afib") is None and bare.canonical("afib") is None
    assert len(default_vocabulary().for_mentions()) < len(default_vocabulary())
