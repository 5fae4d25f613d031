"""Lexicon matching and mention context against the session knowledge base. Charts invented."""

from __future__ import annotations

import time

import pytest

from agent.chart import build_chart
from agent.lexicon import Lexicon, phrase_key, stem
from agent.mentions import find_mentions
from agent.models import Mention
from retrieval.search import HybridSearcher


@pytest.fixture(scope="module")
def lexicon(searcher: HybridSearcher) -> Lexicon:
    return Lexicon.from_store(searcher.store)


def _mentions(lexicon: Lexicon, text: str) -> dict[str, Mention]:
    chart = build_chart(text)
    found = find_mentions(chart, lexicon)
    for mention in found:  # every span quotes the chart exactly
        assert chart.text[mention.span.start : mention.span.end] == mention.span.quote
        assert mention.text == mention.span.quote
    return {m.text.lower(): m for m in found}


def _flags(mention: Mention) -> set[str]:
    names = ("negated", "uncertain", "historical", "family")
    return {name for name in names if getattr(mention, name)}


# ----------------------------------------------------------------------------- lexicon


def test_stemming_folds_simple_plurals() -> None:
    pairs = {"arteries": "artery", "abscesses": "abscess", "metastases": "metastasis"}
    assert {word: stem(word) for word in pairs} == pairs
    assert stem("diseases") == "disease" and stem("diabetes") == stem("diabetes")
    assert phrase_key("Fractures of the femur") == phrase_key("fracture femur")


def test_lexicon_holds_index_title_and_pcs_phrases(lexicon: Lexicon) -> None:
    assert 50_000 < len(lexicon) < 400_000
    assert lexicon.kind("acute appendicitis") == "condition"  # index subterm, K35 title
    assert lexicon.kind("appendicitis acute") == "condition"  # both orders
    assert lexicon.kind("infarction") == "condition"  # "Infarct, infarction" variants
    assert lexicon.kind("infarct") == "condition"
    assert lexicon.kind("appendectomy") == "procedure"  # PCS index main term
    assert lexicon.kind("fever") == "finding"  # R50.9 only
    assert lexicon.kind("Abdominal aortic plexus") is None  # PCS body-part alias, no procedure


def test_lexicon_stoplist(lexicon: Lexicon) -> None:
    for word in ("disease", "disorder", "history", "left", "right", "other", "pain", "2"):
        assert word not in lexicon, word
    assert "family history" not in lexicon  # context, not a mention
    assert lexicon.kind("chest pain") == "finding"  # generic words together still count


def test_match_prefers_longest_and_quotes_offsets(lexicon: Lexicon) -> None:
    text = "Acute myocardial infarction, and Crohn's disease."
    found = [(text[s:e], kind) for s, e, kind in lexicon.match(text)]
    assert found == [("Acute myocardial infarction", "condition"), ("Crohn's disease", "condition")]


def test_match_tolerates_case_punctuation_and_plurals(lexicon: Lexicon) -> None:
    text = "FRACTURES of the FEMUR; bilateral inguinal-hernias."
    found = [text[s:e] for s, e, _ in lexicon.match(text)]
    assert "FRACTURES of the FEMUR" in found
    assert "bilateral inguinal-hernias" in found


def test_match_does_not_span_sentence_punctuation(lexicon: Lexicon) -> None:
    text = "Acute. Appendicitis."
    assert [text[s:e] for s, e, _ in lexicon.match(text)] == ["Appendicitis"]


def test_acronyms_keep_their_case(lexicon: Lexicon) -> None:
    assert [t[2] for t in lexicon.match("HIV infection")] == ["condition"]
    assert lexicon.match("It may be so.") == []


def test_from_phrases_builds_a_small_lexicon() -> None:
    lexicon = Lexicon.from_phrases([("Heart failure", "condition"), ("Biopsy", "procedure")])
    text = "Biopsies showed heart failure."
    assert [(text[s:e], k) for s, e, k in lexicon.match(text)] == [
        ("Biopsies", "procedure"),
        ("heart failure", "condition"),
    ]


def test_match_is_fast(lexicon: Lexicon) -> None:
    text = "A 60-year-old man with acute appendicitis and type 2 diabetes mellitus. " * 40
    started = time.perf_counter()
    lexicon.match(text)
    assert time.perf_counter() - started < 0.5


# ----------------------------------------------------------------------------- context


def test_what_a_patient_is_screened_for_is_not_present(lexicon: Lexicon) -> None:
    for text in (
        "Encounter for screening for hepatitis C.",
        "Hepatitis C screening today.",
        "Screened for hepatitis C last year.",
    ):
        found = _mentions(lexicon, text)
        assert _flags(found["hepatitis c"]) == {"negated"}, text
    found = _mentions(lexicon, "Anemia found on screening labs, to be worked up.")
    assert not found["anemia"].negated


def test_negation_before_and_after(lexicon: Lexicon) -> None:
    found = _mentions(
        lexicon,
        "He denies chest pain, dyspnea or syncope. Pneumonia was ruled out. "
        "No evidence of metastases. HIV serology negative. Free of hematuria.",
    )
    for name in ("chest pain", "dyspnea", "syncope", "pneumonia", "metastases", "hiv"):
        assert _flags(found[name]) == {"negated"}, name
    assert found["hematuria"].negated


