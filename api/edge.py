"""The edge of every request, before any router: request ids, size limits and the headers
every answer carries."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

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
