"""Coding runs over HTTP are bounded: a run past its deadline stops and keeps nothing, one
user cannot hold more than their share of runs, and a run is a job its caller can leave
and cancel."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from review.actors import Actor
from review.db import transaction
from review.jobs import new_job
from tests.api.client import Api
from tests.api.server import ServerProcess, first_lead_key
from wiring.settings import Settings


@pytest.fixture
def hasty(api_settings: Settings) -> Iterator[Api]:
    app = create_app(api_settings.model_copy(update={"coding_deadline_s": 1e-6}))
    with TestClient(app) as client:
        yield Api.bootstrap(client, app)


def test_a_run_over_its_deadline_stops_and_keeps_nothing(hasty: Api) -> None:
    chart = hasty.chart("Essential hypertension. Type 2 diabetes mellitus.", setting="outpatient")
    stopped = hasty.post(f"/charts/{chart['id']}/coding-runs", json={})
    assert stopped.status_code == 503, stopped.text
    assert stopped.json()["title"] == "Coding run stopped"
    assert "MEDCODER_CODING_DEADLINE_S" in stopped.json()["detail"]
    again = hasty.get(f"/charts/{chart['id']}").json()
    assert again["status"] == "new" and again["version"] == chart["version"]
    actions = [e["action"] for e in hasty.get(f"/charts/{chart['id']}/audit").json()]
    assert not any("run" in action for action in actions), actions


def test_one_user_cannot_hold_more_than_their_share_of_runs(api: Api) -> None:
    chart = api.chart("Essential hypertension.", setting="outpatient")
    others = [api.chart("Gout.", setting="outpatient") for _ in range(2)]
    coder = api.user("cora", "coder")
    services = api.client.app.state.services
    lead = Actor(user_id=1, name="lead", role="lead")
    with transaction(services.sessions) as session:  # two of the lead's runs under way
        held = [new_job(chart_id=c["id"], actor=lead, kb_version="v") for c in others]
        session.add_all(held)
        session.flush()
        held_ids = [job.id for job in held]
    refused = api.post(f"/charts/{chart['id']}/coding-runs", json={})
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "5"
    assert "MEDCODER_CODING_RUNS_PER_USER" in refused.json()["detail"]
    other = api.post(f"/charts/{chart['id']}/coding-runs", coder, json={})
    assert other.status_code == 201, other.text  # someone else's run goes ahead
    for job_id in held_ids:
        cancelled = api.client.delete(f"/jobs/{job_id}", headers=api.headers())
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert api.post(f"/charts/{chart['id']}/coding-runs", json={}).status_code == 201


def _long_chart(data_dir: Path, size: int) -> str:
    texts = sorted((data_dir / "codiesp" / "train" / "text_files_en").glob("*.txt"))
    chart = ""
    for path in texts:
        chart += path.read_text() + "\n"
        if len(chart) >= size:
            return chart
    raise AssertionError("not enough CodiEsp train text")


def test_a_run_goes_on_after_its_caller_hangs_up_and_can_be_cancelled(
    api_settings: Settings, tmp_path: Path
) -> None:
    """A coding run is a job: a caller who stops waiting does not lose it (a retry with the
    same Idempotency-Key finds the same job), and cancelling it stops it within a poll or two
    and keeps nothing."""
    assert api_settings.data_dir is not None
    text = _long_chart(api_settings.data_dir, 100_000)
    key = first_lead_key(api_settings.review_database_url)
    server = ServerProcess(api_settings, tmp_path / "server.log").start(timeout=300)
    try:
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
            chart = client.post("/charts", json={"text": text, "meta": {}}).json()
            path = f"/charts/{chart['id']}/coding-runs"
            once = {"Idempotency-Key": "run-1", "Prefer": "wait=60"}
            with pytest.raises(httpx.ReadTimeout):
                client.post(path, json={}, headers=once, timeout=1.0)
            retry = client.post(path, json={}, headers={"Idempotency-Key": "run-1"})
            assert retry.status_code == 202 and retry.headers["idempotent-replayed"] == "true"
            job = retry.json()
            assert job["status"] in ("queued", "running"), job  # still under way
            deadline = time.monotonic() + 60
            while client.get(f"/jobs/{job['id']}").json()["status"] == "queued":
                assert time.monotonic() < deadline
                time.sleep(0.05)
            asked = time.monotonic()
            cancelled = client.delete(f"/jobs/{job['id']}")
            assert cancelled.status_code == 200, cancelled.text
            while f"job {job['id']} cancelled" not in server.log.read_text():
                assert time.monotonic() < deadline, server.log.read_text()[-2000:]
                time.sleep(0.05)
            stopped_after = time.monotonic() - asked
            final = client.get(f"/jobs/{job['id']}").json()
            after = client.get(f"/charts/{chart['id']}").json()
            trail = client.get(f"/charts/{chart['id']}/audit").json()
        assert final["status"] == "cancelled" and final["run_id"] is None
        assert after["status"] == "new"  # nothing of the run was kept
        assert not any(e["action"] == "coding_run.create" for e in trail)
        # Stopped within a poll or two of the cancel, not at the end of the run.
        assert stopped_after < 5, stopped_after
    finally:
        server.stop()
