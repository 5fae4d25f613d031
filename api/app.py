"""The HTTP app: `create_app(settings)` wires services, routers, errors and middleware."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import FastAPI

from api import problems
from api.metrics import MetricsMiddleware
from api.routers import (
    audit,
    cdi,
    charts,
    code_sets,
    codes,
    coding_runs,
    drg,
    evals,
    health,
    proposals,
    queries,
    users,
)
from api.services import Services
from api.settings import Settings
from retrieval.errors import KnowledgeBaseError
from review.db import upgrade

log = logging.getLogger("medcoder.api")


_REQUEST_ID = re.compile(rb"[A-Za-z0-9_-]{1,64}")
# Every answer may carry patient data: never cached, never sniffed into another type.
_SECURITY_HEADERS = ((b"x-content-type-options", b"nosniff"), (b"cache-control", b"no-store"))
_CSP = b"default-src 'none'; frame-ancestors 'none'"


class RequestLimits:
    """Give each request an id (X-Request-ID, echoed back) and refuse bodies that say they
    are larger than any chart could need, before reading them."""

    def __init__(self, app: Any, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        # Only a well-formed id is kept (it goes into the audit trail); anything else, invalid
        # UTF-8 included, is replaced by a fresh one.
        given = headers.get(b"x-request-id", b"")
        request_id = given.decode() if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        length = headers.get(b"content-length", b"0")
        if length.isdigit() and int(length) > self.max_body_bytes:
            await _too_large(send, request_id, int(length), self.max_body_bytes)
            return

        docs = scope.get("path", "").startswith(("/docs", "/redoc", "/openapi.json"))

        async def with_id(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                extra = [(b"x-request-id", request_id.encode()), *_SECURITY_HEADERS]
                if not docs:  # the interactive docs page runs scripts; nothing else does
                    extra.append((b"content-security-policy", _CSP))
                message.setdefault("headers", []).extend(extra)
            await send(message)

        await self.app(scope, receive, with_id)


async def _too_large(send: Any, request_id: str, size: int, limit: int) -> None:
    import json

    body = json.dumps(
        {
            "type": "urn:medcoder:problem:too-large",
            "title": "Too large",
            "status": 413,
            "detail": f"the request body is {size:,} bytes; this server takes at most {limit:,}",
        }
    ).encode()
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-request-id", request_id.encode()),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _preload(services: Services) -> None:
    """Load the KB before serving, so no request waits seconds for it; without a KB the
    service still serves review and audit, and coding answers 503 saying why."""
    try:
        services.codebook()
    except KnowledgeBaseError as error:
        log.warning("knowledge base not loaded: %s", error)


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
        yield
        services.close()

    app = FastAPI(
        title="medcoder",
        summary="Computer-assisted ICD-10-CM / PCS coding: a human confirms every code.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.services = services
    problems.install(app)
    routers = (health, charts, coding_runs, proposals, code_sets, drg, cdi, queries, audit, codes)
    for module in (*routers, users, evals):
        app.include_router(module.router)
    # Bodies carry a chart as JSON (escapes can double it) plus metadata.
    body_limit = max(settings.max_chart_bytes * 2 + 65_536, settings.max_suite_bytes + 65_536)
    app.add_middleware(RequestLimits, max_body_bytes=body_limit)
    app.add_middleware(MetricsMiddleware)
    return app


def app_from_environment() -> FastAPI:
    """For uvicorn's --factory (one per worker); `medcoder serve` has migrated already."""
    return create_app(Settings(), migrate=False)
