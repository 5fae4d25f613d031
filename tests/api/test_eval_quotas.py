"""/evals is bounded: cases and workers per run, runs queued at once and per user (429 with
Retry-After), and old run folders removed by housekeeping, never an active run's."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from api.eval_jobs import JOB_FILE, EvalJobs
from evals.suite import Suite
from tests.api.client import Api
from wiring.settings import Settings

DAY = 86_400


class HeldPool:
    """Stands in for the jobs' thread pool: runs stay queued until released, so a test
    decides when the queue drains, and no evaluation spends CPU."""

    def __init__(self) -> None:
        self.held: list[tuple[Callable[..., None], tuple[Any, ...]]] = []

    def submit(self, function: Callable[..., None], *args: Any) -> None:
        self.held.append((function, args))

    def release(self) -> None:
        while self.held:
            function, args = self.held.pop(0)
            function(*args)

    def shutdown(self, **_: Any) -> None:
        self.held.clear()


def _held(jobs: EvalJobs, folder: Path, monkeypatch: pytest.MonkeyPatch) -> HeldPool:
    """Hold `jobs`' runs in a pool the test releases; a released run "finishes" at once
    (its run_suite stubbed) through the real bookkeeping, in `folder`, not the KB home."""
    pool = HeldPool()
    monkeypatch.setattr(jobs, "_pool", pool)
    monkeypatch.setattr(jobs, "root", folder)
    finished = SimpleNamespace(status="finished")
    monkeypatch.setattr("api.eval_jobs.run_suite", lambda *args, **kwargs: finished)
    return pool


@pytest.fixture
def small(
    api_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Api, HeldPool, FastAPI]]:
    """An app with small eval limits (5 cases, 2 workers, 3 runs at once, 2 per user)."""
    settings = api_settings.model_copy(
        update={
            "eval_max_cases": 5,
            "eval_max_workers": 2,
            "eval_queue_max": 3,
            "eval_runs_per_user": 2,
            "housekeeping_interval_s": 0,
        }
    )
    app = create_app(settings)
    pool = _held(app.state.services.eval_jobs, tmp_path / "evals", monkeypatch)
    with TestClient(app) as client:
        yield Api.bootstrap(client, app), pool, app


def _jsonl(cases: int) -> str:
    case = {
        "text": "Assessment: essential hypertension.",
        "gold": [{"code": "I10", "system": "cm"}],
    }
    return "".join(json.dumps({**case, "id": f"c{n}"}) + "\n" for n in range(cases))


def test_case_and_worker_caps_answer_422_naming_the_field(
    small: tuple[Api, HeldPool, FastAPI],
) -> None:
    api, _, app = small
    coder = api.user("cora", "coder")
    over = api.post("/evals", coder, json={"suite": "rules", "limit": 6})
    assert over.status_code == 422 and over.json()["field"] == "body.limit", over.text
    assert "at most 5" in over.json()["detail"]
    # rules has 103 cases: without a limit a coder is told to send one.
    whole = api.post("/evals", coder, json={"suite": "rules"})
    assert whole.status_code == 422 and whole.json()["field"] == "body.limit", whole.text
    assert "103 cases" in whole.json()["detail"]
    workers = api.post("/evals", coder, json={"suite": "rules", "limit": 2, "workers": 3})
    assert workers.status_code == 422 and workers.json()["field"] == "body.workers"
    # Uploads too, and a refused upload leaves no folder behind.
    upload = api.post("/evals/upload", coder, files={"file": ("six.jsonl", _jsonl(6))})
    assert upload.status_code == 422 and upload.json()["field"] == "body.limit", upload.text
    limited = api.post(
        "/evals/upload", coder, files={"file": ("six.jsonl", _jsonl(6))}, data={"limit": "6"}
    )
    assert limited.status_code == 422 and limited.json()["field"] == "body.limit"
    assert not any(app.state.services.eval_jobs.root.glob("*"))
    ok = api.post("/evals", coder, json={"suite": "rules", "limit": 5, "workers": 2})
    assert ok.status_code == 202 and ok.json()["cases"] == 5, ok.text
    # A lead may run the whole suite (not more workers, though).
    lead = api.post("/evals", json={"suite": "rules"})
    assert lead.status_code == 202 and lead.json()["cases"] == 103, lead.text
    assert api.post("/evals", json={"suite": "rules", "workers": 3}).status_code == 422


def test_full_queue_answers_429_with_retry_after(small: tuple[Api, HeldPool, FastAPI]) -> None:
    api, pool, app = small
    cora, cole = api.user("cora", "coder"), api.user("cole", "coder")
    for key in (api.lead_key, api.lead_key, cora):
        started = api.post("/evals", key, json={"suite": "rules", "limit": 1})
        assert started.status_code == 202, started.text
    full = api.post("/evals", cole, json={"suite": "rules", "limit": 1})
    assert full.status_code == 429, full.text
    assert full.headers["content-type"] == "application/problem+json"
    assert int(full.headers["Retry-After"]) > 0
    body = full.json()
    assert body["status"] == 429 and body["retry_after"] == int(full.headers["Retry-After"])
    assert "3 evaluation runs" in body["detail"]
    upload = api.post("/evals/upload", cole, files={"file": ("one.jsonl", _jsonl(1))})
    assert upload.status_code == 429 and "Retry-After" in upload.headers
    assert len(list(app.state.services.eval_jobs.root.iterdir())) == 3  # no refused folder
    pool.release()  # the three runs finish; the queue has room again
    again = api.post("/evals", cole, json={"suite": "rules", "limit": 1})
    assert again.status_code == 202, again.text
    assert api.get(f"/evals/{again.json()['id']}").json()["status"] == "queued"


def test_one_user_may_have_two_runs_at_once(small: tuple[Api, HeldPool, FastAPI]) -> None:
    api, pool, _ = small
    cora, cole = api.user("cora", "coder"), api.user("cole", "coder")
    first = api.post("/evals", cora, json={"suite": "rules", "limit": 1})
    assert first.status_code == 202
    upload = api.post("/evals/upload", cora, files={"file": ("one.jsonl", _jsonl(1))})
    assert upload.status_code == 202, upload.text
    third = api.post("/evals", cora, json={"suite": "rules", "limit": 1})
    assert third.status_code == 429 and "you have 2" in third.json()["detail"]
    assert "Retry-After" in third.headers
    # The queue itself has room: another user is not held up by cora's share.
    assert api.post("/evals", cole, json={"suite": "rules", "limit": 1}).status_code == 202
    pool.release()
    assert api.get(f"/evals/{first.json()['id']}").json()["status"] == "finished"
    assert api.post("/evals", cora, json={"suite": "rules", "limit": 1}).status_code == 202


def _age(folder: Path, days: float) -> None:
    then = time.time() - days * DAY
    for path in [*folder.rglob("*"), folder]:
        os.utime(path, (then, then))


def _finished(root: Path, name: str, days: float) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / JOB_FILE).write_text(json.dumps({"id": name, "status": "finished"}))
    (folder / "cases.jsonl").write_text("{}\n")
    _age(folder, days)
    return folder


def test_clean_up_removes_old_run_folders_but_never_an_active_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs = EvalJobs(tmp_path / "evals")
    pool = _held(jobs, tmp_path / "evals", monkeypatch)
    old = _finished(jobs.root, "20250101-000000-aaaaaa", days=40)
    recent = _finished(jobs.root, "20250301-000000-bbbbbb", days=3)
    # A run queued long ago (its folder untouched since) is still active: it stays.
    queued_id, queued = jobs.new_dir()
    jobs.submit(queued_id, Suite(name="s", source="s", cases=[]), None, {}, owner="cora")
    _age(queued, 40)
    # So does a folder a request is still filling (an upload not yet submitted).
    pending_id, pending = jobs.new_dir()
    _age(pending, 40)
    assert jobs.remove_older_than(30) == 1
    assert not old.exists() and recent.exists() and queued.exists() and pending.exists()
    assert jobs.status(queued_id) is not None
    # Once finished and old, the run goes too; a discarded folder is no longer protected.
    pool.release()
    _age(queued, 40)
    jobs.discard(pending_id)
    assert jobs.remove_older_than(30) == 1 and not queued.exists()
    assert jobs.remove_older_than(30) == 0 and recent.exists()


def test_the_api_runs_housekeeping_from_its_lifespan(
    api_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app(api_settings.model_copy(update={"housekeeping_interval_s": 0.2}))
    jobs = app.state.services.eval_jobs
    monkeypatch.setattr(jobs, "root", tmp_path / "evals")
    with TestClient(app):
        old = _finished(jobs.root, "20250101-000000-cccccc", days=40)
        deadline = time.monotonic() + 20
        while old.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not old.exists()
        kept = _finished(jobs.root, "20250101-000000-dddddd", days=1)
    time.sleep(0.3)  # the task was cancelled with the app: no pass after shutdown
    _age(kept, 40)
    time.sleep(0.5)
    assert kept.exists()
