"""API users: Create, Public, and the one response that shows a key."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    role: Literal["coder", "lead", "auditor"]


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    role: str
    key_prefix: str
    active: bool
    created_at: datetime


class UserCreated(BaseModel):
    user: UserPublic
    key: str = Field(description="Shown once; only its hash is stored.")
