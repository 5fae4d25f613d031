"""Chart access: the read log's rows and the assignment body."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class ChartReadPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    user_id: int | None
    actor: str
    role: str
    chart_id: int
    endpoint: str = Field(description='Method and route, e.g. "GET /charts/{chart_id}/export".')
    request_id: str | None


class AssigneeUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Required, null included: an empty body is refused rather than read as "unassign".
    user_id: int | None = Field(
        ge=1, le=2**31 - 1, description="An active coder or lead; null: assigned to no one."
    )
    version: int | None = Field(
        default=None, ge=1, le=2**31 - 1, description="The chart version, instead of If-Match."
    )
