"""/health (no key needed) and /metrics (Prometheus text, any role)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from api.deps import Reader, ServicesDep
from api.metrics import REGISTRY
from retrieval.layout import KBLayout

router = APIRouter(tags=["health"])


@router.get("/health")
def health(services: ServicesDep) -> JSONResponse:
    """ok when the database answers; the knowledge base is reported, since without it the
    service can still serve review and audit but cannot code."""
    report: dict[str, Any] = {"status": "ok"}
    try:
        with services.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        report["database"] = "ok"
    except Exception as error:  # any driver error means "not ready"
        report.update(status="unavailable", database=type(error).__name__)
    layout = KBLayout(services.settings.home)
    report["knowledge_base"] = (
        layout.manifest().get("release") if layout.current_link.exists() else None
    )
    return JSONResponse(report, status_code=200 if report["status"] == "ok" else 503)


@router.get("/metrics")
def metrics(actor: Reader) -> Response:
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
