"""/batches: many charts at once (JSONL or a FHIR Bundle), each coded as a job."""

from __future__ import annotations

import logging
from typing import Annotated, Literal

import anyio.to_thread
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from api.deps import INT4_MAX, Coder, Reader, RowId, ServicesDep
from api.schemas.jobs import BatchCounts, BatchJobRow, BatchJobsPage, BatchPublic, JobError
from api.services import Services
from review.actors import Actor
from review.batches import batch_counts, batch_jobs, create_batch, get_batch, list_batches
from review.db import transaction
from review.errors import InvalidInput
from review.jobs import STATUSES, fail_job
from review.tables import BatchRow

router = APIRouter(tags=["batches"])
log = logging.getLogger("medcoder.api")

BATCH_TYPES = ("application/x-ndjson", "application/jsonl", "application/fhir+json")


def batch_public(services: Services, batch: BatchRow, counts: dict[str, int]) -> BatchPublic:
    done = sum(counts.get(status, 0) for status in ("succeeded", "failed", "cancelled"))
    public = BatchPublic.model_validate(batch)
    public.counts = BatchCounts(**counts)
    public.done = done
    public.progress = round(done / batch.total, 4) if batch.total else 1.0
    public.finished = done == batch.total
    public.links = {"self": f"/batches/{batch.id}", "jobs": f"/batches/{batch.id}/jobs"}
    return public


@router.post(
    "/batches",
    status_code=202,
    response_model=BatchPublic,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-ndjson": {"schema": {"type": "string"}},
                "application/fhir+json": {"schema": {"type": "object"}},
            },
        }
    },
)
async def post_batch(
    request: Request,
    services: ServicesDep,
    actor: Coder,
    name: Annotated[str | None, Query(max_length=200, description="A name for the batch.")] = None,
    proposer: Annotated[Literal["offline", "llm"] | None, Query()] = None,
) -> JSONResponse:
    """Code many charts: JSONL (one POST /charts body per line) or a FHIR R4 Bundle (batch,
    transaction, collection or searchset) of DocumentReferences or document Bundles. Every
    chart that can be read is stored (it appears in the worklist) with a queued job; entries
    that cannot are listed in `rejected` with their line or entry and what was wrong."""
    data = await request.body()
    return await anyio.to_thread.run_sync(_post_batch, services, actor, data, name, proposer)


def _post_batch(
    services: Services, actor: Actor, data: bytes, name: str | None, proposer: str | None
) -> JSONResponse:
    from agent.batch_input import BatchError, read_batch_bytes

    services.agents.mode(proposer)
    if not data.strip():
        raise InvalidInput("the batch is empty: send JSONL lines or a FHIR Bundle", field="body")
    version = services.kb_version()
    try:
        entries = list(
            read_batch_bytes(
                data,
                name=name or "batch",
                max_chart_bytes=services.settings.max_chart_bytes,
                max_charts=services.settings.batch_max_charts,
            )
        )
    except BatchError as error:
        raise InvalidInput(str(error), field="body") from None
    with transaction(services.sessions) as session:
        batch, job_ids = create_batch(
            session, entries=entries, name=name, actor=actor, kb_version=version, proposer=proposer
        )
        public = batch_public(services, batch, {"queued": len(job_ids)})
    unsent = 0
    for job_id in job_ids:
        try:
            services.executor.submit(job_id, kb_version=version)
        except Exception as error:  # the queue went away: those jobs fail, saying why
            unsent += 1
            with transaction(services.sessions) as session:
                fail_job(session, job_id=job_id, status=503, detail="the job queue is unavailable")
            log.error("job %s not queued: %s", job_id, type(error).__name__)
    if unsent:
        with transaction(services.readers) as session:
            public = batch_public(services, batch, batch_counts(session, batch_id=batch.id))
    headers = {"Location": f"/batches/{public.id}"}
    return JSONResponse(public.model_dump(mode="json"), 202, headers=headers)


@router.get("/batches", response_model=list[BatchPublic])
def get_batches(
    services: ServicesDep,
    actor: Reader,
    offset: Annotated[int, Query(ge=0, le=INT4_MAX)] = 0,
    limit: Annotated[int, Query(ge=1)] = 50,
) -> list[BatchPublic]:
    """Batches, newest first, each with its progress."""
    limit = min(limit, services.settings.page_size_max)
    with transaction(services.readers) as session:
        rows, _total = list_batches(session, offset=offset, limit=limit)
        return [batch_public(services, b, batch_counts(session, batch_id=b.id)) for b in rows]


@router.get("/batches/{batch_id}", response_model=BatchPublic)
def get_batch_state(batch_id: RowId, services: ServicesDep, actor: Reader) -> BatchPublic:
    """Counts by job status, progress (0..1) and whether every job has finished."""
    with transaction(services.readers) as session:
        batch = get_batch(session, batch_id=batch_id)
        return batch_public(services, batch, batch_counts(session, batch_id=batch_id))


@router.get("/batches/{batch_id}/jobs", response_model=BatchJobsPage)
def get_batch_jobs(
    batch_id: RowId,
    services: ServicesDep,
    actor: Reader,
    status: Annotated[str | None, Query(description=f"One of {', '.join(STATUSES)}.")] = None,
    offset: Annotated[int, Query(ge=0, le=INT4_MAX)] = 0,
    limit: Annotated[int, Query(ge=1)] = 100,
) -> BatchJobsPage:
    """The batch's charts in the order they came, each with its job's status and run."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}", field="status")
    limit = min(limit, services.settings.page_size_max)
    with transaction(services.readers) as session:
        get_batch(session, batch_id=batch_id)
        rows, total = batch_jobs(
            session, batch_id=batch_id, status=status, offset=offset, limit=limit
        )
        items = [
            BatchJobRow(
                job_id=job.id,
                chart_id=job.chart_id,
                external_id=external_id,
                status=job.status,
                error=JobError(status=job.error_status or 409, detail=job.error)
                if job.error is not None and job.status != "succeeded"
                else None,
                run_id=job.run_id,
            )
            for job, external_id in rows
        ]
    return BatchJobsPage(items=items, total=total, offset=offset, limit=limit)
