"""Prometheus metrics, and a plain ASGI middleware that counts and times every request."""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter(
    "medcoder_http_requests_total",
    "HTTP requests by route template and status",
    ["method", "route", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "medcoder_http_request_seconds",
    "HTTP request latency by route template",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
DECISIONS = Counter(
    "medcoder_decisions_total", "Coder decisions by action", ["action"], registry=REGISTRY
)


class MetricsMiddleware:
    """Labels use the route template (/charts/{chart_id}), never ids or query strings."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def observe(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observe)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            REQUESTS.labels(scope["method"], template, str(status)).inc()
            LATENCY.labels(template).observe(time.perf_counter() - started)
