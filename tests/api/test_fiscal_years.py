"""The date of service over HTTP, on SQLite and PostgreSQL: it chooses the fiscal year's code
set for the coding run, the decisions, the commit and the exports (I42.0 Dilated
cardiomyopathy was deleted in FY2027 and split into I42.00, I42.01, I42.09)."""

from __future__ import annotations

import base64
import csv
import io
import json
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

from tests.api.client import Api

CHART = "Discharge diagnoses:\n1. Dilated cardiomyopathy.\n2. Essential hypertension.\n"
I42_0_CHILDREN = {"I42.00", "I42.01", "I42.09"}


def coding_run(api: Api, **meta: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(chart, run) of CHART posted with `meta` and coded."""
    chart = api.chart(CHART, **meta)
    response = api.post(f"/charts/{chart['id']}/coding-runs", json={})
    assert response.status_code == 201, response.text
    return chart, response.json()


def cm_codes(run: dict[str, Any]) -> set[str]:
    return {p["code"] for p in run["proposals"] if p["system"] == "cm"}


def test_discharged_2026_11_15_gets_an_i42_0_child_never_i42_0(api: Api) -> None:
    chart, run = coding_run(api, setting="inpatient", discharge_date="2026-11-15")
    assert chart["discharge_date"] == "2026-11-15"
    codes = cm_codes(run)
    assert "I42.0" not in codes and codes & I42_0_CHILDREN, codes
    assert run["fiscal_year"] == 2027 and run["warnings"] == []
    assert {p["fiscal_year"] for p in run["proposals"]} == {2027}


def test_discharged_2026_09_15_gets_i42_0(api: Api) -> None:
    _, run = coding_run(
        api, setting="inpatient", admission_date="2026-09-10", discharge_date="2026-09-15"
    )
    codes = cm_codes(run)
    assert "I42.0" in codes and not codes & I42_0_CHILDREN, codes
    assert run["fiscal_year"] == 2026


def test_an_outpatient_visit_date_decides(api: Api) -> None:
    _, run = coding_run(api, setting="outpatient", encounter_date="2026-10-01")
    assert run["fiscal_year"] == 2027


def test_no_date_is_the_newest_year_and_the_run_says_so(api: Api) -> None:
    _, run = coding_run(api)
    assert run["fiscal_year"] == 2027
    assert len(run["warnings"]) == 1 and "no date of service" in run["warnings"][0]
    runs_audit = api.get(f"/charts/{run['chart_id']}/audit").json()
    assert [e["fiscal_year"] for e in runs_audit if e["action"] == "coding_run.create"] == [2027]


@pytest.mark.parametrize(
    ("meta", "field", "words"),
    [
        ({"discharge_date": "11/15/2026"}, "body.meta.discharge_date", "YYYY-MM-DD"),
        ({"encounter_date": "2026-02-30"}, "body.meta.encounter_date", "not a calendar date"),
        (
            {"admission_date": "2026-10-05", "discharge_date": "2026-10-01"},
            "body.meta",
            "discharge_date 2026-10-01 is before admission_date 2026-10-05",
        ),
    ],
)
def test_bad_dates_are_422_naming_the_field(
    api: Api, meta: dict[str, Any], field: str, words: str
) -> None:
    response = api.post("/charts", json={"text": CHART, "meta": meta})
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["errors"][0]["field"] == field and words in problem["detail"], problem


def test_a_date_in_no_year_held_is_422_naming_the_years(api: Api) -> None:
    meta = {"setting": "inpatient", "discharge_date": "2027-10-02"}
    response = api.post("/charts", json={"text": CHART, "meta": meta})
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["field"] == "body.meta.discharge_date"
    assert problem["fiscal_years"] == [2026, 2027]
    assert "FY2028" in problem["detail"] and "FY2026, FY2027" in problem["detail"]


def test_fhir_encounter_period_dates_the_chart(api: Api) -> None:
    doc = {
        "resourceType": "DocumentReference",
        "status": "current",
        "content": [
            {
                "attachment": {
                    "contentType": "text/plain",
                    "data": base64.b64encode(CHART.encode()).decode(),
                }
            }
        ],
    }
    encounter = {
        "resourceType": "Encounter",
        "status": "finished",
        "class": {"code": "IMP"},
        "period": {"start": "2026-09-28", "end": "2026-10-03"},
    }
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": encounter}, {"resource": doc}],
    }
    response = api.post("/charts", json={"fhir": bundle, "meta": {"setting": "inpatient"}})
    assert response.status_code == 201, response.text
    chart = response.json()
    assert (chart["admission_date"], chart["discharge_date"]) == ("2026-09-28", "2026-10-03")
    run = api.post(f"/charts/{chart['id']}/coding-runs", json={}).json()
    assert run["fiscal_year"] == 2027


def proposal_of(run: dict[str, Any], codes: set[str]) -> dict[str, Any]:
    return next(p for p in run["proposals"] if p["code"] in codes)


def test_a_modify_to_a_code_deleted_in_the_charts_year_is_refused(api: Api) -> None:
    _, run = coding_run(api, setting="inpatient", discharge_date="2026-11-15")
    proposal = proposal_of(run, I42_0_CHILDREN)
    response = api.decide(proposal, action="modify", code="I42.0", reason="wrong_code")
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["field"] == "code" and problem["fiscal_year"] == 2027
    assert problem["replacements"] == ["I42.00", "I42.01", "I42.09"]
    assert "I42.0 deleted in FY2027" in problem["detail"]
    other = sorted(I42_0_CHILDREN - {proposal["code"]})[0]
    changed = api.decide(proposal, action="modify", code=other, reason="more_specific_code")
    assert changed.status_code == 200, changed.text


def test_a_modify_to_a_code_added_after_the_charts_year_is_refused(api: Api) -> None:
    _, run = coding_run(api, setting="inpatient", discharge_date="2026-09-15")
    proposal = proposal_of(run, {"I42.0"})
    response = api.decide(proposal, action="modify", code="I42.09", reason="wrong_code")
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["fiscal_year"] == 2026 and problem["replacements"] == ["I42.0"]
    assert "does not exist until FY2027" in problem["detail"]
    added = api.post(
        f"/charts/{proposal['chart_id']}/codes",
        json={"code": "I49.81", "evidence": [{"start": 0, "end": 9}]},
    )
    assert added.status_code == 422 and "does not exist until FY2027" in added.json()["detail"]


def test_commit_and_exports_carry_the_charts_year(api: Api) -> None:
    chart, run = coding_run(api, setting="inpatient", discharge_date="2026-11-15")
    for proposal in run["proposals"]:
        assert api.decide(proposal, action="accept").status_code == 200
    commit = api.post(f"/charts/{chart['id']}/commit", json={})
    assert commit.status_code == 201, commit.text
    assert commit.json()["fiscal_year"] == 2027
    assert api.get(f"/charts/{chart['id']}/code-sets/1").json()["fiscal_year"] == 2027
    audit = api.get(f"/charts/{chart['id']}/audit").json()
    years = {e["action"]: e["fiscal_year"] for e in audit}
    assert years["proposal.accept"] == years["chart.commit"] == 2027
    bundle = api.get(f"/charts/{chart['id']}/export?format=fhir").json()
    parsed = Bundle.model_validate(bundle)  # valid R4
    claim: Any = bundle["entry"][0]["resource"]
    assert parsed.entry and claim["resourceType"] == "Claim"
    versions = {d["diagnosisCodeableConcept"]["coding"][0]["version"] for d in claim["diagnosis"]}
    assert versions == {"2027"}
    text = api.get(f"/charts/{chart['id']}/export?format=csv").text
    assert {row["fiscal_year"] for row in csv.DictReader(io.StringIO(text))} == {"2027"}


def test_codes_by_year(api: Api) -> None:
    heading = api.get("/codes/I42.0", params={"year": 2027}).json()
    assert heading["billable"] is False and heading["fiscal_year"] == 2027
    assert "I42.00, I42.01, I42.09" in heading["change"]
    assert api.get("/codes/I42.0").json()["billable"] is True
    missing = api.get("/codes/I49.81", params={"year": 2026})
    assert missing.status_code == 404 and "does not exist until FY2027" in missing.json()["detail"]
    found = api.get("/codes/search", params={"q": "Brugada syndrome", "year": 2027}).json()
    assert found[0]["code"] == "I49.81"
    unknown = api.get("/codes/search", params={"q": "Brugada", "year": 2031})
    assert unknown.status_code == 422 and "FY2026, FY2027" in unknown.json()["detail"]
    assert json.dumps(found)  # plain JSON


def test_code_search_by_the_agent(api: Api) -> None:
    """`by=agent` codes the phrase as a one-line statement in the year asked, then searches."""
    params: dict[str, Any] = {"q": "dilated cardiomyopathy", "system": "cm", "by": "agent"}
    later = api.get("/codes/search", params={**params, "year": 2027}).json()
    assert later[0]["code"] in I42_0_CHILDREN and "I42.0" not in [h["code"] for h in later]
    earlier = api.get("/codes/search", params={**params, "year": 2026}).json()
    assert earlier[0]["code"] == "I42.0" and all(hit["billable"] for hit in earlier)
    wrong = api.get("/codes/search", params={**params, "by": "magic"})
    assert wrong.status_code == 422 and "by" in wrong.text
