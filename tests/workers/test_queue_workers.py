"""Coding on a real queue: PostgreSQL, Redis, the API and two `medcoder worker` processes.
A batch of 500 CodiEsp dev charts is coded while one worker is killed (SIGKILL) in the
middle of a job; every chart ends coded exactly once, and the job it was running is handed
to the other worker."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.api.databases import PostgresDatabases
from tests.api.server import ServerProcess, first_lead_key
from wiring.settings import Settings

REDIS = ("127.0.0.1", 6379)
REDIS_DB = 11  # a database of the machine's Redis kept for this test, emptied first
BATCH_SIZE = 500


def _redis_command(*words: str) -> bytes:
    """One command in Redis's wire protocol (no client library needed for a flush)."""
    with socket.create_connection(REDIS, timeout=5) as connection:
        payload = f"*{len(words)}\r\n".encode()
        for word in words:
            payload += f"${len(word.encode())}\r\n{word}\r\n".encode()
        connection.sendall(payload)
        return connection.recv(1024)


@pytest.fixture
def queue_url() -> str:
    try:
        _redis_command("PING")
    except OSError as error:  # CI must have it: fail, never skip
        pytest.fail(f"Redis is not answering on {REDIS[0]}:{REDIS[1]}: {error}")
    assert _redis_command("SELECT", str(REDIS_DB)).startswith(b"+OK")
    with socket.create_connection(REDIS, timeout=5) as connection:
        connection.sendall(f"SELECT {REDIS_DB}\r\nFLUSHDB\r\n".encode())
        time.sleep(0.1)
        connection.recv(1024)
    return f"redis://{REDIS[0]}:{REDIS[1]}/{REDIS_DB}"


