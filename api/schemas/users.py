"""API users: Create, Public, and the one response that shows a key."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    role: Literal["coder", "lead", "auditor"]
    expires_in_days: int | None = Field(
        default=None,
        ge=1,
        le=3650,
        description="The key's lifetime; default: the server's MEDCODER_KEY_DAYS (none: never).",
    )


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    role: str
    key_prefix: str
    active: bool
    key_expires_at: datetime | None = Field(description="When the key stops working (null: never).")
    created_at: datetime


class UserCreated(BaseModel):
    user: UserPublic
    key: str | None = Field(
        description="Shown once; only its hash is stored (null in an Idempotency-Key replay)."
    )
