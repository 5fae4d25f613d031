"""The edge of every request, before any router: a request id, the caller's key checked
before a byte of the body is read, a body limit per route that counts chunked bodies too,
and the headers every answer carries."""

from __future__ import annotations

import json
import logging
import random
import re
from collections.abc import Callable
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import urlencode

import anyio.to_thread
from starlette.exceptions import HTTPException

from api.auth import AuthenticationFailed, Authenticator, LockedOut
from review.sign_in import same_token

log = logging.getLogger("medcoder.api")
_REQUEST_ID = re.compile(rb"[A-Za-z0-9_-]{1,64}")
# Every answer may carry patient data: never cached, never sniffed into another type.
_SECURITY_HEADERS = ((b"x-content-type-options", b"nosniff"),)
# The workspace's scripts and styles hold no patient data: kept, but checked each time (ETag).
_ASSET_CACHE = (b"cache-control", b"no-cache")
_NO_STORE = (b"cache-control", b"no-store")
_CSP = b"default-src 'none'; frame-ancestors 'none'"
# The API docs pages: their own scripts and styles, all served by this app.
_DOCS_CSP = (
    b"default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    b"img-src 'self' data:; frame-ancestors 'none'"
)
# The workspace's pages (web/): only their own scripts, styles and connections.
_WEB_CSP = (
    b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    b"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
_HSTS = b"max-age=63072000; includeSubDomains"
PUBLIC_PATHS = ("/health", "/docs", "/redoc", "/openapi.json", "/docs-assets/")
# Pages and assets of the browser workspace that need no sign-in (sign-out checks its own
# cookie and CSRF field: a form post carries no header).
WEB_PUBLIC_PATHS = ("/sign-in", "/sign-out", "/assets/")
SESSION_COOKIE = "medcoder_session"
CSRF_HEADER = b"x-csrf-token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class BodyTooLarge(HTTPException):
    """Raised while the body streams in, as soon as it passes the route's limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is over {limit:,} bytes, this route's limit")


def body_limits(
    *, chart_bytes: int, upload_bytes: int, batch_bytes: int, other_bytes: int = 262_144
) -> Callable[[str, str], int]:
    """The largest body each route takes: a chart (JSON escapes can double its text, plus
    metadata), an evaluation upload, a batch of charts, and small JSON for everything else."""

    def limit(method: str, path: str) -> int:
        if method == "POST" and path.rstrip("/") == "/charts":
            return chart_bytes * 2 + 65_536
        if method == "POST" and path.rstrip("/") == "/evals/upload":
            return upload_bytes + 65_536
        if method == "POST" and path.rstrip("/") == "/batches":
            return batch_bytes
        return other_bytes

    return limit


def _fresh_request_id() -> str:
    """128 random bits as 32 hex digits. Not uuid4(): its os.urandom() is a system call that
    lets go of the GIL, and under load the event loop then waits for worker threads to hand
    it back. An id needs to be unique, not secret; `random` is reseeded in a forked child."""
    return f"{random.getrandbits(128):032x}"


def _is_public(path: str) -> bool:
    return path == "/health" or path.startswith(PUBLIC_PATHS[1:] + WEB_PUBLIC_PATHS)


def is_web_page(path: str) -> bool:
    """A page of the workspace: an unsigned-in visit is sent to sign in, not answered 401."""
    return path == "/" or path.startswith("/ui/")


def _csp(path: str) -> bytes:
    if path == "/" or path.startswith(("/ui/", *WEB_PUBLIC_PATHS)):
        return _WEB_CSP
    if path.startswith(PUBLIC_PATHS[1:]):
        return _DOCS_CSP
    return _CSP


class Edge:
    """ASGI middleware: ids, authentication before the body, per-route body limits, headers.

    A request that is not to a public path must carry a key that the authenticator accepts;
    without one it is answered 401 (429 when its address keeps failing) while its body is
    still unread, so an unauthenticated client cannot make the server buffer anything."""

    def __init__(
        self, app: Any, *, authenticator: Authenticator, limit_for: Callable[[str, str], int]
    ) -> None:
        self.app = app
        self.authenticator = authenticator
        self.limit_for = limit_for

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        # Only a well-formed id is kept (it goes into the audit trail); anything else, invalid
        # UTF-8 included, is replaced by a fresh one.
        given = headers.get(b"x-request-id", b"")
        request_id = given.decode() if _REQUEST_ID.fullmatch(given) else _fresh_request_id()
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        path, method = scope.get("path", ""), scope.get("method", "GET")
        public = _is_public(path)
        https = scope.get("scheme") == "https"
        asset = path.startswith("/assets/")
        reply = _Replier(send, request_id, csp=_csp(path), https=https, asset=asset)

        signed_out = _key(headers) is None and not _cookie(headers, SESSION_COOKIE)
        if not public and is_web_page(path) and signed_out:  # not counted as a failure
            await reply.redirect(_sign_in_address(scope, expired=False))
            return
        if not public:
            refusal = await self._authenticate(scope, headers, request_id, state)
            if refusal is not None:
                if is_web_page(path) and method in _SAFE_METHODS:
                    await reply.redirect(_sign_in_address(scope, expired=refusal[0] == 419))
                    return
                if refusal[0] == 419:  # ended session: 401 for the client, saying so
                    refusal = (401, "Unauthorized", refusal[2], refusal[3])
                await reply.problem(*refusal)
                return

        limit = self.limit_for(method, path)
        length = headers.get(b"content-length", b"0")
        if length.isdigit() and int(length) > limit:
            detail = (
                f"the request body is {int(length):,} bytes; this route takes at most {limit:,}"
            )
            await reply.problem(413, "Too large", detail, [])
            return
        received = 0

        async def counted() -> dict[str, Any]:
            nonlocal received
            message: dict[str, Any] = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:  # chunked bodies have no Content-Length to check first
                    raise BodyTooLarge(limit)
            return message

        try:
            await self.app(scope, counted, reply.send)
        except BodyTooLarge as too_large:
            if reply.started:
                raise
            await reply.problem(413, "Too large", str(too_large.detail), [])
        except Exception as error:
            # Its message or traceback may quote chart text: log the type and request id
            # only, and answer here so no outer layer logs the traceback.
            log.error("unhandled %s in request %s", type(error).__name__, request_id)
            if not reply.started:
                detail = "an unexpected error; see the server log for this request id"
                await reply.problem(500, "Internal error", detail, [])

    async def _authenticate(
        self,
        scope: dict[str, Any],
        headers: dict[bytes, bytes],
        request_id: str,
        state: dict[str, Any],
    ) -> tuple[int, str, str, list[tuple[bytes, bytes]]] | None:
        """None when the caller's key is good (its actor is left in the request state), else
        the refusal to send. Without a key, a browser session's cookie is taken, and a write
        made with it must carry the session's CSRF token in X-CSRF-Token."""
        key = _key(headers)
        if key is None:
            token = _cookie(headers, SESSION_COOKIE)
            if token:
                return await self._session(scope, headers, token, request_id, state)
        client = (scope.get("client") or ("unknown", 0))[0]
        actor = self.authenticator.cached(key, request_id) if key else None
        if actor is None:
            try:
                # A database lookup: off the event loop.
                actor = await anyio.to_thread.run_sync(
                    lambda: self.authenticator.actor(key, request_id=request_id, client=client)
                )
            except AuthenticationFailed as failed:
                return 401, "Unauthorized", failed.detail, [(b"www-authenticate", b"Bearer")]
            except LockedOut as locked:
                retry = str(locked.retry_after).encode()
                return 429, "Too many requests", str(locked), [(b"retry-after", retry)]
        state["actor"] = actor
        return None

    async def _session(
        self,
        scope: dict[str, Any],
        headers: dict[bytes, bytes],
        token: str,
        request_id: str,
        state: dict[str, Any],
    ) -> tuple[int, str, str, list[tuple[bytes, bytes]]] | None:
        found = await anyio.to_thread.run_sync(
            lambda: self.authenticator.session(token, request_id=request_id)
        )
        if found is None:
            detail = "your sign-in has ended or expired; sign in again"
            return 419, "Unauthorized", detail, [(b"www-authenticate", b"Cookie")]
        actor, csrf = found
        if scope.get("method", "GET") not in _SAFE_METHODS:
            given = headers.get(CSRF_HEADER, b"").decode("latin-1")
            if not same_token(given, csrf):
                detail = "this change lacks the page's CSRF token (X-CSRF-Token); reload the page"
                return 403, "Forbidden", detail, []
        state["actor"], state["csrf_token"] = actor, csrf
        return None


def _sign_in_address(scope: dict[str, Any], *, expired: bool) -> bytes:
    """Where an unsigned-in page visit goes: the sign-in page, then back to the page."""
    target = scope.get("path", "/")
    if scope.get("query_string"):
        target += "?" + scope["query_string"].decode("latin-1")
    query = urlencode({"next": target, **({"expired": "1"} if expired else {})})
    return f"/sign-in?{query}".encode()


def _cookie(headers: dict[bytes, bytes], name: str) -> str | None:
    raw = headers.get(b"cookie")
    if not raw:
        return None
    jar = SimpleCookie()
    try:
        jar.load(raw.decode("latin-1"))
    except CookieError:
        return None
    morsel = jar.get(name)
    return morsel.value if morsel is not None and morsel.value else None


def _key(headers: dict[bytes, bytes]) -> str | None:
    """The key sent as `Authorization: Bearer <key>` or `X-API-Key`, if any."""
    authorization = headers.get(b"authorization", b"")
    raw = (
        authorization[7:] if authorization[:7].lower() == b"bearer " else headers.get(b"x-api-key")
    )
    if not raw:
        return None
    try:
        return raw.decode("ascii").strip() or None
    except UnicodeDecodeError:  # no key has such bytes; treat it as a wrong key
        return "\x00invalid"


class _Replier:
    """Adds the id and security headers to whatever goes out; sends problems of its own."""

    def __init__(
        self, send: Any, request_id: str, *, csp: bytes, https: bool, asset: bool = False
    ) -> None:
        self._send = send
        self.request_id = request_id
        self.started = False
        self._headers = [
            (b"x-request-id", request_id.encode()),
            *_SECURITY_HEADERS,
            _ASSET_CACHE if asset else _NO_STORE,
            (b"content-security-policy", csp),
        ]
        if https:  # browsers then refuse plain HTTP to this host for two years
            self._headers.append((b"strict-transport-security", _HSTS))

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.started = True
            message.setdefault("headers", []).extend(self._headers)
        await self._send(message)

    async def redirect(self, location: bytes) -> None:
        headers = [(b"location", location), (b"content-length", b"0")]
        await self.send({"type": "http.response.start", "status": 303, "headers": headers})
        await self.send({"type": "http.response.body", "body": b""})

    async def problem(
        self, status: int, title: str, detail: str, extra: list[tuple[bytes, bytes]]
    ) -> None:
        body = json.dumps(
            {
                "type": f"urn:medcoder:problem:{title.lower().replace(' ', '-')}",
                "title": title,
                "status": status,
                "detail": detail,
            }
        ).encode()
        headers = [
            (b"content-type", b"application/problem+json"),
            (b"content-length", str(len(body)).encode()),
            *extra,
        ]
        if status == 413:  # the rest of the body is not read: say the connection ends
            headers.append((b"connection", b"close"))
        await self.send({"type": "http.response.start", "status": status, "headers": headers})
        await self.send({"type": "http.response.body", "body": body})
