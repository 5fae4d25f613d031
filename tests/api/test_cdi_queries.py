"""A CDI query end to end over HTTP: a chart says only "heart failure"; the query drafted from
its indicators is sent and answered "acute on chronic diastolic"; the answer joins the chart,
a new coding run proposes I50.33, the DRG shows the MCC, and the audit has every step."""

from __future__ import annotations

from typing import Any

from tests.api.client import Api

CHART = (
    "Discharge Summary\n"
    "78F admitted with fever, productive cough and a right lower lobe infiltrate on chest x-ray.\n"
    "Also dyspnea with orthopnea and bilateral leg edema. BNP 1,900. Echo: EF 60%.\n"
    "Treated with ceftriaxone and azithromycin, and IV furosemide.\n"
    "Discharge diagnoses: pneumonia. Heart failure."
)
ANSWER = "Acute on chronic diastolic (congestive) heart failure"


def _query_body(gap: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": gap["kind"],
        "topic": gap["topic"],
        "question": gap["question"],
        "options": gap["options"],
        "indicators": [
            {"what": i["what"], "start": i["start"], "end": i["end"]} for i in gap["indicators"]
        ],
        "code": gap["code"],
        "proposal_id": gap["proposal_id"],
    }


def test_query_answer_recode_and_the_drg_gains_the_mcc(api: Api) -> None:
    chart = api.chart(CHART, setting="inpatient", age=78, sex="F", discharge_date="2026-06-30")
    chart_id = chart["id"]
    first = api.post(f"/charts/{chart_id}/coding-runs", json={}).json()["proposals"]
    assert "I50.9" in {p["code"] for p in first}
    (gap,) = [g for g in api.get(f"/charts/{chart_id}/cdi").json() if g["code"] == "I50.9"]

    # A leading, payment-minded edit is refused; the draft as given is accepted.
    leading = {**_query_body(gap), "question": "Can you document acute on chronic HF (MCC)?"}
    refused = api.post(f"/charts/{chart_id}/queries", json=leading)
    assert refused.status_code == 422 and "payment" in refused.json()["detail"]
    created = api.post(f"/charts/{chart_id}/queries", json=_query_body(gap))
    assert created.status_code == 201, created.text
    query = created.json()
    assert query["status"] == "open"
    assert [i["quote"] for i in query["indicators"]] == [i["quote"] for i in gap["indicators"]]

    answered = api.post(f"/queries/{query['id']}/answer", json={"answer": ANSWER})
    assert answered.status_code == 200 and answered.json()["status"] == "answered"
    again = api.post(f"/queries/{query['id']}/answer", json={"answer": ANSWER})
    assert again.status_code == 409
    text = api.get(f"/charts/{chart_id}").json()["text"]
    assert text.startswith(CHART) and ANSWER in text

    second = api.post(f"/charts/{chart_id}/coding-runs", json={}).json()["proposals"]
    codes = {p["code"]: p for p in second}
    assert "I50.33" in codes and "I50.9" not in codes
    for proposal in second:
        if proposal["code"] == "J18.9":
            assert api.decide(proposal, action="accept", principal=True).status_code == 200
        elif proposal["code"] != "I50.33":
            assert api.decide(proposal, action="reject", reason="not_documented").status_code == 200
    if "J18.9" not in codes:
        at = CHART.index("pneumonia.")
        added = {"code": "J18.9", "evidence": [{"start": at, "end": at + 9}], "principal": True}
        assert api.post(f"/charts/{chart_id}/codes", json=added).status_code == 201
    drg = api.get(f"/charts/{chart_id}/drg").json()
    (pending,) = drg["pending"]
    assert pending["code"] == "I50.33" and pending["severity"] == "MCC"
    assert (drg["drg"], pending["drg_with"]) == (195, 193)  # simple pneumonia: w/o CC -> w MCC
    assert api.decide(codes["I50.33"], action="accept").status_code == 200
    drg = api.get(f"/charts/{chart_id}/drg").json()
    assert (drg["drg"], drg["severity"]) == (193, "MCC")

    actions = [e["action"] for e in api.get(f"/charts/{chart_id}/audit").json()]
    for step in ("chart.create", "query.create", "query.answer", "proposal.accept"):
        assert step in actions, actions
    assert actions.count("coding_run.create") == 2
    runs = [n for n, a in enumerate(actions) if a == "coding_run.create"]
    # The second run came after the answer, and read it.
    assert runs[0] < actions.index("query.create") < actions.index("query.answer") < runs[1]


