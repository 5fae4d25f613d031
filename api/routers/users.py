"""/users: leads create users (each gets a key, shown once), list them, deactivate a key or
rotate it; a changed key stops working in this server at once."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from api.deps import IdempotencyKey, Lead, RowId, ServicesDep
from api.once import run_once
from api.schemas.users import UserCreate, UserCreated, UserPublic
from review.db import transaction
from review.users import create_user, deactivate_user, key_expiry, list_users, rotate_key

router = APIRouter(prefix="/users", tags=["users"])


@router.post("", status_code=201, response_model=UserCreated)
def post_user(
    body: UserCreate,
    request: Request,
    services: ServicesDep,
    actor: Lead,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    def work(session: Session) -> tuple[int, Any, dict[str, str]]:
        days = body.expires_in_days or services.settings.key_days
        user, key = create_user(
            session, name=body.name, role=body.role, actor=actor, expires_at=key_expiry(days)
        )
        created = UserCreated(user=UserPublic.model_validate(user), key=key)
        return 201, created.model_dump(mode="json"), {}

    # The key is never stored, not even for a replay: a replay shows the user, key null.
    return run_once(
        services=services,
        request=request,
        actor=actor,
        key=idempotency_key,
        body=body,
        work=work,
        secret_fields=("key",),
    )


@router.get("", response_model=list[UserPublic])
def get_users(services: ServicesDep, actor: Lead) -> list[UserPublic]:
    with transaction(services.readers) as session:
        return [UserPublic.model_validate(u) for u in list_users(session)]


@router.post("/{user_id}/deactivate", response_model=UserPublic)
def post_deactivate(user_id: RowId, services: ServicesDep, actor: Lead) -> UserPublic:
    with transaction(services.sessions) as session:
        user = deactivate_user(session, user_id=user_id, actor=actor)
        public = UserPublic.model_validate(user)
    services.forget_keys()
    return public


@router.post("/{user_id}/rotate-key", response_model=UserCreated)
def post_rotate(
    user_id: RowId,
    services: ServicesDep,
    actor: Lead,
    expires_in_days: Annotated[int | None, Query(ge=1, le=3650)] = None,
) -> UserCreated:
    """A new key (shown once); the old one stops working at once."""
    expires_at = key_expiry(expires_in_days or services.settings.key_days)
    with transaction(services.sessions) as session:
        user, key = rotate_key(session, user_id=user_id, actor=actor, expires_at=expires_at)
        created = UserCreated(user=UserPublic.model_validate(user), key=key)
    services.forget_keys()
    return created
