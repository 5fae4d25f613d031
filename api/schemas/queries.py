"""Physician query bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class IndicatorRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    what: str = Field(max_length=100)
    start: int = Field(ge=0, le=2**31 - 1)
    end: int = Field(ge=1, le=2**31 - 1)


class QueryCreate(BaseModel):
    """A query to send, usually a draft of `GET /charts/{id}/cdi`, edited or not; the
    indicators are offsets into the chart's text, quoted from it."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(max_length=40)
    topic: str = Field(max_length=200)
    question: str = Field(min_length=1, max_length=2000)
    options: list[str] = Field(min_length=1, max_length=20)
    indicators: list[IndicatorRef] = Field(min_length=1, max_length=30)
    code: str | None = Field(default=None, max_length=10)
    proposal_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    send: bool = Field(
        default=True, description="Send at once (open); false keeps a draft to edit and send."
    )


class QueryAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answer: str = Field(min_length=1, max_length=4000, description="What the physician documented.")


class QueryCancel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)


class QueryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    chart_id: int
    proposal_id: int | None
    kind: str
    code: str | None
    topic: str
    question: str
    options: list[str]
    indicators: list[dict[str, Any]]
    status: Literal["draft", "open", "answered", "cancelled"]
    answer: str | None
    reason: str | None
    created_by: str
    created_at: datetime
    closed_by: str | None
    closed_at: datetime | None
