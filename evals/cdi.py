"""The CDI suite: charts written for medcoder with known documentation gaps and gap-free
charts, scored on gap precision and recall, on the indicators quoted and on query
compliance (checked by code: indicators quote the chart exactly, options include "other" and
"clinically undetermined", no payment words)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.cdi import compliance_problems, draft_query, find_gaps

CDI_FILE = Path(__file__).resolve().parent / "cases" / "cdi.jsonl"


@dataclass
class CdiScore:
    cases: int = 0
    expected: int = 0
    found: int = 0
    right: int = 0
    indicators_expected: int = 0
    indicators_found: int = 0
    drafts: int = 0
    compliant: int = 0
    misses: list[str] = field(default_factory=list)  # "case: kind" expected, not found
    false_alarms: list[str] = field(default_factory=list)  # "case: kind" found, not expected

    def metrics(self) -> dict[str, Any]:
        return {
            "cases": self.cases,
            "gaps_expected": self.expected,
            "gaps_found": self.found,
            "precision": round(self.right / self.found, 4) if self.found else 1.0,
            "recall": round(self.right / self.expected, 4) if self.expected else 1.0,
            "indicator_recall": round(self.indicators_found / self.indicators_expected, 4)
            if self.indicators_expected
            else 1.0,
            "compliant_queries": round(self.compliant / self.drafts, 4) if self.drafts else 1.0,
            "misses": self.misses,
            "false_alarms": self.false_alarms,
        }


def load_cdi_cases(path: Path = CDI_FILE) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def score_cdi(cases: list[dict[str, Any]]) -> CdiScore:
    score = CdiScore()
    for case in cases:
        score.cases += 1
        titles = {code: _title(code) for code in case["codes"]}
        gaps = {gap.kind.name: gap for gap in find_gaps(case["text"], case["codes"], titles)}
        expected = {gap["kind"]: gap for gap in case["gaps"]}
        score.expected += len(expected)
        score.found += len(gaps)
        score.right += len(expected.keys() & gaps.keys())
        score.misses += [f"{case['id']}: {kind}" for kind in expected.keys() - gaps.keys()]
        score.false_alarms += [f"{case['id']}: {kind}" for kind in gaps.keys() - expected.keys()]
        for kind, wanted in expected.items():
            quotes = [i.evidence.quote for i in gaps[kind].indicators] if kind in gaps else []
            score.indicators_expected += len(wanted["indicators"])
            score.indicators_found += sum(
                any(text in quote for quote in quotes) for text in wanted["indicators"]
            )
        for gap in gaps.values():
            score.drafts += 1
            score.compliant += not compliance_problems(draft_query(gap), case["text"])
    return score


def _title(code: str) -> str:
    """A CM code's title from the kept tabular package, as the review screen shows it."""
    import simple_icd_10_cm as cm

    return str(cm.get_description(code)) if cm.is_valid_item(code) else ""
