"""One line of a run's cases.jsonl: what the agent proposed for a case, checked against the KB
at run time, so scoring, comparing and reporting later need neither the agent nor the KB."""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel

from agent.codeset import default_billable
from agent.models import CodingResult, Span, System, Usage
from evals.suite import Case, GoldSpan
from retrieval.records import CodeRecord


class CodeLookup(Protocol):
    """The part of the knowledge store the evaluation uses."""

    def get(self, code: str, system: str | None = None) -> CodeRecord | None: ...

    def source_exists(self, source_id: str) -> bool: ...

    def children(self, code: str, system: str = "cm") -> list[CodeRecord]: ...

    def for_year(self, year: int | None) -> CodeLookup:
        """The same lookups in fiscal `year`'s code set (None: as it is)."""
        ...


class PredictedCode(BaseModel):
    code: str
    system: System
    confidence: float
    sequence: int
    valid: bool  # valid and billable in the KB the run used
    evidence: list[Span] = []
    citations: list[str] = []
    warnings: list[str] = []


class ConsideredCode(BaseModel):
    """A code the agent weighed below its cut-off (ranked after the proposals for MAP)."""

    code: str
    system: System
    confidence: float


class GoldRecord(BaseModel):
    code: str
    system: System
    valid: bool  # valid and billable in the KB the run used (CodiEsp has Spanish-edition codes)
    # The billable code of the KB's code set the annotated one carries forward to (R51 ->
    # R51.9 after R51 was subdivided, T14.90 -> T14.90XA); None when it does not exist there.
    carried: str | None = None
    evidence: list[GoldSpan] = []


class CaseRecord(BaseModel):
    id: str
    predicted: list[PredictedCode]  # ranked by confidence, highest first
    considered: list[ConsideredCode] = []  # below the cut-off, highest first
    gold: list[GoldRecord]
    principal: str | None = None  # gold
    must_not: list[str] = []  # gold: codes that must not be proposed
    predicted_principal: str | None = None  # the first-sequenced CM proposal
    spans: int = 0
    spans_valid: int = 0  # quote == chart_text[start:end]
    citations: int = 0
    citations_resolved: int = 0  # source_id resolves in the KB
    latency_ms: float = 0.0
    usage: Usage = Usage()
    proposer: str = ""
    model: str | None = None
    prompt_version: str | None = None
    dropped: int = 0


def is_billable(store: CodeLookup, code: str, system: System) -> bool:
    record = store.get(code, system)
    return record is not None and record.billable


def carried_forward(store: CodeLookup, code: str, system: System) -> str | None:
    """The code itself when billable; for a CM code that has since become a heading, its
    unspecified (default) child, with the initial-encounter 7th character where one is
    needed, as the official conversion of a subdivided code reads; else None."""
    if is_billable(store, code, system):
        return code
    if system != "cm" or store.get(code, system) is None:
        return None
    record = default_billable(store, code)  # type: ignore[arg-type]  # a KnowledgeStore
    return record.code if record is not None else None


def case_record(
    case: Case, result: CodingResult, latency_ms: float, store: CodeLookup
) -> CaseRecord:
    ranked = sorted(result.proposals, key=lambda p: (-p.confidence, p.sequence))
    spans = [span for p in result.proposals for span in p.evidence]
    cited = [c.source_id for p in result.proposals for c in p.citations]
    diagnoses = [p for p in result.proposals if p.system == "cm"]
    first_cm = min(diagnoses, key=lambda p: p.sequence) if diagnoses else None
    first = result.proposals[0] if result.proposals else None
    return CaseRecord(
        id=case.case_id,
        predicted=[
            PredictedCode(
                code=p.code,
                system=p.system,
                confidence=p.confidence,
                sequence=p.sequence,
                valid=is_billable(store, p.code, p.system),
                evidence=p.evidence,
                citations=[c.source_id for c in p.citations],
                warnings=p.warnings,
            )
            for p in ranked
        ],
        considered=[
            ConsideredCode(code=c.code, system=c.system, confidence=c.confidence)
            for c in sorted(result.considered, key=lambda c: -c.confidence)
        ],
        gold=[
            GoldRecord(
                code=g.code,
                system=g.system,
                valid=is_billable(store, g.code, g.system),
                carried=carried_forward(store, g.code, g.system),
                evidence=g.evidence,
            )
            for g in case.gold
        ],
        principal=case.principal,
        must_not=case.must_not,
        predicted_principal=first_cm.code if first_cm else None,
        spans=len(spans),
        spans_valid=sum(case.text[s.start : s.end] == s.quote for s in spans),
        citations=len(cited),
        citations_resolved=sum(store.source_exists(source) for source in cited),
        latency_ms=round(latency_ms, 1),
        usage=result.usage,
        proposer=result.proposer,
        model=first.model if first else None,
        prompt_version=first.prompt_version if first else None,
        dropped=len(result.dropped),
    )
