"""Comparing two runs and reporting one (tables and report.html), on fake runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.compare import compare_runs, flat_numbers
from evals.report import render_html, summary_rows, worst_cases
from evals.rundir import RunError, load_run
from evals.runner import run_suite
from evals.suite import Case, GoldCode, Suite
from tests.evals.fakes import FakeAgent


def run_with(tmp_path: Path, name: str, proposed: dict[str, str]) -> Path:
    """A finished fake run where case id -> the codes the agent proposes."""
    cases = [
        Case(
            case_id=case_id, text=f"Chart. codes: {codes}", gold=[GoldCode(code="I10", system="cm")]
        )
        for case_id, codes in proposed.items()
    ]
    out = tmp_path / name
    run_suite(Suite(name="fake", source="made up", cases=cases, systems=("cm",)), FakeAgent(), out)
    return out


def test_compare_reports_metric_deltas_and_case_wins_and_losses(tmp_path: Path) -> None:
    a = run_with(tmp_path, "a", {"x": "I10", "y": "E11.9", "z": "I10", "only-a": "I10"})
    b = run_with(tmp_path, "b", {"x": "E11.9", "y": "I10", "z": "I10", "only-b": "I10"})
    comparison = compare_runs(load_run(a), load_run(b))
    assert [c.id for c in comparison.wins] == ["y"] and [c.id for c in comparison.losses] == ["x"]
    assert comparison.ties == 1 and comparison.only_in_a == comparison.only_in_b == 1
    assert comparison.metrics["f1"] == (0.75, 0.75)
    payload = comparison.as_json()
    assert payload["metrics"]["f1"]["delta"] == 0.0
    assert payload["cases"]["wins"] == [{"id": "y", "f1_a": 0.0, "f1_b": 1.0}]


def test_flat_numbers() -> None:
    assert flat_numbers({"a": 1, "b": {"c": 0.5, "d": None}, "e": "text", "f": True}) == {
        "a": 1,
        "b.c": 0.5,
        "b.d": None,
    }


def test_report_html_embeds_the_figures(tmp_path: Path) -> None:
    run = run_with(tmp_path, "a", {"x": "I10 J18.9", "y": "E11.9", "z": "I10"})
    path = render_html(run)
    page = path.read_text()
    assert path == run / "report.html"
    assert page.count('src="data:image/png;base64,') == 4  # chapters, PR, latency, reliability
    assert "F1 by ICD-10-CM chapter" in page and "Lowest-scoring cases" in page
    worst = worst_cases(load_run(run))[0]
    assert worst.id == "y" and worst.missed == ["I10"] and worst.extra == ["E11.9"]
    rows = {name: value for name, value, _ in summary_rows({"f1": 0.5, "map": None})}
    assert rows["f1"] == "0.500" and rows["map"] == "-"


def test_a_missing_run_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RunError, match="not a run directory"):
        render_html(tmp_path)
    (tmp_path / "run.json").write_text("{not json")
    with pytest.raises(RunError, match=r"run\.json: not valid JSON"):
        load_run(tmp_path)
