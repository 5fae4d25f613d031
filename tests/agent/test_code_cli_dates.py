"""`medcoder code --date`: the date of service chooses the fiscal year's code set."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.cli_fixtures import Invoke

CHART = "Discharge diagnoses:\n1. Dilated cardiomyopathy.\n2. Essential hypertension.\n"
I42_0_CHILDREN = {"I42.00", "I42.01", "I42.09"}


def coded(run: Invoke, *args: str) -> dict[str, Any]:
    result = run("code", "-", "--json", *args, stdin=CHART)
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def cm_codes(payload: dict[str, Any]) -> set[str]:
    return {p["code"] for p in payload["proposals"] if p["system"] == "cm"}


def test_dated_2026_11_15_gets_an_i42_0_child_never_i42_0(run: Invoke) -> None:
    payload = coded(run, "--date", "2026-11-15")
    codes = cm_codes(payload)
    assert "I42.0" not in codes and codes & I42_0_CHILDREN, codes
    assert payload["fiscal_year"] == 2027 and payload["warnings"] == []
    assert payload["coding_year"]["basis"] == "discharge_date"
    assert {p["fiscal_year"] for p in payload["proposals"]} == {2027}


def test_dated_2026_09_15_gets_i42_0(run: Invoke) -> None:
    payload = coded(run, "--date", "2026-09-15")
    codes = cm_codes(payload)
    assert "I42.0" in codes and not codes & I42_0_CHILDREN, codes
    assert payload["fiscal_year"] == 2026


def test_outpatient_date_is_the_visit_date(run: Invoke) -> None:
    payload = coded(run, "--setting", "outpatient", "--date", "2026-10-01")
    assert payload["fiscal_year"] == 2027
    assert payload["coding_year"]["basis"] == "encounter_date"


def test_discharge_date_decides_over_admission(run: Invoke) -> None:
    payload = coded(run, "--admission-date", "2026-09-20", "--discharge-date", "2026-10-02")
    assert payload["fiscal_year"] == 2027


def test_no_date_says_which_year_it_used(run: Invoke) -> None:
    result = run("code", "-", stdin=CHART)
    assert result.exit_code == 0, result.output
    assert "no date of service" in result.stdout and "FY2027" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--date", "15/11/2026"], "--date: '15/11/2026' is not a date written YYYY-MM-DD"),
        (["--date", "2026-02-30"], "--date: '2026-02-30' is not a calendar date"),
        (
            ["--admission-date", "2026-10-05", "--discharge-date", "2026-10-01"],
            "discharge_date 2026-10-01 is before admission_date 2026-10-05",
        ),
    ],
)
def test_bad_dates_are_usage_errors(run: Invoke, args: list[str], message: str) -> None:
    result = run("code", "-", *args, stdin=CHART)
    assert result.exit_code == 2
    assert message in " ".join(result.stderr.split())


def test_a_date_outside_the_years_held_names_them(run: Invoke) -> None:
    result = run("code", "-", "--date", "2025-06-01", stdin=CHART)
    assert result.exit_code == 1
    error = " ".join(result.stderr.split())
    assert "FY2025" in error and "it holds FY2026, FY2027" in error
