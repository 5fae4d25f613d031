"""Jobs: coding runs waiting for, or done by, an executor.

A job moves queued -> running -> succeeded | failed | cancelled. Every change is one
conditional UPDATE, so two deliveries of the same job (a worker died before acknowledging
its message and the queue handed it to another) cannot both finish it: the run is stored in
the transaction that moves the job to succeeded, and only the first such transaction finds
the job unfinished."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session

from agent.models import CodingResult
from review.actors import Actor, Role
from review.audit import now
from review.errors import Conflict, InvalidInput, NotFound, TooMany
from review.runs import record_coding_run
from review.tables import CodingRunRow, JobRow

STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
ACTIVE = ("queued", "running")
FINISHED = ("succeeded", "failed", "cancelled")


def new_job(
    *,
    chart_id: int,
    actor: Actor,
    kb_version: str,
    proposer: str | None = None,
    batch_id: int | None = None,
    idempotency_key: str | None = None,
    request_fingerprint: str | None = None,
) -> JobRow:
    return JobRow(
        kind="coding_run",
        chart_id=chart_id,
        batch_id=batch_id,
        status="queued",
        proposer=proposer,
        kb_version=kb_version,
        attempts=0,
        requester_id=actor.user_id,
        requested_by=actor.name,
        requester_role=actor.role,
        idempotency_key=idempotency_key,
        request_fingerprint=request_fingerprint,
        request_id=actor.request_id,
        created_at=now(),
    )


def queue_coding_job(
    session: Session,
    *,
    chart_id: int,
    actor: Actor,
    kb_version: str,
    proposer: str | None,
    idempotency_key: str | None,
    request_fingerprint: str | None,
    active_limit: int,
) -> tuple[JobRow, bool]:
    """The job for this request and whether it is new. A retry with the same key gets the
    same job (never a second one); the key with another request is an error. A chart that
    already has a job under way is a conflict naming it, and a user with `active_limit`
    jobs under way is refused (TooMany)."""
    if idempotency_key is not None and actor.user_id is not None:
        earlier = session.scalar(
            select(JobRow).where(
                JobRow.requester_id == actor.user_id, JobRow.idempotency_key == idempotency_key
            )
        )
        if earlier is not None:
            if earlier.request_fingerprint != request_fingerprint:
                raise InvalidInput(
                    "this Idempotency-Key was used for another request; use a new key",
                    field="Idempotency-Key",
                )
            return earlier, False
    under_way = active_job_for_chart(session, chart_id=chart_id)
    if under_way is not None:
        raise Conflict(
            f"chart {chart_id} is already being coded by job {under_way.id}; "
            f"follow it at /jobs/{under_way.id}",
            current={"job": under_way.id, "status": under_way.status},
        )
    mine = session.scalar(
        select(func.count(JobRow.id)).where(
            JobRow.requested_by == actor.name,
            JobRow.status.in_(ACTIVE),
            JobRow.batch_id.is_(None),  # a batch's charts wait their turn; they hold no slot
        )
    )
    if (mine or 0) >= active_limit:
        raise TooMany(
            f"you have {mine} coding jobs under way (MEDCODER_CODING_RUNS_PER_USER is "
            f"{active_limit}); wait for one to finish",
            retry_after=5,
        )
    job = new_job(
        chart_id=chart_id,
        actor=actor,
        kb_version=kb_version,
        proposer=proposer,
        idempotency_key=idempotency_key,
        request_fingerprint=request_fingerprint,
    )
    session.add(job)
    session.flush()
    return job, True


def get_job(session: Session, *, job_id: int) -> JobRow:
    job = session.get(JobRow, job_id)
    if job is None:
        raise NotFound(f"job {job_id} does not exist")
    return job


def active_job_for_chart(session: Session, *, chart_id: int) -> JobRow | None:
    query = select(JobRow).where(JobRow.chart_id == chart_id, JobRow.status.in_(ACTIVE))
    return session.scalar(query.order_by(JobRow.id).limit(1))


def _move(session: Session, job_id: int, allowed: tuple[str, ...], **values: Any) -> bool:
    result = session.execute(
        update(JobRow).where(JobRow.id == job_id, JobRow.status.in_(allowed)).values(**values)
    )
    return cast(CursorResult[Any], result).rowcount == 1


def start_job(session: Session, *, job_id: int, worker: str) -> bool:
    """Mark the job running for `worker`; False when it is already finished (a duplicate
    delivery, or cancelled before it started). A running job may be started again: its
    first worker died, which is why the queue delivered it again."""
    return _move(
        session,
        job_id,
        ACTIVE,
        status="running",
        stage="starting",
        worker=worker[:200],
        attempts=JobRow.attempts + 1,
        started_at=now(),
    )


def set_stage(session: Session, *, job_id: int, stage: str) -> None:
    _move(session, job_id, ("running",), stage=stage[:40])


def finish_job(
    session: Session, *, job_id: int, result: CodingResult
) -> tuple[CodingRunRow | None, bool]:
    """Store the run and mark the job succeeded, in one transaction; (None, False) when
    another delivery finished it first or it was cancelled (nothing is stored)."""
    if not _move(session, job_id, ACTIVE, status="succeeded", stage=None, finished_at=now()):
        return None, False
    job = get_job(session, job_id=job_id)
    # The coding run is audited as the requester's, under the request that queued it.
    actor = Actor(
        user_id=job.requester_id,
        name=job.requested_by,
        role=cast(Role, job.requester_role),
        request_id=job.request_id or f"job-{job.id}",
    )
    run, _proposals = record_coding_run(session, chart_id=job.chart_id, result=result, actor=actor)
    job.run_id = run.id
    return run, True


def fail_job(session: Session, *, job_id: int, status: int, detail: str) -> bool:
    """Record why the job failed (a message for the coder, never chart text)."""
    return _move(
        session,
        job_id,
        ACTIVE,
        status="failed",
        stage=None,
        error_status=status,
        error=detail[:2000],
        finished_at=now(),
    )


def cancel_job(session: Session, *, job_id: int, actor: Actor) -> JobRow:
    """Cancel a queued or running job; a running one stops at its next check and keeps
    nothing. A finished job cannot be cancelled (409)."""
    job = get_job(session, job_id=job_id)
    if actor.role != "lead" and job.requested_by != actor.name:
        raise NotFound(f"job {job_id} does not exist")
    if not _move(
        session,
        job_id,
        ACTIVE,
        status="cancelled",
        stage=None,
        error=f"cancelled by {actor.name}",
        finished_at=now(),
    ):
        raise Conflict(
            f"job {job_id} is {job.status}; only a queued or running job can be cancelled",
            current={"job": job_id, "status": job.status},
        )
    session.refresh(job)
    return job


def job_status(session: Session, *, job_id: int) -> str | None:
    return session.scalar(select(JobRow.status).where(JobRow.id == job_id))


def unfinished_jobs(session: Session) -> list[tuple[int, str]]:
    """Jobs queued or running, oldest first, with their KB version: after a restart of an
    API that runs jobs in its own process, these were lost with it and are run again."""
    query = select(JobRow.id, JobRow.kb_version).where(JobRow.status.in_(ACTIVE))
    return [(job_id, version) for job_id, version in session.execute(query.order_by(JobRow.id))]
