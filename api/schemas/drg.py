"""The MS-DRG of a chart's working code set."""

from __future__ import annotations

from pydantic import BaseModel


class CodeSeverityPublic(BaseModel):
    code: str
    severity: str  # MCC | CC | NONE
    excluded: bool  # a CC/MCC the principal diagnosis excludes
    drives_drg: bool


class PendingImpactPublic(BaseModel):
    proposal_id: int
    code: str
    severity: str
    excluded: bool
    sets_drg: bool | None  # procedures only: whether the grouper used it for the DRG
    drg_without: int | None
    drg_with: int | None
    changes_drg: bool
    message: str


class ChartDrgPublic(BaseModel):
    chart_id: int
    grouper_version: int
    drg: int | None
    title: str
    mdc: int | None
    severity: str
    weight: float | None  # from the configured CMS Table 5 file; None without one
    return_code: str
    ungroupable: bool
    principal: str
    secondary: list[str]
    procedures: list[str]
    codes: list[CodeSeverityPublic]
    pending: list[PendingImpactPublic]
    notes: list[str]
