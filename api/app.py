"""The HTTP app: `create_app(settings)` wires services, routers, errors and middleware."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI

from api import docs, problems
from api.edge import Edge, body_limits
from api.metrics import MetricsMiddleware
from api.routers import (
    audit,
    batches,
    cdi,
    chart_view,
    charts,
    code_sets,
    codes,
    coding_runs,
    conversations,
    drg,
    evals,
    health,
    jobs,
    proposals,
    queries,
    users,
)
from api.services import Services
from retrieval.errors import KnowledgeBaseError
from review.db import transaction, upgrade
from review.jobs import unfinished_jobs
from wiring.settings import Settings

log = logging.getLogger("medcoder.api")


def _preload(services: Services) -> None:
    """Load the KB before serving, so no request waits seconds for it; without a KB the
    service still serves review and audit, and coding answers 503 saying why."""
    try:
        services.codebook()
    except KnowledgeBaseError as error:
        log.warning("knowledge base not loaded: %s", error)


def _resume_jobs(services: Services) -> None:
    """Jobs the in-process executor held when this process last stopped are run again (a
    queue keeps its own messages, so only the in-process executor needs this)."""
    if services.executor.name != "in-process":
        return
    with transaction(services.readers) as session:
        pending = unfinished_jobs(session)
    for job_id, version in pending:
        services.executor.submit(job_id, kb_version=version)
    if pending:
        log.warning("resumed %d unfinished coding jobs", len(pending))


def create_app(settings: Settings, *, migrate: bool = True) -> FastAPI:
    """The app for `settings`; with `migrate`, the database is upgraded on start."""
    if migrate:
        upgrade(settings.review_database_url)
    services = Services.from_settings(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Few threads for blocking endpoints: requests are short and mostly serialize on the
        # database anyway, and dozens of threads contending for the GIL while one holds
        # the write lock multiply latency (measured: p50 478 ms at 40 threads, 50 clients).
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.api_threads
        if settings.preload_agent:
            await anyio.to_thread.run_sync(_preload, services)
        await anyio.to_thread.run_sync(_resume_jobs, services)
        # Old evaluation runs and expired idempotency answers go away while serving too.
        from api.housekeeping import periodic, stop

        every = settings.housekeeping_interval_s
        chores = periodic(services, every) if every > 0 else None
        yield
        if chores is not None:
            await stop(chores)
        services.close()

    app = FastAPI(
        title="medcoder",
        summary="Computer-assisted ICD-10-CM / PCS coding: a human confirms every code.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    docs.install(app)
    app.state.services = services
    problems.install(app)
    routers = (
        health,
        charts,
        chart_view,
        coding_runs,
        proposals,
        code_sets,
        drg,
        cdi,
        queries,
        audit,
        codes,
    )
    for module in (*routers, jobs, batches, conversations, users, evals):
        app.include_router(module.router)
    limits = body_limits(
        chart_bytes=settings.max_chart_bytes,
        upload_bytes=settings.max_suite_bytes,
        batch_bytes=settings.batch_max_bytes,
    )
    app.add_middleware(Edge, authenticator=services.authenticator, limit_for=limits)
    app.add_middleware(MetricsMiddleware)
    return app


def app_from_environment() -> FastAPI:
    """For uvicorn's --factory (one per worker); `medcoder serve` has migrated already."""
    return create_app(Settings(), migrate=False)
