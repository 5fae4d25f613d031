"""The abbreviation / lay-term vocabulary, and hybrid search expanding queries with it."""

from __future__ import annotations

import pytest

from retrieval.search import HybridSearcher
from retrieval.vocabulary import Vocabulary, default_vocabulary, parse


@pytest.fixture(scope="module")
def vocabulary() -> Vocabulary:
    return default_vocabulary()


def test_the_shipped_vocabulary_is_large_and_well_formed(vocabulary: Vocabulary) -> None:
    assert len(vocabulary) >= 400
    pairs = vocabulary.pairs()
    assert ("afib", "atrial fibrillation") in pairs
    assert ("T2DM", "type 2 diabetes mellitus") in pairs
    assert len({variant for variant, _ in pairs}) == len(vocabulary)  # one line per variant
    kinds = {entry.kind for entry in vocabulary.entries}
    assert {"condition", "finding", "procedure"} <= kinds
    # Context triggers are agent/mentions.py's, never concepts here.
    assert not {"h/o", "s/p", "r/o", "hx"} & {variant.lower() for variant, _ in pairs}


@pytest.mark.parametrize(
    ("term", "canonical"),
    [
        ("afib", "atrial fibrillation"),
        ("AFib", "atrial fibrillation"),
        ("a-fib", "atrial fibrillation"),
        ("CHF", "congestive heart failure"),
        ("chf", "congestive heart failure"),  # flagged safe in lower case
        ("T2DM", "type 2 diabetes mellitus"),
        ("ESRD", "end stage renal disease"),
        ("OSA", "obstructive sleep apnea"),
        ("PE", "pulmonary embolism"),
        ("PEs", "pulmonary embolism"),
        ("UTIs", "urinary tract infection"),
        ("heart attacks", "acute myocardial infarction"),
        ("CKD 3b", "chronic kidney disease stage 3b"),
        ("lap chole", "laparoscopic cholecystectomy"),
        ("D&C", "dilation and curettage"),
        ("N/V", "nausea with vomiting"),
    ],
)
def test_expansions(vocabulary: Vocabulary, term: str, canonical: str) -> None:
    assert vocabulary.expansions(term)[0] == canonical


def test_case_separators_and_context_guard_acronyms(vocabulary: Vocabulary) -> None:
    assert vocabulary.expansions("pe") == ()  # only the capital acronym is pulmonary embolism
    assert vocabulary.rewrite("pe of the thigh") is None
    assert vocabulary.rewrite("PE: lungs clear to auscultation") is None  # a heading
    assert vocabulary.rewrite("No CVA tenderness") is None
    assert vocabulary.rewrite("D/C home tomorrow") is None  # discharge, not D&C
    assert vocabulary.rewrite("I'd drain it") is None  # not I&D
    assert vocabulary.rewrite("CA 125 was normal") is None  # a tumour marker
    assert vocabulary.rewrite("achieved 7 METs") is None  # metabolic equivalents
    assert vocabulary.rewrite("fasting blood sugar 110") is None
    assert vocabulary.rewrite("never smoker") is None
    for ambiguous in ("MS", "PT", "OR", "ALL", "AS"):
        assert vocabulary.expansions(ambiguous) == (), ambiguous


def test_rewrite_keeps_the_rest_and_reads_w_slash(vocabulary: Vocabulary) -> None:
    assert vocabulary.rewrite("T2DM w/ neuropathy") == "type 2 diabetes mellitus with neuropathy"
    assert vocabulary.rewrite("gout w/o tophi") == "gout without tophi"
    assert vocabulary.rewrite("h/o CVA, afib on apixaban") == (
        "h/o cerebrovascular accident, atrial fibrillation long term (current) use of "
        "anticoagulants"
    )
    assert vocabulary.rewrite("acute appendicitis") is None
    # An ambiguous or procedure entry has further readings for search.
    assert vocabulary.rewrites("lap chole") == [
        "laparoscopic cholecystectomy",
        "resection of gallbladder, percutaneous endoscopic approach",
    ]


def test_search_only_entries_and_drugs_stay_out_of_mentions(vocabulary: Vocabulary) -> None:
    mentions = vocabulary.for_mentions()
    assert vocabulary.expansions("RA") and not mentions.expansions("RA")  # "on RA": room air
    assert vocabulary.expansions("water pill") == ("diuretic",)
    assert mentions.expansions("water pill") == ()


def test_parse_rejects_bad_lines() -> None:
    assert parse(["# comment", "", "afib\tatrial fibrillation\tcondition\t"])[0].kind == (
        "condition"
    )
    with pytest.raises(ValueError, match="unknown kind"):
        parse(["afib\tatrial fibrillation\tillness\t"])
    with pytest.raises(ValueError, match="unknown flag"):
        parse(["afib\tatrial fibrillation\tcondition\tloud"])
    with pytest.raises(ValueError, match="no word of its own"):
        Vocabulary(parse(["the\tatrial fibrillation\tcondition\t"]))


# ----------------------------------------------------------------------------- search


def test_afib_ranks_unspecified_atrial_fibrillation_first(searcher: HybridSearcher) -> None:
    hits = searcher.search("afib", k=5, system="cm", billable_only=True)
    assert hits[0].code == "I48.91"


def test_heart_attack_finds_acute_mi(searcher: HybridSearcher) -> None:
    codes = [h.code for h in searcher.search("heart attack", k=3, system="cm")]
    assert "I21.9" in codes


@pytest.mark.parametrize(
    ("query", "system", "code"),
    [
        ("CHF", "cm", "I50.9"),
        ("T2DM", "cm", "E11.9"),
        ("ESRD", "cm", "N18.6"),
        ("OSA", "cm", "G47.33"),
        ("CKD 3b", "cm", "N18.32"),
        ("lap chole", "pcs", "0FT44ZZ"),
        ("CXR", "pcs", "BW03ZZZ"),
    ],
)
def test_abbreviations_find_their_code(
    searcher: HybridSearcher, query: str, system: str, code: str
) -> None:
    hits = searcher.search(query, k=3, system=system, billable_only=True)
    assert code in [h.code for h in hits]


def test_lower_case_pe_is_not_an_acronym(searcher: HybridSearcher) -> None:
    assert searcher.vocabulary.rewrites("pe") == []
    hits = searcher.search("PE", k=3, system="cm", billable_only=True)
    assert any(h.code and h.code.startswith("I26.") for h in hits)


@pytest.mark.parametrize(
    ("typed", "restored"),
    [
        ("cad", "CAD"),
        ("s/p l tka", "s/p L TKA"),
        ("cellulitis lle", "cellulitis LLE"),
        ("hit by a car", "HIT by a car"),  # "a" is a filler, never the letter A
        ("broken hip, first visit", "broken hip, first visit"),
        ("Cad", "Cad"),  # a capital anywhere: the writer used case, kept as typed
        ("pe w/ cor pulmonale", "PE w/ cor pulmonale"),
    ],
)
def test_a_query_typed_without_capitals_gets_its_acronyms_back(
    vocabulary: Vocabulary, typed: str, restored: str
) -> None:
    assert vocabulary.with_acronyms(typed) == restored


def test_acronyms_are_the_words_that_match_only_in_capitals(vocabulary: Vocabulary) -> None:
    acronyms = vocabulary.acronyms
    assert {"CAD", "PE", "TKA", "LLE"} <= acronyms
    assert "afib" not in acronyms and "AFIB" not in acronyms  # matches in any case
    assert all(word.isupper() or not word.isalpha() for word in acronyms)
