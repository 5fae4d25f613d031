"""Domain types every later layer shares (review, api, evals read these, never the reverse)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

Setting = Literal["inpatient", "outpatient"]
Sex = Literal["F", "M"]
System = Literal["cm", "pcs"]
# "status": a Chapter 21 / tobacco cue ("on metformin", "s/p CABG"), see agent.cues.
MentionKind = Literal["condition", "procedure", "finding", "status"]
CandidateSource = Literal["index", "table", "phrase", "statement", "search", "history", "status"]
# `claims`: the Official Guidelines, what a claim carries (the only policy review commits).
# `mentions`: every clinical concept mentioned, each code with its assertion (abstraction,
# registries, and the CodiEsp annotation convention).
Policy = Literal["claims", "mentions"]
Assertion = Literal["present", "uncertain", "historical", "family", "negated"]


class ChartError(ValueError):
    """A chart that cannot be coded as given (empty, binary, too large, invalid FHIR, ...)."""


class Span(BaseModel):
    """A stretch of the chart text: `text[start:end] == quote` must hold."""

    start: int = Field(ge=0)
    end: int = Field(ge=0)
    quote: str


class ChartMeta(BaseModel):
    setting: Setting = "inpatient"
    age: int | None = Field(default=None, ge=0, le=124)
    sex: Sex | None = None
    encounter_date: date | None = None


class Section(BaseModel):
    """A titled part of the note; `name` is canonical (hpi, history, assessment, ...)."""

    name: str
    heading: str
    start: int
    end: int


class Sentence(BaseModel):
    start: int
    end: int
    section: str


class Chart(BaseModel):
    text: str
    meta: ChartMeta = ChartMeta()
    sections: list[Section] = []
    sentences: list[Sentence] = []
    chart_id: str | None = None

    def quote(self, start: int, end: int) -> Span:
        return Span(start=start, end=end, quote=self.text[start:end])


class Mention(BaseModel):
    """A clinical concept found in the chart, with the context that decides if it is coded."""

    text: str
    span: Span
    kind: MentionKind
    section: str = "other"
    negated: bool = False
    uncertain: bool = False
    historical: bool = False
    family: bool = False


class Citation(BaseModel):
    """A reference into the knowledge base (a `source_id` the store resolves)."""

    source_id: str
    label: str = ""


class Candidate(BaseModel):
    """A code a mention may map to, and how it was found."""

    code: str
    system: System
    title: str
    billable: bool
    score: float
    via: CandidateSource
    mention_index: int
    citations: list[Citation] = []
    routes: dict[str, float] = {}  # every route that found the code, with its best score


class RawProposal(BaseModel):
    """What a proposer suggests before validation: nothing here is trusted yet."""

    code: str
    evidence: list[Span] = []
    citations: list[Citation] = []
    rationale: str = ""
    confidence: float = 0.5
    principal: bool = False
    assertion: Assertion = "present"


class Usage(BaseModel):
    model_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    estimated_cost_usd: float = 0.0


class ProposerOutput(BaseModel):
    proposals: list[RawProposal]
    # Codes weighed but left below the cut-off, most likely first: not proposed, shown to a
    # coder who looks for what the agent missed.
    considered: list[RawProposal] = []
    usage: Usage = Usage()
    model: str | None = None
    prompt_version: str | None = None
    notes: list[str] = []


class Proposal(BaseModel):
    code: str
    system: System
    title: str
    sequence: int
    confidence: float
    evidence: list[Span]
    citations: list[Citation]
    rationale: str
    warnings: list[str] = []
    assertion: Assertion = "present"
    proposer: str
    model: str | None = None
    prompt_version: str | None = None
    kb_release: str


class Dropped(BaseModel):
    """A suggested code that never reached the coder, and why."""

    code: str
    reason: str
    proposer: str


class Considered(BaseModel):
    """A valid code the proposer weighed and left below its cut-off."""

    code: str
    system: System
    title: str
    confidence: float
    evidence: list[Span] = []
    assertion: Assertion = "present"


class CodingResult(BaseModel):
    proposals: list[Proposal]
    dropped: list[Dropped]
    considered: list[Considered] = []
    kb_release: str
    proposer: str
    timings_ms: dict[str, float] = {}
    usage: Usage = Usage()
