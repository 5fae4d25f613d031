"""Evaluation runs started over HTTP: queued, run one at a time in a background thread, and
tracked in their run directories (so a restart does not lose what finished)."""

from __future__ import annotations

import json
import logging
import secrets
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evals.rundir import METRICS_FILE, RUN_FILE, write_json
from evals.runner import run_suite
from evals.suite import Suite
from review.errors import TooMany

JOB_FILE = "job.json"
# Runs take minutes: a client told to come back sooner would only be refused again.
RETRY_AFTER_S = 60
log = logging.getLogger("medcoder.evals")


class EvalJobs:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="eval")
        self._active: dict[str, str] = {}  # job id -> who started it, queued or running
        self._pending: set[str] = set()  # folders made for a run not submitted yet
        self._lock = threading.Lock()

    def new_dir(self) -> tuple[str, Path]:
        job_id = f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"
        folder = self.root / job_id
        with self._lock:  # so a clean-up never removes it while the request fills it
            self._pending.add(job_id)
        folder.mkdir(parents=True)
        return job_id, folder

    def discard(self, job_id: str) -> None:
        """Forget a folder made for a run that was refused before it was submitted."""
        with self._lock:
            self._pending.discard(job_id)
        shutil.rmtree(self.root / job_id, ignore_errors=True)

    def check_room(self, owner: str, *, queue_max: int, per_owner: int) -> None:
        """Refuse (429) when the queue or this user's share of it is full."""
        with self._lock:
            self._check_room(owner, queue_max=queue_max, per_owner=per_owner)

    def _check_room(self, owner: str, *, queue_max: int | None, per_owner: int | None) -> None:
        # None: no bound (callers outside the HTTP edge, such as tests driving the queue).
        if queue_max is not None and len(self._active) >= queue_max:
            raise TooMany(
                f"{len(self._active)} evaluation runs are queued or running, the most this "
                "server takes; try again when one has finished",
                retry_after=RETRY_AFTER_S,
            )
        mine = sum(1 for who in self._active.values() if who == owner)
        if per_owner is not None and mine >= per_owner:
            raise TooMany(
                f"you have {mine} evaluation runs queued or running, the most one user may "
                "have; try again when one has finished",
                retry_after=RETRY_AFTER_S,
            )

    def submit(
        self,
        job_id: str,
        suite: Suite,
        agent: Any,
        request: dict[str, Any],
        *,
        owner: str = "",
        queue_max: int | None = None,
        per_owner: int | None = None,
    ) -> None:
        """Queue the run, or refuse it (429, its folder removed) when there is no room; the
        check and the reservation share one lock, so concurrent requests cannot overfill."""
        folder = self.root / job_id
        with self._lock:  # active before "queued" is on disk, or a reader sees it interrupted
            try:
                self._check_room(owner, queue_max=queue_max, per_owner=per_owner)
            except TooMany:
                self._pending.discard(job_id)
                shutil.rmtree(folder, ignore_errors=True)
                raise
            self._pending.discard(job_id)
            self._active[job_id] = owner
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
                self._active.pop(job_id, None)

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

    def remove_older_than(self, days: float) -> int:
        """Remove the folders of runs not touched for `days` (finished, failed, interrupted,
        or left by a refused upload); returns how many. A run queued or running in this
        process is never removed. Age is the newest file in the folder, since a running run
        appends each finished case: another process (`medcoder db housekeeping`, a second
        server worker) that cannot see this one's active runs still leaves them alone."""
        if not self.root.is_dir():
            return 0
        cutoff = time.time() - days * 86_400
        removed = 0
        for folder in sorted(self.root.iterdir()):
            if not folder.is_dir() or folder.is_symlink():
                continue
            with self._lock:
                busy = folder.name in self._active or folder.name in self._pending
            if busy or _last_touched(folder) >= cutoff:
                continue
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
        if removed:
            log.info("removed %d evaluation run folders older than %s days", removed, days)
        return removed

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _last_touched(folder: Path) -> float:
    newest = folder.stat().st_mtime
    for path in folder.rglob("*"):
        try:
            newest = max(newest, path.stat().st_mtime)
        except FileNotFoundError:  # a report being rewritten as we look
            continue
    return newest
