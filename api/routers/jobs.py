"""/jobs: follow a coding job (its state, a progress stream) or cancel it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import anyio
import anyio.to_thread
from fastapi import APIRouter, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from api.access import endpoint_name
from api.deps import Coder, Reader, RowId, ServicesDep
from api.job_views import job_public
from api.schemas.jobs import JobPublic
from api.services import Services
from review.access import record_read, visible_chart
from review.actors import Actor
from review.db import transaction
from review.jobs import FINISHED, cancel_job, get_job

router = APIRouter(tags=["jobs"])

EVENT_POLL_S = 0.25


def _visible_job(services: Services, actor: Actor, job_id: int) -> JobPublic:
    """The job, if the caller may see its chart (404 as for a missing job otherwise)."""
    with transaction(services.readers) as session:
        job = get_job(session, job_id=job_id)
        visible_chart(
            session,
            chart_id=job.chart_id,
            actor=actor,
            restrict_to_assigned=services.settings.restrict_to_assigned,
        )
        return job_public(session, job)


@router.get("/jobs/{job_id}", response_model=JobPublic)
def get_job_state(
    job_id: RowId, request: Request, services: ServicesDep, actor: Reader
) -> JobPublic:
    """The job; once it succeeded, `run` is the coding run with its proposals."""
    public = _visible_job(services, actor, job_id)
    if public.run is not None:  # the proposals quote the chart: a read of it
        with transaction(services.sessions) as session:
            record_read(
                session, actor=actor, chart_id=public.chart_id, endpoint=endpoint_name(request)
            )
    return public


@router.delete("/jobs/{job_id}", response_model=JobPublic)
def delete_job(job_id: RowId, services: ServicesDep, actor: Coder) -> JobPublic:
    """Cancel a queued or running job (its requester or a lead); a running one stops within
    about half a second and keeps nothing. 409 once it has finished."""
    _visible_job(services, actor, job_id)
    with transaction(services.sessions) as session:
        job = cancel_job(session, job_id=job_id, actor=actor)
        return job_public(session, job, with_run=False)


@router.get(
    "/jobs/{job_id}/events",
    responses={200: {"content": {"text/event-stream": {}}, "description": "Job events."}},
)
def job_events(job_id: RowId, services: ServicesDep, actor: Reader) -> EventSourceResponse:
    """Server-Sent Events: a `job` event with the job (without its run) each time its
    status or stage changes, ending with the finished job."""
    _visible_job(services, actor, job_id)

    def state() -> JobPublic:
        with transaction(services.readers) as session:
            return job_public(session, get_job(session, job_id=job_id), with_run=False)

    async def events() -> AsyncIterator[ServerSentEvent]:
        seen: tuple[str, str | None] | None = None
        while True:
            job = await anyio.to_thread.run_sync(state)
            if (job.status, job.stage) != seen:
                seen = (job.status, job.stage)
                yield ServerSentEvent(json.dumps(job.model_dump(mode="json")), event="job")
            if job.status in FINISHED:
                return
            await anyio.sleep(EVENT_POLL_S)

    stream = EventSourceResponse(events())
    del stream.headers["cache-control"]  # the edge sets it on every answer
    return stream
