"""The fiscal year of a chart: from its date of service (an inpatient's discharge date, an
outpatient's visit date), the newest year held when it has none, an error outside them."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from agent.chart import coding_year, date_of_service, fiscal_year_dates, fiscal_year_of
from agent.models import ChartMeta, FiscalYearError

HELD = [2026, 2027]


@pytest.mark.parametrize(
    ("day", "year"),
    [
        (date(2026, 9, 30), 2026),
        (date(2026, 10, 1), 2027),
        (date(2026, 11, 15), 2027),
        (date(2027, 9, 30), 2027),
        (date(2027, 10, 1), 2028),
        (date(2025, 10, 1), 2026),
    ],
)
def test_fiscal_year_runs_october_to_september(day: date, year: int) -> None:
    assert fiscal_year_of(day) == year


def test_fiscal_year_dates() -> None:
    assert fiscal_year_dates(2027) == (date(2026, 10, 1), date(2027, 9, 30))


def test_an_inpatient_is_coded_by_the_discharge_date() -> None:
    meta = ChartMeta(
        setting="inpatient", admission_date=date(2026, 9, 25), discharge_date=date(2026, 10, 2)
    )
    assert date_of_service(meta) == ("discharge_date", date(2026, 10, 2))
    chosen = coding_year(meta, HELD)
    assert (chosen.year, chosen.basis, chosen.warning) == (2027, "discharge_date", None)


def test_an_inpatient_not_discharged_is_coded_by_the_admission_date_with_a_warning() -> None:
    chosen = coding_year(ChartMeta(admission_date=date(2026, 9, 25)), HELD)
    assert (chosen.year, chosen.basis) == (2026, "admission_date")
    assert chosen.warning and "no discharge date" in chosen.warning


def test_an_outpatient_is_coded_by_the_visit_date() -> None:
    meta = ChartMeta(
        setting="outpatient", encounter_date=date(2026, 9, 30), discharge_date=date(2026, 10, 1)
    )
    chosen = coding_year(meta, HELD)
    assert (chosen.year, chosen.basis, chosen.warning) == (2026, "encounter_date", None)


def test_no_date_is_the_newest_year_held_and_says_so() -> None:
    chosen = coding_year(ChartMeta(), HELD)
    assert (chosen.year, chosen.basis) == (2027, "none")
    assert chosen.warning and "no date of service" in chosen.warning and "FY2027" in chosen.warning


def test_a_date_outside_the_years_held_names_them() -> None:
    with pytest.raises(FiscalYearError) as caught:
        coding_year(ChartMeta(setting="outpatient", encounter_date=date(2025, 3, 1)), HELD)
    message = str(caught.value)
    assert "FY2025" in message and "FY2026, FY2027" in message
    assert "2025-10-01 to 2027-09-30" in message
    assert caught.value.field == "encounter_date" and caught.value.years == HELD


@pytest.mark.parametrize("value", ["15/11/2026", "2026-11-15T10:00", "20261115", 20261115])
def test_dates_must_be_iso_calendar_dates(value: object) -> None:
    with pytest.raises(ValidationError, match="YYYY-MM-DD"):
        ChartMeta.model_validate({"discharge_date": value})


def test_an_impossible_date_is_refused() -> None:
    with pytest.raises(ValidationError, match="not a calendar date"):
        ChartMeta.model_validate({"discharge_date": "2026-02-30"})


def test_discharge_before_admission_is_refused() -> None:
    with pytest.raises(ValidationError, match="discharge_date 2026-10-01 is before admission"):
        ChartMeta.model_validate({"admission_date": "2026-10-05", "discharge_date": "2026-10-01"})
