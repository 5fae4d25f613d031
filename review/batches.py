"""Batches: many charts sent at once, each stored as a chart with its own coding job."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from review.actors import Actor
from review.audit import now, record_event
from review.charts import create_chart
from review.errors import InvalidInput, NotFound
from review.jobs import new_job
from review.tables import BatchRow, ChartRow, JobRow

if TYPE_CHECKING:
    from agent.batch_input import BatchEntry


def create_batch(
    session: Session,
    *,
    entries: Iterable[BatchEntry],
    name: str | None,
    actor: Actor,
    kb_version: str,
    proposer: str | None,
) -> tuple[BatchRow, list[int]]:
    """Store every chart the entries hold, each with a queued job, in one transaction (all
    or nothing: a batch never half arrives); entries that are not charts are listed on the
    batch with where they were and what was wrong. Returns the batch and its job ids."""
    batch = BatchRow(
        name=name,
        total=0,
        rejected=[],
        proposer=proposer,
        created_by=actor.name,
        created_at=now(),
    )
    session.add(batch)
    session.flush()
    rejected: list[dict[str, Any]] = []
    jobs: list[JobRow] = []
    for entry in entries:
        if entry.chart is None:
            rejected.append(
                {"position": entry.position, "source": entry.source, "error": entry.error}
            )
            continue
        chart = create_chart(
            session,
            chart=entry.chart,
            source_format=entry.source_format,
            external_id=entry.external_id,
            actor=actor,
        )
        job = new_job(
            chart_id=chart.id,
            actor=actor,
            kb_version=kb_version,
            proposer=proposer,
            batch_id=batch.id,
        )
        jobs.append(job)
    if not jobs:
        raise InvalidInput(
            f"the batch holds no chart that could be read ({len(rejected)} entries refused; "
            "the first: "
            + (f"{rejected[0]['source']}: {rejected[0]['error']}" if rejected else "none")
            + ")",
            field="body",
            rejected=rejected[:20],
        )
    session.add_all(jobs)
    batch.total = len(jobs)
    batch.rejected = rejected
    session.flush()
    record_event(
        session,
        actor=actor,
        action="batch.create",
        after={"batch_id": batch.id, "charts": len(jobs), "rejected": len(rejected)},
    )
    return batch, [job.id for job in jobs]


def get_batch(session: Session, *, batch_id: int) -> BatchRow:
    batch = session.get(BatchRow, batch_id)
    if batch is None:
        raise NotFound(f"batch {batch_id} does not exist")
    return batch


def batch_counts(session: Session, *, batch_id: int) -> dict[str, int]:
    """How many of the batch's jobs are in each status."""
    query = (
        select(JobRow.status, func.count(JobRow.id))
        .where(JobRow.batch_id == batch_id)
        .group_by(JobRow.status)
    )
    return {status: count for status, count in session.execute(query).all()}


def batch_jobs(
    session: Session, *, batch_id: int, status: str | None, offset: int, limit: int
) -> tuple[list[tuple[JobRow, str | None]], int]:
    """A page of the batch's jobs in the order the charts came, with each chart's
    external id, and how many match in all."""
    query = select(JobRow, ChartRow.external_id).join(ChartRow, ChartRow.id == JobRow.chart_id)
    query = query.where(JobRow.batch_id == batch_id)
    if status is not None:
        query = query.where(JobRow.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(JobRow.id).offset(offset).limit(limit)).all()
    return [(job, external_id) for job, external_id in rows], total


def list_batches(session: Session, *, offset: int, limit: int) -> tuple[list[BatchRow], int]:
    total = session.scalar(select(func.count(BatchRow.id))) or 0
    rows = session.scalars(
        select(BatchRow).order_by(BatchRow.id.desc()).offset(offset).limit(limit)
    )
    return list(rows), total