def test_scope_ends_at_but(lexicon: Lexicon) -> None:
    found = _mentions(lexicon, "No fever but has cough.")
    assert found["fever"].negated
    assert not found["cough"].negated


def test_without_after_a_condition_stops_at_the_comma(lexicon: Lexicon) -> None:
    # "without" qualifying a condition denies its complement, not the next list item; a
    # "without" after a verb denies the whole list.
    found = _mentions(
        lexicon, "PMH: dementia without behavioral disturbance, GERD. Seen without fever, cough."
    )
    assert "negated" not in _flags(found["gerd"])
    assert "negated" in _flags(found["cough"])


def test_scope_ends_at_sentence_and_window(lexicon: Lexicon) -> None:
    found = _mentions(
        lexicon,
        "No fever. Cough since Monday. Not seen in the clinic for the last several long "
        "and tiring months of winter, appendicitis.",
    )
    assert found["fever"].negated
    assert not found["cough"].negated
    assert not found["appendicitis"].negated


def test_pseudo_negations(lexicon: Lexicon) -> None:
    found = _mentions(lexicon, "Gram-negative sepsis. No change in the hydronephrosis.")
    assert not found["gram-negative sepsis"].negated
    assert not found["hydronephrosis"].negated


def test_uncertainty(lexicon: Lexicon) -> None:
    found = _mentions(
        lexicon,
        "Possible appendicitis. Rule out pulmonary embolism. Findings consistent with "
        "pneumonia. Cholecystitis is suspected. Cannot exclude sepsis.",
    )
    for name in ("appendicitis", "pulmonary embolism", "pneumonia", "cholecystitis", "sepsis"):
        assert _flags(found[name]) == {"uncertain"}, name


def test_a_procedure_to_come_is_uncertain(lexicon: Lexicon) -> None:
    found = _mentions(
        lexicon, "Plan: interval laparoscopic cholecystectomy in 6 weeks. Colonoscopy performed."
    )
    assert _flags(found["laparoscopic cholecystectomy"]) == {"uncertain"}
    assert _flags(found["colonoscopy"]) == set()


def test_a_cancer_after_completed_treatment_is_history(lexicon: Lexicon) -> None:
    found = _mentions(lexicon, "Follow-up after completed treatment for colon cancer.")
    assert _flags(found["cancer"]) == {"historical"}


def test_not_ruled_out_is_uncertain_not_negated(lexicon: Lexicon) -> None:
    found = _mentions(lexicon, "Pulmonary embolism could not be ruled out.")
    assert _flags(found["pulmonary embolism"]) == {"uncertain"}


def test_history(lexicon: Lexicon) -> None:
    found = _mentions(
        lexicon,
        "History of asthma. Status post appendectomy. Previous myocardial infarction. "
        "A 58-year-old male with hypertension. A three-week history of cough.",
    )
    assert _flags(found["asthma"]) == {"historical"}
    assert _flags(found["appendectomy"]) == {"historical"}
    assert found["appendectomy"].kind == "procedure"
    assert found["myocardial infarction"].historical
    assert not found["hypertension"].historical  # "-year-old" is not "old"
    assert not found["cough"].historical  # the current illness


def test_family(lexicon: Lexicon) -> None:
    found = _mentions(
        lexicon,
        "Family history of colon polyps. Her mother had breast cancer and the patient has "
        "diabetes mellitus. Asthma in her brother. His mother reports vomiting.",
    )
    assert found["colon polyps"].family
    assert found["breast cancer"].family
    assert not found["diabetes mellitus"].family
    assert found["asthma"].family
    assert not found["vomiting"].family


def test_no_history_of_interest_reaches_nothing(lexicon: Lexicon) -> None:
    found = _mentions(
        lexicon, "A girl with no personal or family history of interest, referred for asthma."
    )
    assert not _flags(found["asthma"])


def test_sections_set_family_and_history(lexicon: Lexicon) -> None:
    found = _mentions(
        lexicon,
        "Past medical history:\nAsthma.\nHypertension, currently treated.\n"
        "Family history:\nBreast cancer.\nAssessment:\nPneumonia.",
    )
    assert (found["asthma"].section, _flags(found["asthma"])) == ("history", {"historical"})
    assert not found["hypertension"].historical
    assert _flags(found["breast cancer"]) == {"family"}
    assert found["breast cancer"].section == "family_history"
    assert (found["pneumonia"].section, _flags(found["pneumonia"])) == ("assessment", set())


def test_kinds_and_plural_mentions(lexicon: Lexicon) -> None:
    found = _mentions(
        lexicon, "Appendectomy was performed for acute appendicitis. Renal calculi and fevers."
    )
    assert found["appendectomy"].kind == "procedure"
    assert found["acute appendicitis"].kind == "condition"
    assert found["renal calculi"].kind == "condition"
    assert found["fevers"].kind == "finding"
    assert all(not _flags(m) for m in found.values())
