"""Committed code sets, commit and reopen bodies, audit rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class CommitCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int | None = Field(
        default=None, ge=1, le=2**31 - 1, description="The chart version, instead of If-Match."
    )


class ReopenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=3, max_length=2000, description="Why the chart is reopened.")
    version: int | None = Field(default=None, ge=1, le=2**31 - 1)


class CodeSetPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    chart_id: int
    version: int
    codes: list[dict[str, Any]]
    kb_release: str
    committed_by: str
    committed_at: datetime


class AuditEventPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor: str
    role: str
    action: str
    chart_id: int | None
    proposal_id: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str | None
    request_id: str | None
    model: str | None
    prompt_version: str | None
    kb_release: str | None
