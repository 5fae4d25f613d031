"""Errors as RFC 9457 problem+json: what was wrong, and where (field paths)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from agent.drg import DrgError
from agent.models import ChartError, FiscalYearError, RunStopped
from agent.proposers.base import ProposerError
from retrieval.errors import KnowledgeBaseError, QueryError, UnknownCodeError
from review.errors import ReviewError, TooMany

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("medcoder.api")


def problem_body(
    instance: str, status: int, title: str, detail: str, **extra: Any
) -> dict[str, Any]:
    """The RFC 9457 body (also sent inside a stream that fails after it began)."""
    return {
        "type": f"urn:medcoder:problem:{title.lower().replace(' ', '-')}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        **extra,
    }


def problem(request: Request, status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = problem_body(request.url.path, status, title, detail, **extra)
    headers = {"X-Request-ID": getattr(request.state, "request_id", "")}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field_path(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc)


async def on_review_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ReviewError)
    response = problem(request, error.status, error.title, error.detail, **error.extra)
    if isinstance(error, TooMany):  # RFC 9110: tells a client when asking again makes sense
        response.headers["Retry-After"] = str(error.retry_after)
    return response


async def on_validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    errors = [_readable(e) for e in error.errors()]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    return problem(request, 422, "Invalid request", detail, errors=errors)


def _readable(found: Any) -> dict[str, str]:
    """One validation error as the client can act on it. FastAPI reports a body that is not
    JSON at ("body", <character offset>): say that, and where."""
    where = found["loc"]
    if found.get("type") == "json_invalid" and len(where) == 2 and isinstance(where[1], int):
        reason = (found.get("ctx") or {}).get("error", found["msg"])
        return {
            "field": "body",
            "message": f"not valid JSON at character {where[1]} ({reason}); send a JSON object",
        }
    if found.get("type") == "model_attributes_type" and tuple(where) == ("body",):
        return {"field": "body", "message": "send a JSON object (Content-Type: application/json)"}
    return {"field": _field_path(where), "message": found["msg"]}


async def on_http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    titles = {
        400: "Bad request",
        401: "Unauthorized",
        403: "Forbidden",
        404: "Not found",
        405: "Method not allowed",
        413: "Too large",
        429: "Too many requests",
    }
    response = problem(
        request, error.status_code, titles.get(error.status_code, "Error"), str(error.detail)
    )
    for name, value in (error.headers or {}).items():
        response.headers[name] = value
    return response


async def on_chart_error(request: Request, error: Exception) -> JSONResponse:
    if isinstance(error, FiscalYearError):  # the chart's stored date of service
        return problem(
            request,
            422,
            "Invalid chart",
            str(error),
            field=f"meta.{error.field}",
            fiscal_years=error.years,
        )
    return problem(request, 422, "Invalid chart", str(error), field="body")


async def on_query_error(request: Request, error: Exception) -> JSONResponse:
    nearest = getattr(error, "nearest", None)
    extra = {"nearest": nearest} if nearest else {}
    status = 404 if isinstance(error, UnknownCodeError) else 422
    return problem(
        request, status, "Unknown code" if status == 404 else "Invalid query", str(error), **extra
    )


async def on_knowledge_base_error(request: Request, error: Exception) -> JSONResponse:
    return problem(request, 503, "Knowledge base unavailable", str(error))


async def on_drg_error(request: Request, error: Exception) -> JSONResponse:
    # A grouper or Table 5 file the server is configured with: the server's fault, said.
    return problem(request, 503, "MS-DRG grouping unavailable", str(error))


async def on_run_stopped(request: Request, error: Exception) -> JSONResponse:
    request_id = getattr(request.state, "request_id", "?")
    log.warning("coding run stopped (%s), request %s", error, request_id)
    detail = f"the coding run was stopped: {error}; nothing of it was saved"
    return problem(request, 503, "Coding run stopped", detail)


async def on_proposer_error(request: Request, error: Exception) -> JSONResponse:
    return problem(request, 502, "Proposer failed", str(error))


def install(app: FastAPI) -> None:
    app.add_exception_handler(ReviewError, on_review_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(ChartError, on_chart_error)
    app.add_exception_handler(KnowledgeBaseError, on_knowledge_base_error)
    app.add_exception_handler(QueryError, on_query_error)
    app.add_exception_handler(UnknownCodeError, on_query_error)
    app.add_exception_handler(ProposerError, on_proposer_error)
    app.add_exception_handler(RunStopped, on_run_stopped)
    app.add_exception_handler(DrgError, on_drg_error)
