"""What an evaluation runs over: cases (chart text, metadata, gold codes) grouped in a suite."""

from __future__ import annotations

from pydantic import BaseModel, Field

from agent.models import ChartMeta, Policy, System

ALL_SYSTEMS: tuple[System, ...] = ("cm", "pcs")


class SuiteError(ValueError):
    """A suite file that cannot be read as given; names the file and line."""


class GoldSpan(BaseModel):
    """Where the chart documents a gold code: `text[start:end] == quote`."""

    start: int = Field(ge=0)
    end: int = Field(ge=0)
    quote: str


class GoldCode(BaseModel):
    code: str
    system: System
    evidence: list[GoldSpan] = []


class Case(BaseModel):
    case_id: str
    text: str
    meta: ChartMeta = ChartMeta()
    gold: list[GoldCode] = []
    principal: str | None = None  # the gold principal (first-listed) diagnosis, when known
    must_not: list[str] = []  # codes that must not be proposed (the traps the case sets)


class Suite(BaseModel):
    """Cases plus which code systems are scored: a diagnosis-only suite (codiesp-d) ignores
    the PCS codes the agent proposes instead of counting them as false positives."""

    name: str
    source: str
    cases: list[Case]
    systems: tuple[System, ...] = ALL_SYSTEMS
    # The policy a run uses unless told otherwise: a suite annotated as every mention
    # (CodiEsp) is scored as such by default, everything else as claims.
    policy: Policy = "claims"
    # The fiscal year whose code set its gold codes are written in, and so the one its cases
    # are coded and scored in; None: each case in the year of its own date of service.
    year: int | None = None
