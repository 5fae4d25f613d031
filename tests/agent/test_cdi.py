"""Documentation gaps and compliant query drafts."""

from __future__ import annotations

from dataclasses import replace

from agent.cdi import (
    OTHER,
    UNDETERMINED,
    compliance_problems,
    draft_query,
    find_gaps,
)
from agent.chart import build_chart
from agent.models import ChartMeta
from agent.pipeline import CodingAgent

HEART_FAILURE = (
    "74M admitted with dyspnea, orthopnea and 3+ bilateral leg edema. BNP 2,350. Echo: EF 30%.\n"
    "Treated with IV furosemide.\n"
    "Assessment: heart failure."
)


def _kinds(text: str, *codes: str) -> list[str]:
    return [gap.kind.name for gap in find_gaps(text, codes)]


def test_unspecified_heart_failure_with_indicators_is_a_gap_with_a_compliant_query() -> None:
    (gap,) = find_gaps(HEART_FAILURE, ["I50.9", "I10"])
    assert gap.kind.name == "heart_failure_type" and gap.code == "I50.9"
    assert {i.what for i in gap.indicators} >= {
        "ejection fraction",
        "natriuretic peptide",
        "IV diuretic",
    }
    for indicator in gap.indicators:
        span = indicator.evidence
        assert HEART_FAILURE[span.start : span.end] == span.quote
    draft = draft_query(gap)
    assert compliance_problems(draft, HEART_FAILURE) == []
    assert draft.options[-2:] == (OTHER, UNDETERMINED)
    assert '"EF 30%"' in draft.text() and "DRG" not in draft.text()


def test_no_gap_when_the_code_is_specific_or_nothing_indicates_more() -> None:
    assert _kinds(HEART_FAILURE, "I50.23") == []
    assert _kinds("Assessment: heart failure, stable.", "I50.9") == []


def test_each_kind_needs_its_own_indicators() -> None:
    assert _kinds("Obesity. BMI 41.2.", "E66.9") == ["obesity_class"]
    assert _kinds("Obesity. BMI 27.", "E66.9") == []
    assert _kinds("CKD. eGFR 38, creatinine 1.9.", "N18.9") == ["ckd_stage"]
    assert _kinds("Pneumonia. Sputum culture grew Streptococcus pneumoniae.", "J18.9") == [
        "pneumonia_organism"
    ]
    assert _kinds("Pneumonia. Sputum culture pending.", "J18.9") == []
    # Confusion alone is a symptom; confusion with a cause in view is worth a query.
    assert _kinds("Patient confused overnight.", "R41.0") == []
    assert _kinds("Confused, ammonia 112.", "R41.0") == ["encephalopathy_type"]
    resp = "Respiratory failure. SpO2 84% on room air, placed on BiPAP."
    assert _kinds(resp, "J96.90") == ["respiratory_failure_type"]


def test_compliance_catches_leading_payment_words_and_misquoted_indicators() -> None:
    draft = draft_query(find_gaps(HEART_FAILURE, ["I50.9"])[0])
    leading = replace(draft, question="Please document acute on chronic HF for the MCC.")
    assert any("payment" in p for p in compliance_problems(leading, HEART_FAILURE))
    narrowed = replace(draft, options=draft.options[:2])
    problems = compliance_problems(narrowed, HEART_FAILURE)
    assert any(OTHER in p for p in problems) and any(UNDETERMINED in p for p in problems)
    moved = replace(draft, indicators=draft.indicators[:1])
    shifted = replace(
        moved.indicators[0],
        evidence=moved.indicators[0].evidence.model_copy(update={"start": 0}),
    )
    assert compliance_problems(replace(moved, indicators=(shifted,)), HEART_FAILURE)


def test_the_agent_proposals_lead_to_the_query(agent: CodingAgent) -> None:
    # "heart failure" with no type or acuity is I50.9 by the index: the query asks for them.
    chart = build_chart(HEART_FAILURE, ChartMeta(setting="inpatient", age=74, sex="M"))
    codes = [p.code for p in agent.code(chart, "claims").proposals]
    assert "I50.9" in codes
    assert [g.kind.name for g in find_gaps(chart.text, codes)] == ["heart_failure_type"]


def test_sepsis_without_organ_dysfunction_coded_and_an_unstaged_pressure_injury() -> None:
    sepsis = "Sepsis. Lactate 4.0, MAP 60 on norepinephrine."
    assert _kinds(sepsis, "A41.9") == ["sepsis_organ_dysfunction"]
    # Severe sepsis already coded (R65.2-): nothing to ask.
    assert _kinds(sepsis, "A41.9", "R65.21") == []
    wound = "Sacral pressure ulcer, 3 x 2 cm, slough in the wound bed."
    assert _kinds(wound, "L89.159") == ["pressure_injury_stage"]
    assert _kinds(wound, "L89.153") == []  # stage 3 coded
    assert _kinds("Sacral pressure ulcer.", "L89.159") == []


def test_a_side_the_title_leaves_unspecified_and_the_chart_does_not_settle() -> None:
    title = {"M17.10": "Unilateral primary osteoarthritis, unspecified knee"}
    conflict = "X-ray: right knee joint space narrowing. Assessment: osteoarthritis, left knee."
    (gap,) = find_gaps(conflict, ["M17.10"], title)
    assert gap.kind.name == "laterality"
    assert [i.evidence.quote for i in gap.indicators] == ["right knee", "left knee"]
    assert compliance_problems(draft_query(gap), conflict) == []
    assert [g.kind.name for g in find_gaps("Osteoarthritis of knee.", ["M17.10"], title)] == [
        "laterality"
    ]
    # One side documented is for the coder to code (M17.11), not a query; nor without titles.
    assert find_gaps("Osteoarthritis of the right knee.", ["M17.10"], title) == []
    assert find_gaps(conflict, ["M17.10"]) == []


def test_two_notes_that_disagree_on_the_type_are_a_query() -> None:
    notes = "H&P: type 1 diabetes since age 9.\nProgress note: T2DM, on insulin."
    (gap,) = find_gaps(notes, ["E10.9"])
    assert gap.kind.name == "diabetes_type_conflict"
    assert [i.evidence.quote for i in gap.indicators] == ["type 1 diabetes", "T2DM"]
    assert find_gaps("Type 2 diabetes; T2DM on metformin.", ["E11.9"]) == []
    combined = "Chronic combined systolic and diastolic heart failure."
    assert find_gaps(combined, ["I50.22"]) == []  # "systolic and diastolic" is one type


def test_diabetes_beside_a_skin_infection_the_provider_has_not_linked() -> None:
    chart = "Cellulitis of the left foot. A1c 9.6%."
    (gap,) = find_gaps(chart, ["L03.116", "E11.9"])
    assert gap.kind.name == "diabetes_link" and gap.code == "E11.9"
    assert find_gaps(chart, ["E11.9"]) == []  # no infection proposed: nothing to link
    assert find_gaps(chart, ["L03.116", "E11.628"]) == []  # already linked
