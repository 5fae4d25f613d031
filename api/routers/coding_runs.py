"""/charts/{id}/coding-runs: code a chart as a job, and optionally wait for its run."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse

from api.access import ChartRunner
from api.deps import IdempotencyKey, RowId, ServicesDep, etag
from api.job_views import failure_problem, job_public, prefer_wait, wait_for_job
from api.schemas.jobs import JobPublic
from api.schemas.proposals import CodingRunCreate, CodingRunPublic
from review.charts import get_chart
from review.db import transaction
from review.errors import Conflict, ReviewError
from review.idempotency import fingerprint
from review.jobs import fail_job, get_job, queue_coding_job

router = APIRouter(tags=["coding runs"])


class QueueUnavailable(ReviewError):
    status = 503
    title = "Queue unavailable"


@router.post(
    "/charts/{chart_id}/coding-runs",
    status_code=202,
    response_model=JobPublic,
    responses={201: {"model": CodingRunPublic, "description": "Finished within Prefer: wait"}},
)
def post_coding_run(
    chart_id: RowId,
    request: Request,
    services: ServicesDep,
    actor: ChartRunner,
    idempotency_key: IdempotencyKey = None,
    prefer: Annotated[
        str | None,
        Header(
            max_length=200,
            description="`wait=N`: answer 201 with the run if it finishes within N seconds.",
        ),
    ] = None,
    body: CodingRunCreate | None = None,
) -> JSONResponse:
    """Queue a coding run of the chart: 202 with the job and its `Location`. A retry with
    the same Idempotency-Key returns the same job and never starts a second one. With
    `Prefer: wait=N` the answer waits up to N seconds and is the run itself (201), or the
    failure, when the job finishes in time."""
    body = body or CodingRunCreate()
    services.agents.mode(body.proposer)  # an LLM run on a server without one: 422 now
    version = services.kb_version()
    marker = fingerprint(request.method, request.url.path, body.model_dump_json().encode())
    with transaction(services.sessions) as session:
        row = get_chart(session, chart_id=chart_id)
        if row.status == "committed":
            raise Conflict(f"chart {chart_id} is committed; a lead must reopen it first")
        job, created = queue_coding_job(
            session,
            chart_id=chart_id,
            actor=actor,
            kb_version=version,
            proposer=body.proposer,
            idempotency_key=idempotency_key,
            request_fingerprint=marker,
            active_limit=services.settings.coding_runs_per_user,
        )
        job_id = job.id
    if created:
        try:
            services.executor.submit(job_id, kb_version=version)
        except Exception as error:  # the queue is down: say so, and leave nothing pending
            with transaction(services.sessions) as session:
                fail_job(session, job_id=job_id, status=503, detail="the job queue is unavailable")
            raise QueueUnavailable(
                f"the job queue is unavailable ({type(error).__name__}); try again shortly"
            ) from None
    wait = min(prefer_wait(prefer), services.settings.coding_deadline_s + 10)
    if wait > 0:
        wait_for_job(services, job_id, wait)
    with transaction(services.readers) as session:
        job = get_job(session, job_id=job_id)
        public = job_public(session, job, with_run=wait > 0)
        chart_version = get_chart(session, chart_id=chart_id).version
    headers = {"Location": f"/jobs/{job_id}"}
    if not created:
        headers["Idempotent-Replayed"] = "true"
    if wait > 0 and public.run is not None:
        headers |= {
            "ETag": etag(chart_version),
            "Preference-Applied": f"wait={prefer_wait(prefer):g}",
        }
        return JSONResponse(public.run.model_dump(mode="json"), 201, headers=headers)
    if wait > 0 and public.error is not None:
        return failure_problem(request, public)
    headers["Retry-After"] = "1"
    return JSONResponse(public.model_dump(mode="json", exclude={"run"}), 202, headers=headers)
