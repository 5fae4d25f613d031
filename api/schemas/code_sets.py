"""Committed code sets, commit and reopen bodies, audit rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class CommitCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int | None = Field(
        default=None, ge=1, le=2**31 - 1, description="The chart version, instead of If-Match."
    )
    override_reason: str | None = Field(
        default=None,
        max_length=2000,
        description="A lead's reason to commit over the overridable blockers (Excludes1, "
        "a code-first partner missing, the principal diagnosis); recorded in the audit row.",
    )

    @field_validator("override_reason")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("an override reason must say why (it may not be blank)")
        return value.strip() if value is not None else None


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
    fiscal_year: int | None = Field(
        default=None, description="The fiscal year whose code set the codes were checked in."
    )
    committed_by: str
    committed_at: datetime


class ProblemPublic(BaseModel):
    """A commit problem: a blocker refuses the commit, a warning is committed with."""

    severity: str = Field(description="blocker | warning")
    rule: str = Field(description="The ICD-10-CM Official Guidelines section (or edit) applied.")
    message: str
    codes: list[str]
    overridable: bool


class CommitPublic(CodeSetPublic):
    """The committed code set, the warnings it was committed with and what a lead overrode."""

    warnings: list[ProblemPublic] = []
    overridden: list[ProblemPublic] = []
    override_reason: str | None = None


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
    fiscal_year: int | None = None
