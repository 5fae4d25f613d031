"""Metrics on tiny examples computed by hand."""

from __future__ import annotations

import pytest

from evals.metrics import average_precision, category, mean_average_precision, micro_prf, percentile


def test_micro_prf_counts_each_code_once_per_document() -> None:
    # doc 1: 1 of 2 predictions right, 1 of 3 gold found; doc 2: 2 of 2 right, 2 of 2 gold.
    result = micro_prf([["A", "B", "B"], ["C", "D"]], [["A", "X", "Y"], ["C", "D"]])
    assert (result.true_positives, result.predicted, result.gold) == (3, 4, 5)
    assert result.precision == pytest.approx(0.75)
    assert result.recall == pytest.approx(0.6)
    assert result.f1 == pytest.approx(2 * 0.75 * 0.6 / 1.35)


def test_average_precision_by_hand() -> None:
    # relevant at ranks 1 and 3 of gold size 3: (1/1 + 2/3) / 3
    assert average_precision(["A", "X", "B", "Y"], ["A", "B", "C"]) == pytest.approx(5 / 9)
    assert average_precision(["X"], ["A"]) == 0.0
    assert average_precision(["A", "A"], ["A"]) == 1.0


def test_map_skips_documents_without_gold() -> None:
    assert mean_average_precision([["A"], ["B"]], [["A"], []]) == 1.0


def test_category_and_percentile() -> None:
    assert category("E11.22") == "E11" and category("0DTJ4ZZ") == "0DT"
    assert percentile([1, 2, 3, 4], 0.5) == pytest.approx(2.5)
    assert percentile([], 0.5) == 0.0


def test_reliability_and_expected_calibration_error() -> None:
    from evals.metrics import expected_calibration_error, reliability

    assert expected_calibration_error([0.9] * 10, [True] * 9 + [False]) == pytest.approx(0.0)
    assert expected_calibration_error([0.9] * 10, [False] * 10) == pytest.approx(0.9)
    assert expected_calibration_error([], []) == 0.0
    points = reliability([0.05, 0.15, 0.95, 1.0], [False, True, True, True])
    assert points == [(0.05, 0.0, 1), (0.15, 1.0, 1), (0.975, 1.0, 2)]
