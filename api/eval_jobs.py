"""Evaluation runs started over HTTP: queued, run one at a time in a background thread, and
tracked in their run directories (so a restart does not lose what finished)."""

from __future__ import annotations

import json
import logging
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evals.rundir import METRICS_FILE, RUN_FILE, write_json
from evals.runner import run_suite
from evals.suite import Suite

JOB_FILE = "job.json"
log = logging.getLogger("medcoder.evals")


class EvalJobs:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="eval")
        self._active: set[str] = set()
        self._lock = threading.Lock()

    def new_dir(self) -> tuple[str, Path]:
        job_id = f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"
        folder = self.root / job_id
        folder.mkdir(parents=True)
        return job_id, folder

    def submit(self, job_id: str, suite: Suite, agent: Any, request: dict[str, Any]) -> None:
        folder = self.root / job_id
        with self._lock:  # active before "queued" is on disk, or a reader sees it interrupted
            self._active.add(job_id)
        write_json(folder / JOB_FILE, {**request, "id": job_id, "status": "queued"})
        self._pool.submit(self._run, job_id, suite, agent, request)

    def _run(self, job_id: str, suite: Suite, agent: Any, request: dict[str, Any]) -> None:
        folder = self.root / job_id
        write_json(folder / JOB_FILE, {**request, "id": job_id, "status": "running"})
        status = "failed"
        error: str | None = "stopped before it finished"
        try:
            summary = run_suite(
                suite,
                agent,
                folder,
                workers=request.get("workers", 1),
                info={"proposer": request.get("proposer"), "via": "api"},
            )
            status, error = summary.status, None
        except Exception as failure:  # the run dir keeps finished cases; say what stopped it
            status, error = "failed", f"{type(failure).__name__}: {failure}"
            log.warning("evaluation %s stopped: %s", job_id, type(failure).__name__)
        finally:
            # Final status first: a job no longer active but still "running" on disk reads
            # as interrupted.
            write_json(
                folder / JOB_FILE, {**request, "id": job_id, "status": status, "error": error}
            )
            with self._lock:
                self._active.discard(job_id)

    def status(self, job_id: str) -> dict[str, Any] | None:
        """The job as recorded, with progress and metrics when there are some."""
        folder = self.root / job_id
        if not (folder / JOB_FILE).is_file():
            return None
        job: dict[str, Any] = json.loads((folder / JOB_FILE).read_text())
        with self._lock:
            active = job_id in self._active
        if job["status"] in ("queued", "running") and not active:
            job["status"] = "interrupted"  # the server stopped while it ran
        if (folder / RUN_FILE).is_file():
            run = json.loads((folder / RUN_FILE).read_text())
            job["cases"] = run.get("cases")
        cases_file = folder / "cases.jsonl"
        job["done"] = sum(1 for _ in cases_file.open()) if cases_file.is_file() else 0
        if (folder / METRICS_FILE).is_file():
            job["metrics"] = json.loads((folder / METRICS_FILE).read_text())
        return job

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
