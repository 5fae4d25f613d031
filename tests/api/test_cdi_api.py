"""GET /charts/{id}/cdi over HTTP: a chart with unspecified heart failure and clinical
indicators gets a compliant query draft; rejecting the proposal withdraws the gap."""

from __future__ import annotations

from tests.api.client import Api

CHART = (
    "Discharge Summary\n"
    "74M admitted with dyspnea, orthopnea and 3+ bilateral leg edema. BNP 2,350. Echo: EF 30%.\n"
    "Treated with IV furosemide.\n"
    "Discharge diagnoses: heart failure."
)


def test_a_heart_failure_without_type_gets_a_query_draft(api: Api) -> None:
    chart = api.chart(CHART, setting="inpatient", age=74, sex="M", discharge_date="2026-06-30")
    proposals = api.post(f"/charts/{chart['id']}/coding-runs", json={}).json()["proposals"]
    heart_failure = next(p for p in proposals if p["code"] == "I50.9")
    gaps = api.get(f"/charts/{chart['id']}/cdi").json()
    (gap,) = [g for g in gaps if g["kind"] == "heart_failure_type"]
    assert gap["proposal_id"] == heart_failure["id"] and gap["compliance_problems"] == []
    for indicator in gap["indicators"]:
        assert CHART[indicator["start"] : indicator["end"]] == indicator["quote"]
    assert {"EF 30%", "BNP 2,350", "IV furosemide"} <= {i["quote"] for i in gap["indicators"]}
    assert gap["options"][-2:] == ["Other (please specify)", "Clinically undetermined"]
    assert "DRG" not in gap["query_text"] and "MCC" not in gap["query_text"]

    rejected = api.decide(heart_failure, action="reject", reason="not_documented")
    assert rejected.status_code == 200
    after = api.get(f"/charts/{chart['id']}/cdi").json()
    assert all(g["kind"] != "heart_failure_type" for g in after)
    assert api.get("/charts/999999/cdi").status_code == 404
