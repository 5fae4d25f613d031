"""Scores of a run on tiny examples computed by hand."""

from __future__ import annotations

import pytest

from agent.models import Span
from evals.chapters import chapter_of
from evals.records import GoldSpan
from evals.scoring import case_f1, f1_by_chapter, macro_prf, pr_by_threshold, score_run
from tests.evals.fakes import record


@pytest.fixture
def two_cases() -> list:
    # case 1: A01.0 right at rank 1, B02.1 wrong (and not a valid code), C03 right at rank 3,
    #         D04 missed (and not valid in the KB); case 2: E05.2 proposed, E05.1 is gold.
    return [
        record(
            "one",
            [("A01.0", 0.9), ("B02.1!", 0.6), ("C03", 0.3)],
            ["A01.0", "C03", "D04"],
            invalid_gold=("D04",),
            principal="A01.0",
            latency_ms=10,
        ),
        record("two", [("E05.2", 0.8)], ["E05.1"], principal="E05.1", latency_ms=30),
    ]


def test_micro_macro_map_and_categories(two_cases: list) -> None:
    scores = score_run(two_cases, ("cm",))
    # micro: 2 right of 4 proposed, of 4 gold
    assert (scores["precision"], scores["recall"], scores["f1"]) == (0.5, 0.5, 0.5)
    # macro over the six codes seen: only A01.0 and C03 score (1 each)
    assert scores["macro_f1"] == pytest.approx(1 / 3)
    assert scores["macro_precision"] == pytest.approx(1 / 3)
    assert scores["macro_recall"] == pytest.approx(1 / 3)
    # AP case 1: (1/1 + 2/3) / 3 gold; case 2: 0
    assert scores["map"] == pytest.approx((5 / 9) / 2)
    # categories: A01 C03 right in case 1, E05 right in case 2 -> 3 of 4 both ways
    assert scores["category_f1"] == pytest.approx(0.75)
    assert scores["gold_codes"] == 4 and scores["predicted_codes"] == 4


def test_valid_subset_drops_gold_codes_missing_from_the_kb(two_cases: list) -> None:
    scores = score_run(two_cases, ("cm",))
    valid = scores["valid_subset"]
    assert scores["gold_not_valid"] == 1 and valid["gold_codes"] == 3
    assert valid["precision"] == 0.5
    assert valid["recall"] == pytest.approx(2 / 3)
    assert valid["f1"] == pytest.approx(4 / 7)
    assert valid["map"] == pytest.approx((1 + 2 / 3) / 2 / 2)


def test_principal_invalid_codes_latency_and_usage(two_cases: list) -> None:
    scores = score_run(two_cases, ("cm",))
    assert scores["principal_accuracy"] == 0.5 and scores["principal_cases"] == 2
    assert scores["invalid_code_rate"] == 0.25
    assert scores["latency_ms"]["p50"] == 20 and scores["latency_ms"]["p95"] == pytest.approx(29)
    assert scores["cost_usd"] == 0 and scores["tokens_per_chart"]["prompt"] == 0
    assert scores["span_validity"] is None and scores["citation_validity"] is None


def test_citation_and_span_validity_shares(two_cases: list) -> None:
    two_cases[0].spans, two_cases[0].spans_valid = 4, 3
    two_cases[1].citations, two_cases[1].citations_resolved = 2, 1
    scores = score_run(two_cases, ("cm",))
    assert scores["span_validity"] == 0.75 and scores["citation_validity"] == 0.5


def test_suite_systems_decide_what_counts() -> None:
    case = record("appy", [("K35.80", 0.9), ("0DTJ4ZZ", 0.7)], ["K35.80", "0DTJ4ZZ"])
    assert score_run([case], ("cm",))["predicted_codes"] == 1
    both = score_run([case], ("cm", "pcs"))
    assert both["f1"] == 1.0 and set(both["by_system"]) == {"cm", "pcs"}
    assert both["by_system"]["pcs"]["gold_codes"] == 1


def test_precision_recall_by_threshold(two_cases: list) -> None:
    points = dict(pr_by_threshold(two_cases, ("cm",), thresholds=(0.5, 0.85)))
    # >= 0.5 keeps A01.0, B02.1 and E05.2: 1 right of 3, 1 of 4 gold
    assert points[0.5].precision == pytest.approx(1 / 3) and points[0.5].recall == 0.25
    assert points[0.85].precision == 1.0 and points[0.85].recall == 0.25


def test_f1_by_chapter_and_per_case(two_cases: list) -> None:
    chapters = f1_by_chapter(two_cases)
    infectious = chapters[chapter_of("A01.0")]
    assert (infectious.true_positives, infectious.predicted, infectious.gold) == (1, 2, 1)
    assert chapters[chapter_of("D04")].f1 == pytest.approx(2 / 3)
    assert chapters[chapter_of("E05.1")].f1 == 0.0
    assert case_f1(two_cases[0], ("cm",)) == pytest.approx(2 / 3)
    assert case_f1(record("none", [], []), ("cm",)) == 1.0


def test_chapters_by_category_range() -> None:
    assert chapter_of("O9A.119").startswith("15") and chapter_of("C7A.010").startswith("2")
    assert chapter_of("S72.001A") == chapter_of("T39.1X1A") and chapter_of("U07.1").startswith("22")
    assert chapter_of("0DTJ4ZZ") == "other"


def test_macro_of_nothing_is_zero() -> None:
    assert macro_prf([[]], [[]]).f1 == 0.0


def test_evidence_overlap_with_gold_spans() -> None:
    case = record("ev", [("I10", 0.9), ("E11.9", 0.8)], ["I10", "E11.9"])
    case.gold[0].evidence = [GoldSpan(start=10, end=20, quote="x" * 10)]
    case.gold[1].evidence = [GoldSpan(start=30, end=40, quote="y" * 10)]
    case.predicted[0].evidence = [Span(start=15, end=25, quote="z" * 10)]  # overlaps
    case.predicted[1].evidence = [Span(start=0, end=30, quote="w" * 30)]  # touches, no overlap
    assert score_run([case], ("cm",))["evidence_overlap"] == 0.5
