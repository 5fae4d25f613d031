"""/evals over HTTP: a named suite and an uploaded JSONL run in the background and report."""

from __future__ import annotations

import json
import time
from typing import Any

from tests.api.client import Api


def _wait(api: Api, eval_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = api.get(f"/evals/{eval_id}").json()
        if job["status"] not in ("queued", "running"):
            return dict(job)
        time.sleep(0.2)
    raise AssertionError(f"evaluation {eval_id} did not finish")


def test_named_suite_runs_in_the_background_and_reports(api: Api) -> None:
    auditor = api.user("ava", "auditor")
    assert api.post("/evals", auditor, json={"suite": "rules"}).status_code == 403
    started = api.post("/evals", json={"suite": "rules", "limit": 4})
    assert started.status_code == 202, started.text
    assert started.json()["cases"] == 4 and started.json()["status"] == "queued"
    job = _wait(api, started.json()["id"])
    assert job["status"] == "finished", job
    metrics = job["metrics"]
    assert metrics["cases"] == 4 and metrics["invalid_code_rate"] == 0
    assert 0 <= metrics["f1"] <= 1 and metrics["citation_validity"] == 1.0
    assert job["started_by"] == "lead"
    report = api.get(f"/evals/{started.json()['id']}/report", auditor)
    assert report.status_code == 200 and "<img" in report.text
    assert api.get("/evals/nope").status_code == 404
    assert api.get("/evals/..%2F..%2Fetc").status_code == 404
    bad = api.post("/evals", json={"suite": "everything"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "body.suite"


def test_uploaded_jsonl_suite(api: Api) -> None:
    case = {
        "id": "htn",
        "text": "Assessment: essential hypertension, well controlled on lisinopril.",
        "meta": {"setting": "outpatient"},
        "gold": [{"code": "I10", "system": "cm"}],
    }
    good = json.dumps(case) + "\n"
    started = api.post("/evals/upload", files={"file": ("mine.jsonl", good)})
    assert started.status_code == 202, started.text
    job = _wait(api, started.json()["id"])
    assert job["status"] == "finished" and job["metrics"]["cases"] == 1
    broken = good + '{"id": "two", "text": \n'
    refused = api.post("/evals/upload", files={"file": ("broken.jsonl", broken)})
    assert refused.status_code == 422
    assert refused.json()["detail"].startswith("broken.jsonl:2")
    unknown = json.dumps({**case, "gold": [{"code": "I10", "system": "icd9"}]})
    refused = api.post("/evals/upload", files={"file": ("sys.jsonl", unknown)})
    assert refused.status_code == 422 and "sys.jsonl:1" in refused.json()["detail"]
