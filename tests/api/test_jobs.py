"""Coding runs as jobs (in-process executor): 202 + Location, the job's state and events, the
same job for a retried Idempotency-Key, one run stored however often a job is delivered."""

from __future__ import annotations

import json
import time
from typing import Any

from fastapi.testclient import TestClient

from agent.chart import build_chart
from agent.models import ChartMeta
from api.app import create_app
from review.actors import Actor
from review.db import transaction
from review.jobs import finish_job, get_job, new_job, start_job
from review.tables import AuditRow, CodingRunRow, JobRow
from tests.api.client import Api
from wiring.settings import Settings

TEXT = "Essential hypertension. Type 2 diabetes mellitus without complications."


def _queued(api: Api, chart_id: int, **headers: str) -> Any:
    """POST a coding run without waiting: the queued job."""
    headers = {"Authorization": f"Bearer {api.lead_key}", **headers}
    return api.client.post(f"/charts/{chart_id}/coding-runs", json={}, headers=headers)


def _unsent_job(services: Any, chart_id: int, *, kb_version: str) -> int:
    """A queued job the executor was never given (as if its message were lost or held)."""
    with transaction(services.sessions) as session:
        job = new_job(chart_id=chart_id, actor=Actor(1, "lead", "lead"), kb_version=kb_version)
        session.add(job)
        session.flush()
        return job.id


