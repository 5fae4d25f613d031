"""Coding runs over HTTP are bounded: a run past its deadline stops and keeps nothing, one
user cannot hold more than their share of runs, and a run whose caller hung up stops."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
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
    coder = api.user("cora", "coder")
    quota = api.client.app.state.services.runs_per_user
    with quota.slot("lead"), quota.slot("lead"):  # two of the lead's runs under way
        refused = api.post(f"/charts/{chart['id']}/coding-runs", json={})
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "5"
        assert "MEDCODER_CODING_RUNS_PER_USER" in refused.json()["detail"]
        other = api.post(f"/charts/{chart['id']}/coding-runs", coder, json={})
        assert other.status_code == 201, other.text  # someone else's run goes ahead
    assert api.post(f"/charts/{chart['id']}/coding-runs", json={}).status_code == 201


def _long_chart(data_dir: Path, size: int) -> str:
    texts = sorted((data_dir / "codiesp" / "train" / "text_files_en").glob("*.txt"))
    chart = ""
    for path in texts:
        chart += path.read_text() + "\n"
        if len(chart) >= size:
            return chart
    raise AssertionError("not enough CodiEsp train text")


def test_a_run_whose_caller_hung_up_stops(api_settings: Settings, tmp_path: Path) -> None:
    assert api_settings.data_dir is not None
    text = _long_chart(api_settings.data_dir, 60_000)
    key = first_lead_key(api_settings.review_database_url)
    server = ServerProcess(api_settings, tmp_path / "server.log").start(timeout=300)
    try:
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
            chart = client.post("/charts", json={"text": text, "meta": {}}).json()
            started = time.monotonic()
            with pytest.raises(httpx.ReadTimeout):
                client.post(f"/charts/{chart['id']}/coding-runs", json={}, timeout=1.0)
            deadline = time.monotonic() + 60
            while "the caller disconnected" not in server.log.read_text():
                assert time.monotonic() < deadline, server.log.read_text()[-2000:]
                time.sleep(0.2)
            stopped_after = time.monotonic() - started
            after = client.get(f"/charts/{chart['id']}").json()
        assert after["status"] == "new"  # nothing of the run was kept
        # Stopped within a poll or two of the hang-up, not at the end of the run.
        assert stopped_after < 10, stopped_after
    finally:
        server.stop()
