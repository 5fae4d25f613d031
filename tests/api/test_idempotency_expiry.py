"""Idempotency-Key answers keep no chart text, replay the same within their window, are not
replayed after it, and are deleted by housekeeping (from the API or `medcoder db`)."""

from __future__ import annotations

import json
import os
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from api.cli.main import app as cli
from api.housekeeping import run_housekeeping
from api.services import Services
from review.audit import now
from review.db import make_engine, sessions, transaction, upgrade
from review.tables import IdempotentResponseRow
from tests.api.client import Api

TEXT = (
    "Patient Zanzibar-Quill, 61. Type 2 diabetes mellitus with diabetic chronic kidney "
    "disease stage 3. Acute appendicitis."
)


def _services(api: Api) -> Services:
    services: Services = api.client.app.state.services
    return services


def _stored(api: Api) -> dict[str, Any]:
    """The stored answers by key, read straight from the table."""
    with transaction(_services(api).readers) as session:
        rows = session.scalars(select(IdempotentResponseRow)).all()
        return {row.key: row.body for row in rows}


def _age(api: Api, key: str, hours: float) -> None:
    with transaction(_services(api).sessions) as session:
        session.execute(
            update(IdempotentResponseRow)
            .where(IdempotentResponseRow.key == key)
            .values(created_at=now() - timedelta(hours=hours))
        )


def test_stored_answers_keep_no_chart_text_and_replay_byte_for_byte(api: Api) -> None:
    body = {"text": TEXT, "meta": {"setting": "inpatient", "age": 61}}
    first = api.post("/charts", json=body, headers={"Idempotency-Key": "chart-1"})
    assert first.status_code == 201, first.text
    stored = _stored(api)["chart-1"]
    assert "Zanzibar" not in json.dumps(stored)
    assert stored["text"] == {"$chart_text": [first.json()["id"], 0, None]}

    again = api.post("/charts", json=body, headers={"Idempotency-Key": "chart-1"})
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.content == first.content  # text included, keys in the same order
    for header in ("Location", "ETag"):
        assert again.headers[header] == first.headers[header]

    # A coding run's key is kept on its job, which holds no chart text: no answer is
    # stored, and the replay reads the same run (its quotes) back from the database.
    path = f"/charts/{first.json()['id']}/coding-runs"
    run = api.post(path, json={}, headers={"Idempotency-Key": "run-1"})
    assert run.status_code == 201, run.text
    quotes = [s["quote"] for p in run.json()["proposals"] for s in p["evidence"]]
    assert quotes, "the offline proposer cites evidence"
    assert "run-1" not in _stored(api)
    replay = api.post(path, json={}, headers={"Idempotency-Key": "run-1"})
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.content == run.content


def test_an_answer_past_the_window_is_not_replayed(api: Api) -> None:
    body = {"text": TEXT, "meta": {}}
    first = api.post("/charts", json=body, headers={"Idempotency-Key": "late"})
    _age(api, "late", hours=25)
    # The key acts afresh: a second chart. That is the accepted price of forgetting answers
    # after MEDCODER_IDEMPOTENCY_HOURS (24); clients retry long before.
    late = api.post("/charts", json=body, headers={"Idempotency-Key": "late"})
    assert late.status_code == 201, late.text
    assert "Idempotent-Replayed" not in late.headers
    assert late.json()["id"] != first.json()["id"]
    assert api.get("/charts").json()["total"] == 2
    # The new answer took the old one's place and replays from now on.
    assert _stored(api)["late"]["id"] == late.json()["id"]
    replay = api.post("/charts", json=body, headers={"Idempotency-Key": "late"})
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["id"] == late.json()["id"]
    # An expired key may even be reused for another request (within the window: 422).
    _age(api, "late", hours=25)
    reused = api.post(
        "/charts", json={"text": "Asthma.", "meta": {}}, headers={"Idempotency-Key": "late"}
    )
    assert reused.status_code == 201, reused.text


def test_housekeeping_deletes_expired_answers_only(api: Api) -> None:
    for key in ("old", "new"):
        response = api.post(
            "/charts", json={"text": TEXT, "meta": {}}, headers={"Idempotency-Key": key}
        )
        assert response.status_code == 201
    _age(api, "old", hours=25)
    counts = run_housekeeping(_services(api))
    assert counts["idempotent_responses_expired"] == 1
    assert set(_stored(api)) == {"new"}
    replay = api.post(
        "/charts", json={"text": TEXT, "meta": {}}, headers={"Idempotency-Key": "new"}
    )
    assert replay.headers["Idempotent-Replayed"] == "true"


def test_db_housekeeping_command(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("MEDCODER_HOME", str(home))
    monkeypatch.setenv("MEDCODER_DATABASE_URL", database_url)
    upgrade(database_url)
    engine = make_engine(database_url)
    try:
        with transaction(sessions(engine)) as session:
            for key, hours in (("old", 30.0), ("new", 1.0)):
                session.add(
                    IdempotentResponseRow(
                        user_id=1,
                        key=key,
                        fingerprint="f" * 64,
                        status_code=201,
                        body={},
                        headers={},
                        created_at=now() - timedelta(hours=hours),
                    )
                )
    finally:
        engine.dispose()
    runs = home / "evals" / "api"
    for name, days in (("20250101-000000-aaaaaa", 40), ("20250301-000000-bbbbbb", 1)):
        (runs / name).mkdir(parents=True)
        (runs / name / "job.json").write_text('{"status": "finished"}')
        then = time.time() - days * 86_400
        for path in (runs / name / "job.json", runs / name):
            os.utime(path, (then, then))

    result = CliRunner().invoke(cli, ["db", "housekeeping"])
    assert result.exit_code == 0, result.output
    assert "eval_runs_removed: 1" in result.output
    assert "idempotent_responses_expired: 1" in result.output
    assert [p.name for p in runs.iterdir()] == ["20250301-000000-bbbbbb"]


def test_a_new_api_key_is_never_stored_for_a_replay(api: Api) -> None:
    headers = {"Idempotency-Key": "new-user-1"}
    first = api.post("/users", json={"name": "kim", "role": "coder"}, headers=headers)
    assert first.status_code == 201 and first.json()["key"].startswith("mck_")
    with transaction(_services(api).readers) as session:
        bodies = [json.dumps(r.body) for r in session.scalars(select(IdempotentResponseRow))]
    assert bodies and not any(first.json()["key"] in body for body in bodies)
    again = api.post("/users", json={"name": "kim", "role": "coder"}, headers=headers)
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json()["key"] is None and again.json()["user"] == first.json()["user"]
