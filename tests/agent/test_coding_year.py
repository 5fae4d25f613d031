"""A chart is coded in the code set of its date of service: candidates, proposer, rules and
validation all read that fiscal year (I42.0 Dilated cardiomyopathy was deleted in FY2027,
and split into I42.00, I42.01, I42.09)."""

from __future__ import annotations

from datetime import date

import pytest

from agent.chart import build_chart
from agent.models import Chart, ChartMeta, CodingResult, FiscalYearError, RawProposal, Span
from agent.pipeline import CodingAgent
from agent.rules import validate_proposals
from retrieval.errors import UnknownYearError
from retrieval.search import HybridSearcher

TEXT = "Discharge diagnoses:\n1. Dilated cardiomyopathy.\n2. Essential hypertension.\n"
I42_0_CHILDREN = {"I42.00", "I42.01", "I42.09"}


def coded(agent: CodingAgent, **meta: object) -> CodingResult:
    return agent.code(build_chart(TEXT, ChartMeta.model_validate(meta)))


def cm_codes(result: CodingResult) -> set[str]:
    return {p.code for p in result.proposals if p.system == "cm"}


def test_discharged_in_fy2027_gets_an_i42_0_child_never_i42_0(agent: CodingAgent) -> None:
    result = coded(agent, setting="inpatient", discharge_date="2026-11-15")
    assert result.fiscal_year == 2027 and result.warnings == []
    assert result.coding_year is not None and result.coding_year.basis == "discharge_date"
    codes = cm_codes(result)
    assert "I42.0" not in codes and codes & I42_0_CHILDREN, codes
    assert all(p.fiscal_year == 2027 for p in result.proposals)


def test_discharged_in_fy2026_gets_i42_0(agent: CodingAgent) -> None:
    result = coded(agent, setting="inpatient", discharge_date="2026-09-15")
    assert result.fiscal_year == 2026
    codes = cm_codes(result)
    assert "I42.0" in codes and not codes & I42_0_CHILDREN, codes


def test_an_outpatient_visit_date_decides(agent: CodingAgent) -> None:
    assert coded(agent, setting="outpatient", encounter_date="2026-10-01").fiscal_year == 2027
    assert coded(agent, setting="outpatient", encounter_date="2026-09-30").fiscal_year == 2026


def test_no_date_is_coded_in_the_newest_year_with_a_warning(agent: CodingAgent) -> None:
    result = coded(agent)
    assert result.fiscal_year == 2027
    assert len(result.warnings) == 1 and "no date of service" in result.warnings[0]


def test_a_year_asked_overrides_the_date(agent: CodingAgent) -> None:
    chart = build_chart(TEXT, ChartMeta(discharge_date=date(2026, 11, 15)))
    assert agent.code(chart, year=2026).fiscal_year == 2026
    with pytest.raises(UnknownYearError, match="FY2026, FY2027"):
        agent.code(chart, year=2030)


def test_a_date_in_no_year_held_is_refused(agent: CodingAgent) -> None:
    chart = build_chart(TEXT, ChartMeta(discharge_date=date(2027, 10, 1)))
    with pytest.raises(FiscalYearError, match=r"FY2028.*FY2026, FY2027"):
        agent.code(chart)


def raw(code: str, words: str) -> RawProposal:
    at = TEXT.index(words)
    return RawProposal(code=code, evidence=[Span(start=at, end=at + len(words), quote=words)])


def validate(searcher: HybridSearcher, year: int, *proposals: RawProposal) -> tuple[set, dict]:
    kept, dropped = validate_proposals(
        list(proposals),
        chart=Chart(text=TEXT, fiscal_year=year),
        store=searcher.store.for_year(year),
        proposer="test",
        kb_release=str(searcher.store.meta().get("release")),
    )
    return {p.code for p in kept}, {d.code: d.reason for d in dropped}


def test_validation_drops_a_code_deleted_in_the_charts_year(searcher: HybridSearcher) -> None:
    kept, dropped = validate(searcher, 2027, raw("I42.0", "Dilated cardiomyopathy"))
    assert kept == set()
    assert "I42.0 deleted in FY2027" in dropped["I42.0"]
    assert "I42.00, I42.01, I42.09" in dropped["I42.0"]
    kept, dropped = validate(searcher, 2026, raw("I42.0", "Dilated cardiomyopathy"))
    assert kept == {"I42.0"} and dropped == {}


def test_validation_drops_a_code_added_after_the_charts_year(searcher: HybridSearcher) -> None:
    kept, dropped = validate(searcher, 2026, raw("I42.00", "Dilated cardiomyopathy"))
    assert kept == set()
    assert "not a code in ICD-10-CM FY2026" in dropped["I42.00"]
    assert "does not exist until FY2027" in dropped["I42.00"]
    kept, _ = validate(searcher, 2027, raw("I42.00", "Dilated cardiomyopathy"))
    assert kept == {"I42.00"}
