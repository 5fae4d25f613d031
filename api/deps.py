"""Request dependencies, as `Annotated` aliases the routers declare."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Annotated, Literal, overload

from fastapi import Depends, Header, HTTPException, Path, Request

from api.services import Services
from review.actors import Actor
from review.db import transaction
from review.errors import InvalidInput, PreconditionRequired
from review.users import hash_key, user_for_key


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def current_actor(
    request: Request,
    services: ServicesDep,
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header()] = None,
) -> Actor:
    """The user whose key is sent as `Authorization: Bearer <key>` or `X-API-Key`."""
    key = x_api_key
    if authorization and authorization.lower().startswith("bearer "):
        key = authorization[7:].strip()
    if not key:
        raise HTTPException(
            401,
            "an API key is required (Authorization: Bearer <key>)",
            {"WWW-Authenticate": "Bearer"},
        )
    return _actor_for_key(services, key, getattr(request.state, "request_id", None))


KEY_CACHE_SECONDS = 30.0  # a deactivated key may work this much longer in a running server


def _actor_for_key(services: Services, key: str, request_id: str | None) -> Actor:
    hashed = hash_key(key)
    cached = services.known_keys.get(hashed)
    if cached is None or cached[0] < time.monotonic():
        with transaction(services.readers) as session:
            user = user_for_key(session, key=key)
            if user is None:
                raise HTTPException(
                    401, "unknown or inactive API key", {"WWW-Authenticate": "Bearer"}
                )
            cached = (time.monotonic() + KEY_CACHE_SECONDS, user.id, user.name, user.role)
        services.known_keys[hashed] = cached
    _, user_id, name, role = cached
    return Actor(user_id=user_id, name=name, role=role, request_id=request_id)  # type: ignore[arg-type]


def require(*roles: str) -> Callable[[Actor], Actor]:
    def check(actor: Annotated[Actor, Depends(current_actor)]) -> Actor:
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


def if_match(if_match: Annotated[str | None, Header()] = None) -> int | None:
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
