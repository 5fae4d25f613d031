"""How jobs are shown and waited for over HTTP (shared by the coding-run, job and batch
routers)."""

from __future__ import annotations

import re
import time

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.problems import problem
from api.schemas.jobs import JobError, JobPublic
from api.schemas.proposals import CodingRunPublic, ProposalPublic
from api.services import Services
from review.db import transaction
from review.jobs import FINISHED, get_job
from review.tables import CodingRunRow, JobRow, ProposalRow

_WAIT = re.compile(r"(?:^|[,;\s])wait\s*=\s*(\d+(?:\.\d+)?)", re.IGNORECASE)
POLL_S = 0.05

_TITLES = {409: "Conflict", 422: "Invalid chart", 502: "Proposer failed", 500: "Coding failed"}


def prefer_wait(prefer: str | None) -> float:
    """Seconds the client is willing to wait for the result (RFC 7240 `Prefer: wait=N`);
    0 when it did not say."""
    if not prefer:
        return 0.0
    found = _WAIT.search(prefer)
    return float(found[1]) if found else 0.0


def run_public(session: Session, run_id: int) -> CodingRunPublic:
    run = session.get(CodingRunRow, run_id)
    public = CodingRunPublic.model_validate(run)
    query = select(ProposalRow).where(ProposalRow.run_id == run_id)
    rows = session.scalars(query.order_by(ProposalRow.sequence, ProposalRow.id))
    public.proposals = [ProposalPublic.model_validate(p) for p in rows]
    return public


def job_public(session: Session, job: JobRow, *, with_run: bool = True) -> JobPublic:
    links = {"self": f"/jobs/{job.id}", "events": f"/jobs/{job.id}/events"}
    links["chart"] = f"/charts/{job.chart_id}"
    if job.batch_id is not None:
        links["batch"] = f"/batches/{job.batch_id}"
    error = None
    if job.error is not None and job.status != "succeeded":
        error = JobError(status=job.error_status or 409, detail=job.error)
    return JobPublic(
        id=job.id,
        kind="coding_run",
        chart_id=job.chart_id,
        batch_id=job.batch_id,
        status=job.status,  # type: ignore[arg-type]
        stage=job.stage,
        proposer=job.proposer,
        kb_version=job.kb_version,
        attempts=job.attempts,
        worker=job.worker,
        run_id=job.run_id,
        error=error,
        requested_by=job.requested_by,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        links=links,
        run=run_public(session, job.run_id) if with_run and job.run_id is not None else None,
    )


def wait_for_job(services: Services, job_id: int, seconds: float) -> None:
    """Return once the job is finished or `seconds` have passed (a read every 50 ms: the
    executor may be another machine, so the database is what is watched)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with transaction(services.readers) as session:
            if get_job(session, job_id=job_id).status in FINISHED:
                return
        time.sleep(POLL_S)


def failure_problem(request: Request, job: JobPublic) -> JSONResponse:
    """A failed or cancelled job, answered as the coding run would have been."""
    assert job.error is not None
    status = job.error.status if job.status == "failed" else 409
    detail = job.error.detail
    title = _TITLES.get(status, "Coding run failed")
    if detail.startswith("the coding run was stopped"):
        title = "Coding run stopped"
    elif status == 503:
        title = "Service unavailable"
    response = problem(request, status, title, detail, job=job.id)
    response.headers["Location"] = f"/jobs/{job.id}"
    return response