class WorkerProcess:
    def __init__(self, name: str, env: dict[str, str], log: Path) -> None:
        self.name, self.log = name, log
        command = [sys.executable, "-m", "api.cli.main", "worker", "--name", name]
        with log.open("ab") as out:
            self.process = subprocess.Popen(command, env=env, stdout=out, stderr=out)

    def wait_ready(self, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while " ready." not in self.log.read_text(errors="replace"):
            if self.process.poll() is not None:
                raise AssertionError(f"worker {self.name} exited: {self.log.read_text()[-3000:]}")
            assert time.monotonic() < deadline, self.log.read_text()[-3000:]
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.fixture
def deployment(
    kb_settings: Settings,
    built_kb: object,
    postgres: PostgresDatabases,
    queue_url: str,
    tmp_path: Path,
) -> Iterator[tuple[ServerProcess, str, list[WorkerProcess], str]]:
    database_url = postgres.fresh()
    settings = kb_settings.model_copy(update={"database_url": database_url})
    key = first_lead_key(database_url)
    env = {
        **os.environ,
        "MEDCODER_HOME": str(settings.home),
        "MEDCODER_DATABASE_URL": database_url,
        "MEDCODER_QUEUE_URL": queue_url,
        # A dead worker's job is handed on after 10 s (kept short for the test).
        "MEDCODER_QUEUE_VISIBILITY_S": "10",
    }
    if settings.data_dir is not None:
        env["MEDCODER_DATA_DIR"] = str(settings.data_dir)
    for name in ("MEDCODER_LLM_BASE_URL", "MEDCODER_LLM_MODEL", "OPENAI_API_KEY"):
        env.pop(name, None)
    workers = [WorkerProcess(n, env, tmp_path / f"{n}.log") for n in ("victim", "survivor")]
    server = ServerProcess(
        settings,
        tmp_path / "server.log",
        env={
            "MEDCODER_QUEUE_URL": queue_url,
            "MEDCODER_QUEUE_VISIBILITY_S": "10",
        },
    )
    try:
        server.start(timeout=300)
        for worker in workers:
            worker.wait_ready()
        yield server, key, workers, database_url
    finally:
        for worker in workers:
            worker.stop()
        server.stop()


def _codiesp_dev_batch(data_dir: Path) -> bytes:
    """The 250 CodiEsp dev charts in English and the same 250 in the original Spanish."""
    lines = []
    for language, folder in (("en", "text_files_en"), ("es", "text_files")):
        for path in sorted((data_dir / "codiesp" / "dev" / folder).glob("*.txt")):
            body = {"text": path.read_text(), "external_id": f"{language}:{path.stem}"}
            lines.append(json.dumps(body | {"meta": {"setting": "inpatient", "age": 50}}))
    assert len(lines) == BATCH_SIZE, len(lines)
    return ("\n".join(lines) + "\n").encode()


def test_a_killed_worker_loses_no_chart_and_codes_none_twice(
    deployment: tuple[ServerProcess, str, list[WorkerProcess], str], kb_settings: Settings
) -> None:
    server, key, (victim, _survivor), database_url = deployment
    assert kb_settings.data_dir is not None
    engine = create_engine(database_url)
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=120) as client:
        sent = client.post(
            "/batches?name=codiesp-dev",
            content=_codiesp_dev_batch(kb_settings.data_dir),
            headers={"Content-Type": "application/x-ndjson"},
        )
        assert sent.status_code == 202, sent.text
        batch = sent.json()
        assert batch["total"] == BATCH_SIZE and batch["rejected"] == []

        # Kill the victim while it is in the middle of a job, once the batch is under way.
        caught: int | None = None
        deadline = time.monotonic() + 300
        with engine.connect() as connection:
            while caught is None:
                assert time.monotonic() < deadline, "the victim never ran a job"
                done = connection.execute(
                    text("SELECT count(*) FROM jobs WHERE status = 'succeeded'")
                ).scalar_one()
                running = connection.execute(
                    text("SELECT id FROM jobs WHERE status = 'running' AND worker = 'victim'")
                ).scalar()
                connection.commit()
                if running is not None and done >= 20:
                    victim.process.send_signal(signal.SIGKILL)
                    victim.process.wait(10)
                    state = connection.execute(
                        text("SELECT status FROM jobs WHERE id = :id"), {"id": running}
                    ).scalar_one()
                    connection.commit()
                    assert state == "running", "the job finished before the kill landed"
                    caught = running
                else:
                    time.sleep(0.005)
        assert done < BATCH_SIZE  # mid-batch

        deadline = time.monotonic() + 900
        while True:
            progress = client.get(f"/batches/{batch['id']}").json()
            if progress["finished"]:
                break
            assert time.monotonic() < deadline, progress
            time.sleep(1)
        worklist = client.get("/charts", params={"limit": 1}).json()

    assert progress["counts"]["succeeded"] == BATCH_SIZE, progress
    assert progress["progress"] == 1.0
    assert worklist["total"] == BATCH_SIZE  # the batch's charts are in the worklist
    with engine.connect() as connection:
        statuses: dict[str, int] = dict(
            connection.execute(text("SELECT status, count(*) FROM jobs GROUP BY status")).all()
        )
        runs_per_chart = connection.execute(
            text("SELECT chart_id, count(*) FROM coding_runs GROUP BY chart_id")
        ).all()
        audited = connection.execute(
            text(
                "SELECT chart_id, count(*) FROM audit_events "
                "WHERE action = 'coding_run.create' GROUP BY chart_id"
            )
        ).all()
        coded = connection.execute(
            text("SELECT count(*) FROM charts WHERE status = 'coded'")
        ).scalar_one()
        handed_on = connection.execute(
            text("SELECT status, attempts, worker, run_id FROM jobs WHERE id = :id"),
            {"id": caught},
        ).one()
        by_worker: dict[str, int] = dict(
            connection.execute(text("SELECT worker, count(*) FROM jobs GROUP BY worker")).all()
        )
    engine.dispose()
    assert statuses == {"succeeded": BATCH_SIZE}, statuses
    assert len(runs_per_chart) == BATCH_SIZE and {n for _, n in runs_per_chart} == {1}
    assert len(audited) == BATCH_SIZE and {n for _, n in audited} == {1}
    assert coded == BATCH_SIZE
    # The job the victim died in was delivered again and finished by the survivor.
    assert handed_on.status == "succeeded" and handed_on.run_id is not None
    assert handed_on.attempts == 2 and handed_on.worker == "survivor", handed_on
    assert by_worker.get("victim", 0) >= 1 and by_worker["survivor"] > by_worker.get("victim", 0)
