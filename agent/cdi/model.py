"""What a documentation gap is: its kind, the indicators quoted from the chart, the code."""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.models import Span


@dataclass(frozen=True)
class GapKind:
    name: str
    codes: tuple[str, ...]  # a proposal starting with one of these shows the gap
    topic: str  # what the query asks about, in clinical words
    question: str  # neutral: no leading, no payment
    options: tuple[str, ...]  # clinically reasonable answers; "other" and "undetermined" added
    indicators: tuple[tuple[str, re.Pattern[str]], ...]  # (what it is, pattern)
    minimum: int = 1  # indicators needed before asking
    unless: tuple[str, ...] = ()  # a proposal starting with one of these closes the gap
    beside: tuple[str, ...] = ()  # the gap needs a proposal starting with one of these too
    code_pattern: re.Pattern[str] | None = None  # instead of `codes`, for a code's shape

    def shown_by(self, code: str) -> bool:
        if self.code_pattern is not None:
            return self.code_pattern.fullmatch(code) is not None
        return code.startswith(self.codes)


@dataclass(frozen=True)
class Indicator:
    what: str
    evidence: Span  # the chart's words, exactly


@dataclass(frozen=True)
class Gap:
    kind: GapKind
    code: str  # the unspecific proposal
    indicators: tuple[Indicator, ...]
