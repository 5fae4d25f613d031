"""The CDI suite (evals/cases/cdi.jsonl): charts with known documentation gaps and gap-free
charts, scored by evals.cdi."""

from __future__ import annotations

from evals.cdi import load_cdi_cases, score_cdi


def test_the_suite_meets_its_floor() -> None:
    cases = load_cdi_cases()
    assert len(cases) >= 40
    assert sum(not case["gaps"] for case in cases) >= 15  # gap-free charts test precision
    metrics = score_cdi(cases).metrics()
    assert metrics["recall"] >= 0.9, metrics["misses"]
    assert metrics["precision"] >= 0.8, metrics["false_alarms"]
    assert metrics["compliant_queries"] == 1.0
    assert metrics["indicator_recall"] >= 0.9


def test_a_gap_missed_or_invented_counts_against_the_engine() -> None:
    case = load_cdi_cases()[0]
    assert score_cdi([case]).metrics()["recall"] == 1.0
    unknown = {**case, "gaps": [*case["gaps"], {"kind": "ckd_stage", "indicators": []}]}
    assert score_cdi([unknown]).metrics()["recall"] < 1.0
    silent = {**case, "gaps": []}
    assert score_cdi([silent]).metrics()["precision"] == 0.0
