"""A fake agent and store: codes chosen from the chart text, so runner tests need no KB."""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.models import Chart, Citation, CodingResult, Policy, Proposal, Span, Usage
from evals.records import CaseRecord, GoldRecord, PredictedCode
from retrieval.records import CodeRecord

VALID = {"E11.9", "I10", "J18.9", "R05.9", "0DTJ4ZZ", "K35.80"}


class FakeStore:
    def get(self, code: str, system: str | None = None) -> CodeRecord | None:
        if code not in VALID:
            return None
        return CodeRecord(code, "pcs" if code[0].isdigit() else "cm", code, True, "category")

    def source_exists(self, source_id: str) -> bool:
        return source_id.startswith("tabular:")

    def children(self, code: str, system: str = "cm") -> list[CodeRecord]:
        return []  # every fake code is a billable leaf

    def for_year(self, year: int | None) -> FakeStore:
        return self  # one code set for every year


@dataclass
class FakeSearcher:
    store: FakeStore = field(default_factory=FakeStore)


class Stop(RuntimeError):
    """Raised by the fake agent to interrupt a run."""


@dataclass
class FakeAgent:
    """Proposes each code written in the chart text ("codes: I10 E11.9"), first with
    confidence 0.9 and each next one 0.1 lower; fails on the chart numbered `fail_on`."""

    fail_on: int | None = None
    calls: list[str] = field(default_factory=list)
    years: list[int | None] = field(default_factory=list)
    searcher: FakeSearcher = field(default_factory=FakeSearcher)
    kb_release: str = "test-release"

    def code(
        self, chart: Chart, policy: Policy = "claims", *, year: int | None = None
    ) -> CodingResult:
        self.calls.append(chart.chart_id or "")
        self.years.append(year)
        if self.fail_on is not None and len(self.calls) == self.fail_on:
            raise Stop(f"stopped at chart {chart.chart_id}")
        codes = chart.text.split("codes:", 1)[1].split() if "codes:" in chart.text else []
        proposals = [
            Proposal(
                code=code,
                system="pcs" if code[0].isdigit() else "cm",
                title=code,
                sequence=number,
                confidence=round(0.9 - 0.1 * (number - 1), 2),
                evidence=[Span(start=0, end=5, quote=chart.text[:5])],
                citations=[Citation(source_id=f"tabular:{code}")],
                rationale="",
                proposer="fake",
                kb_release=self.kb_release,
            )
            for number, code in enumerate(codes, start=1)
        ]
        usage = Usage(
            model_calls=1, prompt_tokens=100, completion_tokens=10, estimated_cost_usd=0.01
        )
        return CodingResult(
            proposals=proposals,
            dropped=[],
            kb_release=self.kb_release,
            proposer="fake",
            usage=usage,
            fiscal_year=year,
        )


def record(
    case_id: str,
    predicted: list[tuple[str, float]],
    gold: list[str],
    *,
    invalid_gold: tuple[str, ...] = (),
    principal: str | None = None,
    latency_ms: float = 10.0,
) -> CaseRecord:
    """A case record by hand: predicted (code, confidence) in rank order; CM unless the code
    starts with a digit; predicted codes ending in "!" are invalid in the KB."""

    def system(code: str) -> str:
        return "pcs" if code[0].isdigit() else "cm"

    return CaseRecord(
        id=case_id,
        predicted=[
            PredictedCode(
                code=code.rstrip("!"),
                system=system(code),  # type: ignore[arg-type]
                confidence=confidence,
                sequence=number,
                valid=not code.endswith("!"),
            )
            for number, (code, confidence) in enumerate(predicted, start=1)
        ],
        gold=[
            GoldRecord(code=code, system=system(code), valid=code not in invalid_gold)  # type: ignore[arg-type]
            for code in gold
        ],
        principal=principal,
        predicted_principal=next((c for c, _ in predicted if system(c) == "cm"), None),
        latency_ms=latency_ms,
    )