def _finished(api: Api, job_id: int, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = api.get(f"/jobs/{job_id}").json()
        if job["status"] not in ("queued", "running"):
            return dict(job)
        assert time.monotonic() < deadline, job
        time.sleep(0.05)


def test_a_coding_run_is_a_job_followed_to_its_run(api: Api) -> None:
    chart = api.chart(TEXT, setting="outpatient")
    answer = _queued(api, chart["id"])
    assert answer.status_code == 202, answer.text
    job = answer.json()
    assert answer.headers["location"] == f"/jobs/{job['id']}"
    assert job["status"] in ("queued", "running") and job["chart_id"] == chart["id"]
    assert job["links"]["events"] == f"/jobs/{job['id']}/events"
    done = _finished(api, job["id"])
    assert done["status"] == "succeeded" and done["attempts"] == 1, done
    assert done["run"]["id"] == done["run_id"]
    codes = {p["code"] for p in done["run"]["proposals"]}
    assert "I10" in codes, codes
    assert api.get(f"/charts/{chart['id']}").json()["status"] == "coded"
    trail = api.get(f"/charts/{chart['id']}/audit").json()
    runs = [e for e in trail if e["action"] == "coding_run.create"]
    assert len(runs) == 1 and runs[0]["request_id"]  # traced to the request that queued it


def test_the_same_idempotency_key_returns_the_same_job_and_codes_once(api: Api) -> None:
    chart = api.chart(TEXT, setting="outpatient")
    first = _queued(api, chart["id"], **{"Idempotency-Key": "k-1"})
    again = _queued(api, chart["id"], **{"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    _finished(api, first.json()["id"])
    waited = api.post(
        f"/charts/{chart['id']}/coding-runs", json={}, headers={"Idempotency-Key": "k-1"}
    )
    assert (
        waited.status_code == 201
        and waited.json()["id"] == _finished(api, first.json()["id"])["run_id"]
    )
    other_body = api.post(
        f"/charts/{chart['id']}/coding-runs",
        json={"proposer": "offline"},
        headers={"Idempotency-Key": "k-1"},
    )
    assert other_body.status_code == 422 and other_body.json()["field"] == "Idempotency-Key"
    trail = api.get(f"/charts/{chart['id']}/audit").json()
    assert [e["action"] for e in trail].count("coding_run.create") == 1


def test_a_chart_already_being_coded_names_its_job(api: Api) -> None:
    chart = api.chart(TEXT, setting="outpatient")
    services = api.client.app.state.services
    held_id = _unsent_job(services, chart["id"], kb_version="v")
    refused = _queued(api, chart["id"])
    assert refused.status_code == 409
    assert f"/jobs/{held_id}" in refused.json()["detail"]


def test_job_events_stream_until_it_finishes(api: Api) -> None:
    chart = api.chart(TEXT, setting="outpatient")
    job = _queued(api, chart["id"]).json()
    events: list[dict[str, Any]] = []
    with api.client.stream("GET", f"/jobs/{job['id']}/events", headers=api.headers()) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        for line in stream.iter_lines():
            if line.startswith("data:"):
                events.append(json.loads(line.removeprefix("data:").strip()))
    assert events and events[-1]["status"] == "succeeded"
    statuses = [e["status"] for e in events]
    assert statuses == sorted(set(statuses), key=statuses.index)  # each change once


def test_a_finished_job_cannot_be_cancelled_and_others_do_not_see_it(api: Api) -> None:
    chart = api.chart(TEXT, setting="outpatient")
    job = _finished(api, _queued(api, chart["id"]).json()["id"])
    refused = api.client.delete(f"/jobs/{job['id']}", headers=api.headers())
    assert refused.status_code == 409 and "succeeded" in refused.json()["detail"]
    coder = api.user("carl", "coder")
    assert api.client.delete(f"/jobs/{job['id']}", headers=api.headers(coder)).status_code == 404
    assert api.get("/jobs/999999").status_code == 404


def test_a_job_delivered_twice_stores_one_run(api: Api) -> None:
    """What a worker killed mid-job leads to: the queue hands the job to a second worker
    while the first one's work may still land. Whichever finishes first stores the run; the
    other stores nothing."""
    chart = api.chart(TEXT, setting="outpatient")
    services = api.client.app.state.services
    job_id = _unsent_job(services, chart["id"], kb_version="v")
    agent = services.agent()
    result = agent.code(build_chart(TEXT, ChartMeta(setting="outpatient")))
    with transaction(services.sessions) as session:
        assert start_job(session, job_id=job_id, worker="first")
    with transaction(services.sessions) as session:
        assert start_job(session, job_id=job_id, worker="second")  # redelivered
    with transaction(services.sessions) as session:
        run, stored = finish_job(session, job_id=job_id, result=result)
        assert stored and run is not None
    with transaction(services.sessions) as session:
        late, stored_again = finish_job(session, job_id=job_id, result=result)
        assert late is None and not stored_again
        assert not start_job(session, job_id=job_id, worker="third")  # finished: skipped
    with transaction(services.readers) as session:
        row = get_job(session, job_id=job_id)
        assert row.status == "succeeded" and row.attempts == 2 and row.worker == "second"
        runs = session.query(CodingRunRow).filter_by(chart_id=chart["id"]).count()
        audits = (
            session.query(AuditRow)
            .filter_by(chart_id=chart["id"], action="coding_run.create")
            .count()
        )
    assert runs == 1 and audits == 1
    # And through the runner itself: a finished job's message is dropped.
    assert services.job_runner().run(job_id) == "skipped"


def test_a_job_for_another_kb_version_is_refused_by_the_runner(api: Api) -> None:
    chart = api.chart(TEXT, setting="outpatient")
    services = api.client.app.state.services
    job_id = _unsent_job(services, chart["id"], kb_version="old-kb")
    assert services.job_runner().run(job_id) == "failed"
    with transaction(services.readers) as session:
        row = session.get(JobRow, job_id)
        assert row is not None and row.status == "failed" and row.error_status == 503
        assert "old-kb" in (row.error or "") and row.run_id is None


def test_jobs_left_unfinished_by_a_stopped_api_run_when_it_starts_again(
    api: Api, api_settings: Settings
) -> None:
    """The in-process executor's queue is in memory: a restart must not strand the jobs."""
    chart = api.chart(TEXT, setting="outpatient")
    services = api.client.app.state.services
    job_id = _unsent_job(services, chart["id"], kb_version=services.kb_version())
    app = create_app(api_settings)
    with TestClient(app) as client:
        restarted = Api(client, api.lead_key)
        done = _finished(restarted, job_id)
    assert done["status"] == "succeeded" and done["run"]["proposals"], done