def test_an_open_query_is_a_commit_warning_and_cancel_needs_a_reason(api: Api) -> None:
    chart = api.chart(CHART, setting="inpatient", age=78, sex="F", discharge_date="2026-06-30")
    chart_id = chart["id"]
    proposals = api.post(f"/charts/{chart_id}/coding-runs", json={}).json()["proposals"]
    (gap,) = [g for g in api.get(f"/charts/{chart_id}/cdi").json() if g["code"] == "I50.9"]
    query = api.post(f"/charts/{chart_id}/queries", json=_query_body(gap)).json()
    for proposal in proposals:
        body = {"action": "accept", "principal": proposal["code"] == "J18.9"}
        assert api.decide(proposal, **body).status_code == 200
    # Committed, or blocked for another reason: either way the open query is a warning.
    committed = api.post(f"/charts/{chart_id}/commit", json={})
    assert "cdi.open_query" in [w["rule"] for w in committed.json()["warnings"]]
    other = api.chart(CHART, setting="inpatient")
    api.post(f"/charts/{other['id']}/coding-runs", json={})
    (gap,) = [g for g in api.get(f"/charts/{other['id']}/cdi").json() if g["code"] == "I50.9"]
    query = api.post(f"/charts/{other['id']}/queries", json=_query_body(gap)).json()
    blank = api.post(f"/queries/{query['id']}/cancel", json={"reason": " "})
    assert blank.status_code == 422
    cancelled = api.post(f"/queries/{query['id']}/cancel", json={"reason": "physician left"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert api.post(f"/queries/{query['id']}/answer", json={"answer": "x"}).status_code == 409
    assert api.get("/queries/999999").status_code == 404


def test_a_draft_is_edited_then_sent_and_only_then_answered(api: Api) -> None:
    chart = api.chart(CHART, setting="inpatient", age=78, sex="F", discharge_date="2026-06-30")
    api.post(f"/charts/{chart['id']}/coding-runs", json={})
    (gap,) = [g for g in api.get(f"/charts/{chart['id']}/cdi").json() if g["code"] == "I50.9"]
    draft = api.post(f"/charts/{chart['id']}/queries", json={**_query_body(gap), "send": False})
    assert draft.status_code == 201 and draft.json()["status"] == "draft"
    query_id = draft.json()["id"]
    early = api.post(f"/queries/{query_id}/answer", json={"answer": ANSWER})
    assert early.status_code == 409  # not sent yet
    edited = {**_query_body(gap), "question": "Can the type and acuity be clarified?"}
    assert (
        api.client.put(f"/queries/{query_id}", json=edited, headers=api.headers()).json()[
            "question"
        ]
        == "Can the type and acuity be clarified?"
    )
    leading = {**edited, "options": ["Acute on chronic diastolic"]}
    refused = api.client.put(f"/queries/{query_id}", json=leading, headers=api.headers())
    assert refused.status_code == 422 and "Clinically undetermined" in refused.json()["detail"]
    sent = api.post(f"/queries/{query_id}/send")
    assert sent.status_code == 200 and sent.json()["status"] == "open"
    assert (
        api.client.put(f"/queries/{query_id}", json=edited, headers=api.headers()).status_code
        == 409
    )
    assert api.post(f"/queries/{query_id}/answer", json={"answer": ANSWER}).status_code == 200
    actions = [e["action"] for e in api.get(f"/charts/{chart['id']}/audit").json()]
    assert [a for a in actions if a.startswith("query.")] == [
        "query.create",
        "query.edit",
        "query.send",
        "query.answer",
    ]
