"""The whole review session over HTTP, on SQLite and PostgreSQL: post, code, decide,
commit (refused, then done), decisions after commit refused, audit trail, exports."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from fhir.resources.R4B.bundle import Bundle

from tests.api.client import Api

CHART = (Path(__file__).parents[1] / "agent" / "charts" / "appendicitis_diabetes.txt").read_text()


def _by_code(proposals: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {p["code"]: p for p in proposals}


def test_scripted_review_session(api: Api) -> None:
    coder = api.user("coder-ann", "coder")
    auditor = api.user("auditor-bo", "auditor")
    chart = api.chart(CHART, coder, setting="inpatient", age=58, sex="F")
    assert chart["status"] == "new"
    run = api.post(f"/charts/{chart['id']}/coding-runs", coder, json={})
    assert run.status_code == 201, run.text
    proposals = _by_code(run.json()["proposals"])
    assert {"K35.80", "E11.22", "0DTJ4ZZ"} <= set(proposals), proposals.keys()
    assert run.json()["kb_release"] and run.json()["proposer"] == "offline"

    accepted = api.decide(proposals["K35.80"], coder, action="accept")
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted" and accepted.headers["ETag"] == '"2"'

    rejected = api.decide(proposals["0DTJ4ZZ"], coder, action="reject")
    assert rejected.status_code == 422 and rejected.json()["field"] == "reason"

    # Commit is refused while something is undecided; every problem is listed.
    refused = api.post(f"/charts/{chart['id']}/commit", json={})
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert problem["title"] == "Commit refused"
    assert any("has no decision" in p for p in problem["problems"])

    for code, proposal in proposals.items():
        if code == "K35.80":
            continue
        if code == "E11.22":
            response = api.decide(
                proposal,
                coder,
                action="modify",
                code="E11.21",
                reason="more_specific_code",
                note="nephropathy documented by nephrology",
            )
            assert response.status_code == 200, response.text
            assert response.json()["final_code"] == "E11.21"
        elif proposal["system"] == "pcs":
            assert api.decide(proposal, coder, action="accept").status_code == 200
        else:
            response = api.decide(
                proposal, coder, action="reject", reason="not_documented", note="not in note"
            )
            assert response.status_code == 200, response.text

    # A coder may not commit; a lead may.
    assert api.post(f"/charts/{chart['id']}/commit", coder, json={}).status_code == 403
    committed = api.post(f"/charts/{chart['id']}/commit", json={})
    assert committed.status_code == 201, committed.text
    code_set = committed.json()
    assert code_set["version"] == 1
    codes = [c["code"] for c in code_set["codes"]]
    assert codes[0] == "K35.80" and code_set["codes"][0]["principal"] is True
    assert "E11.21" in codes and "E11.22" not in codes and "0DTJ4ZZ" in codes

    # After commit, decisions are refused with the chart's state.
    fresh = _by_code(api.get(f"/charts/{chart['id']}/proposals", coder).json())
    late = api.decide(fresh["K35.80"], coder, action="reject", reason="duplicate")
    assert late.status_code == 409 and late.json()["current"]["status"] == "committed"

    # The auditor reads everything and changes nothing.
    trail = api.get(f"/charts/{chart['id']}/audit", auditor)
    assert trail.status_code == 200
    actions = [event["action"] for event in trail.json()]
    assert actions[0] == "chart.create" and actions[1] == "coding_run.create"
    assert actions[-1] == "chart.commit"
    assert actions.count("proposal.modify") == 1
    modify = next(e for e in trail.json() if e["action"] == "proposal.modify")
    assert modify["actor"] == "coder-ann" and modify["role"] == "coder"
    assert modify["before"]["status"] == "pending" and modify["after"]["final_code"] == "E11.21"
    assert modify["reason"].startswith("more_specific_code")
    assert modify["kb_release"] == run.json()["kb_release"]  # versions behind the proposal
    assert all(e["request_id"] for e in trail.json())
    run_event = trail.json()[1]
    assert run_event["kb_release"] == run.json()["kb_release"]
    assert (
        api.post(f"/charts/{chart['id']}/reopen", auditor, json={"reason": "x" * 5}).status_code
        == 403
    )

    fhir = api.get(f"/charts/{chart['id']}/export", auditor, params={"format": "fhir"})
    assert fhir.status_code == 200 and fhir.headers["content-type"].startswith(
        "application/fhir+json"
    )
    bundle = Bundle.model_validate(fhir.json())
    assert bundle.entry
    claim: Any = bundle.entry[0].resource
    diagnoses = [d.diagnosisCodeableConcept.coding[0].code for d in claim.diagnosis]
    assert diagnoses == [c for c in codes if c != "0DTJ4ZZ"] and diagnoses[0] == "K35.80"
    assert [p.procedureCodeableConcept.coding[0].code for p in claim.procedure] == ["0DTJ4ZZ"]

    exported = api.get(f"/charts/{chart['id']}/export", auditor, params={"format": "csv"})
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["code"] for r in rows] == codes


def test_reopen_makes_a_new_version_and_keeps_the_old(api: Api) -> None:
    proposals = api.coded_chart(CHART)
    chart_id = proposals[0]["chart_id"]
    for proposal in proposals:
        assert api.decide(proposal, action="accept").status_code == 200
    first = api.post(f"/charts/{chart_id}/commit")
    assert first.status_code == 201, first.text
    reopened = api.post(f"/charts/{chart_id}/reopen", json={"reason": "query answered: CKD 4"})
    assert reopened.status_code == 200 and reopened.json()["status"] == "in_review"
    again = api.post(f"/charts/{chart_id}/reopen", json={"reason": "twice"})
    assert again.status_code == 409
    current = _by_code(api.get(f"/charts/{chart_id}/proposals").json())
    changed = api.decide(
        current["E11.22"], action="modify", code="E11.21", reason="more_specific_code"
    )
    assert changed.status_code == 200, changed.text
    # N18.3- says "code first any associated" E11.22 among others: a conditional note, so
    # its missing partner is a warning the set is committed with, not a blocker.
    second = api.post(f"/charts/{chart_id}/commit")
    assert second.status_code == 201, second.text
    assert second.json()["version"] == 2
    warned = [w for w in second.json()["warnings"] if w["codes"][0].startswith("N18.3")]
    assert warned and warned[0]["severity"] == "warning" and warned[0]["rule"] == "I.B.7"
    assert "code first" in warned[0]["message"] and "I.B.7" in warned[0]["message"]
    versions = api.get(f"/charts/{chart_id}/code-sets").json()
    assert [v["version"] for v in versions] == [1, 2]
    old = api.get(f"/charts/{chart_id}/code-sets/1").json()
    assert "E11.22" in [c["code"] for c in old["codes"]]
    assert "E11.21" in [
        c["code"] for c in api.get(f"/charts/{chart_id}/code-sets/2").json()["codes"]
    ]
    assert api.get(f"/charts/{chart_id}/code-sets/3").status_code == 404
