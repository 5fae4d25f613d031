"""Run a POST's work in one transaction, at most once per Idempotency-Key."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.services import Services
from review.actors import Actor
from review.audit import now
from review.db import transaction
from review.idempotency import StoredResponse, fingerprint, store_response, stored_response

Work = Callable[[Session], tuple[int, Any, dict[str, str]]]


def run_once(
    *,
    services: Services,
    request: Request,
    actor: Actor,
    key: str | None,
    body: BaseModel | None,
    work: Work,
    secret_fields: tuple[str, ...] = (),
) -> JSONResponse:
    """`work(session)` returns (status, JSON-ready body, headers). With a key, the response
    is stored in the same transaction as the change, so a retry after a lost answer replays
    it and the change happens once. `secret_fields` of the body (a new API key) are shown in
    the first answer only: they are stored, and replayed, as null."""
    if key is None or actor.user_id is None:
        with transaction(services.sessions) as session:
            return _response(StoredResponse(*work(session)), replayed=False)
    payload = body.model_dump_json().encode() if body is not None else b""
    marker = fingerprint(request.method, request.url.path, payload)
    # Answers older than the window are not replayed (see review/idempotency.py).
    window = now() - timedelta(hours=services.settings.idempotency_hours)
    try:
        with transaction(services.sessions) as session:
            earlier = stored_response(
                session,
                user_id=actor.user_id,
                key=key,
                request_fingerprint=marker,
                newer_than=window,
            )
            if earlier is not None:
                return _response(earlier, replayed=True)
            answer = StoredResponse(*work(session))
            kept = answer
            if secret_fields and isinstance(answer.body, dict):
                hidden = {name: None for name in secret_fields if name in answer.body}
                kept = StoredResponse(answer.status_code, {**answer.body, **hidden}, answer.headers)
            store_response(
                session, user_id=actor.user_id, key=key, request_fingerprint=marker, response=kept
            )
    except IntegrityError:
        # The same key raced in from a second connection and won; answer as it did.
        with transaction(services.sessions) as session:
            earlier = stored_response(
                session,
                user_id=actor.user_id,
                key=key,
                request_fingerprint=marker,
                newer_than=window,
            )
        if earlier is None:
            raise
        return _response(earlier, replayed=True)
    return _response(answer, replayed=False)


def _response(stored: StoredResponse, *, replayed: bool) -> JSONResponse:
    headers = dict(stored.headers)
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(stored.body, status_code=stored.status_code, headers=headers)
