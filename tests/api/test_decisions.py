"""Decisions: versions (ETag / If-Match), idempotent retries, bad input, added codes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from tests.api.client import Api
from wiring.settings import Settings

CHART = (Path(__file__).parents[1] / "agent" / "charts" / "appendicitis_diabetes.txt").read_text()


def test_stale_version_gets_409_with_the_current_state(api: Api) -> None:
    proposal = api.coded_chart(CHART)[0]
    first = api.decide(proposal, action="accept")
    assert first.status_code == 200 and first.json()["version"] == 2
    stale = api.decide(proposal, action="reject", reason="not_documented")
    assert stale.status_code == 409
    assert stale.json()["current"]["status"] == "accepted"
    assert stale.json()["current"]["version"] == 2
    missing = api.post(f"/proposals/{proposal['id']}/decision", json={"action": "accept"})
    assert missing.status_code == 428
    by_body = api.post(
        f"/proposals/{proposal['id']}/decision",
        json={"action": "reject", "reason": "duplicate", "version": 2},
    )
    assert by_body.status_code == 200 and by_body.json()["status"] == "rejected"
    bad = api.post(
        f"/proposals/{proposal['id']}/decision",
        json={"action": "accept"},
        headers={"If-Match": "yesterday"},
    )
    assert bad.status_code == 422 and bad.json()["field"] == "If-Match"


def test_idempotency_key_replays_instead_of_acting_twice(api: Api) -> None:
    body = {"text": "Chronic obstructive pulmonary disease.", "meta": {}}
    headers = {"Idempotency-Key": "chart-upload-0001"}
    first = api.post("/charts", json=body, headers=headers)
    again = api.post("/charts", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert api.get("/charts").json()["total"] == 1
    other = api.post("/charts", json={**body, "text": "Asthma."}, headers=headers)
    assert other.status_code == 422 and "different request" in other.json()["detail"]

    proposal = api.coded_chart(CHART)[0]
    retry = {"Idempotency-Key": "decision-1", "If-Match": '"1"'}
    path = f"/proposals/{proposal['id']}/decision"
    one = api.post(path, json={"action": "accept"}, headers=retry)
    two = api.post(path, json={"action": "accept"}, headers=retry)
    assert one.status_code == two.status_code == 200 and two.json()["version"] == 2
    audit = api.get(f"/charts/{proposal['chart_id']}/audit").json()
    assert [e["action"] for e in audit].count("proposal.accept") == 1


def test_bad_bodies_are_422_with_field_paths(api: Api) -> None:
    proposal = api.coded_chart(CHART)[0]
    cases: list[tuple[dict[str, Any], str]] = [
        ({"action": "approve"}, "body.action"),
        ({"action": "modify", "reason": "more_specific_code"}, "code"),
        ({"action": "modify", "code": "K99.12", "reason": "wrong_code"}, "code"),
        ({"action": "modify", "code": "E11.2", "reason": "wrong_code"}, "code"),
        ({"action": "modify", "code": "E11.21", "reason": "because"}, "reason"),
        ({"action": "reject", "reason": "other"}, "note"),
        ({"action": "accept", "extra": 1}, "body.extra"),
    ]
    for body, field in cases:
        response = api.decide(proposal, **body)
        assert response.status_code == 422, (body, response.text)
        problem = response.json()
        fields = [problem.get("field")] + [e["field"] for e in problem.get("errors", [])]
        assert field in fields, (body, problem)
        assert problem["detail"]
    unknown = api.decide(proposal, action="modify", code="K99.12", reason="wrong_code")
    # The chart has no date of service: it is coded, and checked, in the newest year held.
    assert "not a code in ICD-10-CM FY2027" in unknown.json()["detail"]
    heading = api.decide(proposal, action="modify", code="E11.2", reason="wrong_code")
    assert "E11.21" in heading.json()["detail"]  # names the billable children
    for broken in (b"{not json", b"[]", b'{"action": 5}'):
        response = api.client.post(
            f"/proposals/{proposal['id']}/decision",
            content=broken,
            headers=api.headers(**{"Content-Type": "application/json", "If-Match": '"1"'}),
        )
        assert response.status_code == 422, response.text
    assert api.get(f"/proposals/{proposal['id']}").status_code in (404, 405)
    assert api.decide({**proposal, "id": 999999}, action="accept").status_code == 404
    assert api.post("/charts/999999/commit").status_code == 404
    empty = api.post("/charts", json={"text": "   \n "})
    assert empty.status_code == 422 and empty.json()["title"] == "Invalid request content"
    fhir = api.post("/charts", json={"fhir": {"resourceType": "DocumentReference"}})
    assert fhir.status_code == 422 and "DocumentReference" in fhir.json()["detail"]


def test_coder_added_code_needs_a_real_span_and_a_billable_code(api: Api) -> None:
    text = "Assessment: acute appendicitis. Also has essential hypertension, on lisinopril."
    chart = api.chart(text)
    start = text.index("essential hypertension")
    span = {"start": start, "end": start + len("essential hypertension")}
    added = api.post(f"/charts/{chart['id']}/codes", json={"code": "i10", "evidence": [span]})
    assert added.status_code == 201, added.text
    body = added.json()
    assert body["code"] == "I10" and body["origin"] == "coder" and body["status"] == "added"
    assert body["evidence"][0]["quote"] == "essential hypertension"
    outside = api.post(
        f"/charts/{chart['id']}/codes",
        json={"code": "I10", "evidence": [{"start": 5, "end": 10_000}]},
    )
    assert outside.status_code == 422 and outside.json()["field"] == "evidence.0"
    nothing = api.post(f"/charts/{chart['id']}/codes", json={"code": "I10", "evidence": []})
    assert nothing.status_code == 422
    heading = api.post(f"/charts/{chart['id']}/codes", json={"code": "I25", "evidence": [span]})
    assert heading.status_code == 422 and heading.json()["field"] == "code"
    assert api.get(f"/charts/{chart['id']}").json()["status"] == "in_review"


def test_commit_blocks_on_excludes1_and_a_missing_principal(api: Api) -> None:
    text = "Type 1 diabetes mellitus. Type 2 diabetes mellitus. Cough."
    chart = api.chart(text)
    for code, words, principal in (("E10.9", "Type 1", False), ("E11.9", "Type 2", False)):
        start = text.index(words)
        body = {
            "code": code,
            "evidence": [{"start": start, "end": start + 6}],
            "principal": principal,
        }
        assert api.post(f"/charts/{chart['id']}/codes", json=body).status_code == 201
    refused = api.post(f"/charts/{chart['id']}/commit")
    assert refused.status_code == 409
    problems = " | ".join(refused.json()["problems"])
    assert "Excludes1 conflict: E10.9 and E11.9" in problems or "E11.9 and E10.9" in problems
    assert "principal diagnosis missing" in problems


def test_audit_rows_cannot_be_changed_even_in_the_database(
    api: Api, api_settings: Settings
) -> None:
    api.chart("Asthma.")
    engine = create_engine(api_settings.review_database_url)
    for statement in ("UPDATE audit_events SET actor = 'mallory'", "DELETE FROM audit_events"):
        with engine.connect() as connection:
            try:
                connection.execute(text(statement))
                connection.commit()
                raised = False
            except DBAPIError as error:
                raised = "append-only" in str(error)
        assert raised, statement
    with engine.connect() as connection:
        actors = connection.execute(text("SELECT actor FROM audit_events")).scalars().all()
    engine.dispose()
    assert "mallory" not in actors and len(actors) >= 2


def test_out_of_range_ids_and_versions_are_422_not_500(api: Api) -> None:
    huge = 2**63
    for path in (f"/charts/{huge}", "/charts/2147483648", f"/charts?offset={huge}"):
        response = api.get(path)
        assert response.status_code == 422, (path, response.text)
    commit = api.post("/charts/1/commit", json={"version": 2147483648})
    assert commit.status_code == 422
    stale = api.post("/charts/1/commit", headers={"If-Match": '"2147483648"'})
    assert stale.status_code == 422 and stale.json()["field"] == "If-Match"


def test_code_lookup_for_the_modify_dialog(api: Api) -> None:
    found = api.get("/codes/e11.22").json()
    assert found["code"] == "E11.22" and found["billable"] and found["kb_release"]
    assert any(n["kind"] == "use_additional_code" for n in found["notes"])
    assert any(n["inherited"] for n in found["notes"])  # E11 notes reach E11.22
    assert api.get("/codes/0DTJ4ZZ").json()["system"] == "pcs"
    unknown = api.get("/codes/K99.12")
    assert unknown.status_code == 404 and unknown.json()["nearest"]
    hits = api.get("/codes/search", params={"q": "appendicitis", "k": 3}).json()
    assert len(hits) == 3 and all(h["billable"] for h in hits)


def test_audit_trail_reads_newest_first_and_pages_back(api: Api) -> None:
    proposals = api.coded_chart(CHART)
    chart_id = proposals[0]["chart_id"]
    for proposal in proposals[:3]:
        assert api.decide(proposal, action="accept").status_code == 200
    everything = api.get(f"/charts/{chart_id}/audit").json()
    ids = [e["id"] for e in everything]
    assert len(ids) >= 5 and ids == sorted(ids)

    newest = api.get(f"/charts/{chart_id}/audit?order=newest&limit=2").json()
    assert [e["id"] for e in newest] == ids[::-1][:2]
    assert newest[0]["action"] == "proposal.accept"
    older = api.get(f"/charts/{chart_id}/audit?order=newest&limit=2&before_id={newest[-1]['id']}")
    assert [e["id"] for e in older.json()] == ids[::-1][2:4]
    # Both bounds at once: what lies between two rows, in either order.
    between = f"/charts/{chart_id}/audit?after_id={ids[0]}&before_id={ids[-1]}"
    assert [e["id"] for e in api.get(between).json()] == ids[1:-1]
    assert [e["id"] for e in api.get(between + "&order=newest").json()] == ids[1:-1][::-1]

    for bad in ("order=latest", "before_id=0", f"before_id={2**63}"):
        response = api.get(f"/charts/{chart_id}/audit?{bad}")
        assert response.status_code == 422, (bad, response.text)
