"""Request dependencies, as `Annotated` aliases the routers declare."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Annotated, Literal, overload

import anyio.to_thread
from fastapi import Depends, Header, HTTPException, Path, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from api.auth import AuthenticationFailed, LockedOut
from api.services import Services
from review.actors import Actor
from review.errors import InvalidInput, PreconditionRequired

# The dependencies here are `async def` although they do not wait for anything: FastAPI runs
# a plain `def` dependency in the thread pool, and those hops (one per dependency, several per
# request) cost more CPU than the checks themselves. Anything that blocks goes to a thread.


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


_BEARER = HTTPBearer(
    auto_error=False, scheme_name="bearerKey", description="Authorization: Bearer <API key>"
)
_API_KEY = APIKeyHeader(
    name="X-API-Key", auto_error=False, scheme_name="apiKey", description="The same key."
)


async def current_actor(
    request: Request,
    services: ServicesDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_BEARER)] = None,
    x_api_key: Annotated[str | None, Security(_API_KEY)] = None,
) -> Actor:
    """The user whose key is sent as `Authorization: Bearer <key>` or `X-API-Key`. The edge
    (api.edge) has checked it before the body was read; this finds the same actor."""
    checked = getattr(request.state, "actor", None)
    if isinstance(checked, Actor):
        return checked
    key = bearer.credentials.strip() if bearer else x_api_key
    client = request.client.host if request.client else "unknown"
    request_id = getattr(request.state, "request_id", None)
    try:
        # A database lookup: off the event loop.
        return await anyio.to_thread.run_sync(
            lambda: services.authenticator.actor(key, request_id=request_id, client=client)
        )
    except AuthenticationFailed as failed:
        raise HTTPException(401, failed.detail, {"WWW-Authenticate": "Bearer"}) from None
    except LockedOut as locked:
        raise HTTPException(429, str(locked), {"Retry-After": str(locked.retry_after)}) from None


def require(*roles: str) -> Callable[[Actor], Awaitable[Actor]]:
    async def check(actor: Annotated[Actor, Depends(current_actor)]) -> Actor:
        if actor.role not in roles:
            raise HTTPException(
                403, f"role {actor.role!r} may not do this; it needs {' or '.join(roles)}"
            )
        return actor

    return check


Reader = Annotated[Actor, Depends(require("coder", "lead", "auditor"))]
Coder = Annotated[Actor, Depends(require("coder", "lead"))]
Lead = Annotated[Actor, Depends(require("lead"))]

# Ids and versions are int4 columns (PostgreSQL): anything larger is refused up front as 422
# instead of reaching the driver and failing there.
INT4_MAX = 2**31 - 1
RowId = Annotated[int, Path(ge=1, le=INT4_MAX)]

_ETAG = re.compile(r'^\s*(?:W/)?"?(\d+)"?\s*$')


async def if_match(if_match: Annotated[str | None, Header()] = None) -> int | None:
    """The version an If-Match header names ("3", W/"3" or 3), or None when absent."""
    if if_match is None:
        return None
    found = _ETAG.match(if_match)
    if found is None:
        raise InvalidInput(
            f'If-Match must be an ETag this API sent, like "3"; got {if_match!r}',
            field="If-Match",
        )
    version = int(found[1])
    if version > INT4_MAX:
        raise InvalidInput(f"If-Match version {version} is out of range", field="If-Match")
    return version


IfMatch = Annotated[int | None, Depends(if_match)]
IdempotencyKey = Annotated[
    str | None, Header(max_length=200, description="Retry-safe POST: the same key replays.")
]


@overload
def expected_version(header: int | None, field: int | None, *, required: Literal[True]) -> int: ...
@overload
def expected_version(
    header: int | None, field: int | None, *, required: Literal[False]
) -> int | None: ...
def expected_version(header: int | None, field: int | None, *, required: bool) -> int | None:
    """The version a write expects, from If-Match or the body's `version` (they must agree);
    `required` writes refuse to go without one (428)."""
    if header is not None and field is not None and header != field:
        raise InvalidInput(
            f"If-Match names version {header} but the body says {field}", field="body.version"
        )
    expected = header if header is not None else field
    if expected is None and required:
        raise PreconditionRequired(
            "send the current version (its ETag) in If-Match or as body.version, so this "
            "change never overwrites one you have not seen",
            field="If-Match",
        )
    return expected


def etag(version: int) -> str:
    return f'"{version}"'
