"""Proposals, decisions on them, codes coders add, and coding runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class ProposalPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    chart_id: int
    run_id: int | None
    origin: Literal["agent", "coder"]
    code: str
    system: Literal["cm", "pcs"]
    title: str
    sequence: int
    principal: bool
    confidence: float | None
    evidence: list[dict[str, Any]]
    citations: list[dict[str, Any]]
    rationale: str
    warnings: list[str]
    fiscal_year: int | None = Field(
        default=None, description="The fiscal year whose code set the code is checked in."
    )
    status: Literal["pending", "accepted", "rejected", "modified", "added"]
    final_code: str | None
    final_title: str | None
    reason: str | None
    note: str | None
    decided_by: str | None
    decided_at: datetime | None
    version: int


class DecisionCreate(BaseModel):
    """accept | reject (reason required) | modify (replacement code and reason required).
    The proposal's version goes in If-Match or in `version`."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["accept", "reject", "modify"]
    code: str | None = Field(default=None, max_length=12)
    reason: str | None = Field(default=None, max_length=40)
    note: str | None = Field(default=None, max_length=2000)
    principal: bool | None = Field(
        default=None, description="Make this the principal / first-listed diagnosis."
    )
    version: int | None = Field(
        default=None, ge=1, le=2**31 - 1, description="Instead of If-Match."
    )


class EvidenceSpan(BaseModel):
    start: int = Field(ge=0)
    end: int = Field(ge=0)


class CodeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(max_length=12)
    evidence: list[EvidenceSpan] = Field(min_length=1, max_length=20)
    reason: str = Field(default="missed_by_agent", max_length=40)
    note: str | None = Field(default=None, max_length=2000)
    principal: bool = False


class CodingRunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    proposer: Literal["offline", "llm"] | None = Field(
        default=None, description="Override the configured proposer."
    )


class CodingRunPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    chart_id: int
    proposer: str
    model: str | None
    prompt_version: str | None
    kb_release: str
    fiscal_year: int | None = Field(
        default=None,
        description="The fiscal year whose code set coded the chart (from its date of service).",
    )
    warnings: list[str] = Field(
        default=[], description="About the run as a whole, such as a chart with no date."
    )
    usage: dict[str, Any]
    timings_ms: dict[str, Any]
    dropped: list[dict[str, Any]]
    created_by: str
    created_at: datetime
    proposals: list[ProposalPublic] = []

    @field_validator("warnings", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value
