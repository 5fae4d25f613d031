"""POST /batches: many charts (JSONL or a FHIR Bundle) stored and coded as jobs, with what
could not be read listed, and the batch's progress."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from tests.api.client import Api

CHARTS = [
    "Essential hypertension.",
    "Acute appendicitis. Laparoscopic appendectomy.",
    "Type 2 diabetes mellitus without complications.",
]


def _jsonl(lines: list[Any]) -> bytes:
    return (
        "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines)
    ).encode()


def _send(api: Api, body: bytes, content_type: str, **params: str) -> Any:
    headers = api.headers(**{"Content-Type": content_type})
    return api.client.post("/batches", content=body, headers=headers, params=params)


def _finished(api: Api, batch_id: int, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        batch = api.get(f"/batches/{batch_id}").json()
        if batch["finished"]:
            return dict(batch)
        assert time.monotonic() < deadline, batch
        time.sleep(0.1)


def test_a_jsonl_batch_is_stored_coded_and_listed_with_its_bad_lines(api: Api) -> None:
    lines: list[Any] = [
        {"text": CHARTS[0], "external_id": "enc-1", "meta": {"setting": "outpatient"}},
        "{not json",
        {"text": CHARTS[1], "external_id": "enc-2"},
        {"external_id": "enc-x"},  # neither text nor fhir
        {"text": CHARTS[2], "external_id": "enc-3", "meta": {"age": 70}},
    ]
    sent = _send(api, _jsonl(lines), "application/x-ndjson", name="morning")
    assert sent.status_code == 202, sent.text
    batch = sent.json()
    assert sent.headers["location"] == f"/batches/{batch['id']}"
    assert batch["name"] == "morning" and batch["total"] == 3
    assert [r["position"] for r in batch["rejected"]] == [2, 4]
    assert all("line" in r["source"] and r["error"] for r in batch["rejected"])
    done = _finished(api, batch["id"])
    assert done["counts"]["succeeded"] == 3 and done["progress"] == 1.0
    jobs = api.get(f"/batches/{batch['id']}/jobs").json()
    assert [j["external_id"] for j in jobs["items"]] == ["enc-1", "enc-2", "enc-3"]
    assert all(j["status"] == "succeeded" and j["run_id"] for j in jobs["items"])
    worklist = api.get("/charts", params={"status": "coded"}).json()
    assert {c["external_id"] for c in worklist["items"]} == {"enc-1", "enc-2", "enc-3"}
    first = api.get(f"/charts/{jobs['items'][0]['chart_id']}/proposals").json()
    assert "I10" in {p["code"] for p in first}
    assert any(b["id"] == batch["id"] for b in api.get("/batches").json())


def test_a_fhir_bundle_of_document_references_is_a_batch(api: Api) -> None:
    entries = []
    for number, text in enumerate(CHARTS[:2], start=1):
        data = base64.b64encode(text.encode()).decode()
        resource = {
            "resourceType": "DocumentReference",
            "id": f"doc-{number}",
            "status": "current",
            "content": [{"attachment": {"contentType": "text/plain", "data": data}}],
        }
        entries.append({"resource": resource})
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    sent = _send(api, json.dumps(bundle).encode(), "application/fhir+json")
    assert sent.status_code == 202, sent.text
    batch = sent.json()
    assert batch["total"] == 2 and batch["rejected"] == []
    done = _finished(api, batch["id"])
    assert done["counts"]["succeeded"] == 2
    jobs = api.get(f"/batches/{batch['id']}/jobs").json()["items"]
    assert [j["external_id"] for j in jobs] == ["doc-1", "doc-2"]
    chart = api.get(f"/charts/{jobs[0]['chart_id']}").json()
    assert chart["source_format"] == "fhir"


def test_bad_batches_are_refused_whole_and_say_why(api: Api) -> None:
    empty = _send(api, b"  \n", "application/x-ndjson")
    assert empty.status_code == 422 and "empty" in empty.json()["detail"]
    not_json = _send(api, b"{bad\n[1, 2]\n", "application/x-ndjson")
    assert not_json.status_code == 422 and "JSON" in not_json.json()["detail"]
    no_chart = _jsonl([{"external_id": "x"}, {"text": CHARTS[0], "colour": "red"}])
    nothing_readable = _send(api, no_chart, "application/x-ndjson")
    assert nothing_readable.status_code == 422
    assert "line 1" in nothing_readable.json()["detail"]
    assert len(nothing_readable.json()["rejected"]) == 2
    llm = _send(api, _jsonl([{"text": CHARTS[0]}]), "application/x-ndjson", proposer="llm")
    assert llm.status_code == 422 and "no LLM" in llm.json()["detail"]
    assert api.get("/charts").json()["total"] == 0  # nothing half arrived
    auditor = api.user("aud", "auditor")
    refused = api.client.post(
        "/batches",
        content=_jsonl([{"text": CHARTS[0]}]),
        headers=api.headers(auditor, **{"Content-Type": "application/x-ndjson"}),
    )
    assert refused.status_code == 403
    assert api.get("/batches/99999").status_code == 404
    bad_status = api.get("/batches/1/jobs", params={"status": "nope"})
    assert bad_status.status_code in (404, 422)


def test_too_many_charts_is_refused_before_any_is_stored(api: Api) -> None:
    services = api.client.app.state.services
    services.settings = services.settings.model_copy(update={"batch_max_charts": 2})
    refused = _send(api, _jsonl([{"text": t} for t in CHARTS]), "application/x-ndjson")
    assert refused.status_code == 422 and "2" in refused.json()["detail"]
    assert api.get("/charts").json()["total"] == 0
