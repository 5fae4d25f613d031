"""What a conversation about a chart is made of: the context it reads, the citations it
gives, and the answers (offline or from an LLM, checked the same way)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from agent.lexicon import Lexicon
from agent.models import Chart, Citation, Span, Usage
from retrieval.search import Hit, HybridSearcher
from retrieval.store import KnowledgeStore

# 1 why/where a code, 2 find in the chart, 3 find a code, 4 code-set rules, 5 guidelines,
# 7 open questions (kind 6, follow-ups, resolves to one of the others).
QuestionKind = Literal["why", "find_in_chart", "find_code", "code_rules", "guideline", "open"]
Flag = Literal["negated", "uncertain", "historical", "family"]


class ChartQuote(BaseModel):
    """A passage of the chart: `chart.text[start:end] == quote`, with its context flags."""

    kind: Literal["chart"] = "chart"
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    quote: str
    flags: list[Flag] = []


class KbSource(BaseModel):
    """A record of the knowledge base (`tabular:E11.22`, `index:cm:24200`, a guideline)."""

    kind: Literal["kb"] = "kb"
    source_id: str
    label: str = ""
    # A code's title in the chart's code set, filled in when the citation is verified, so
    # a reader of the answer needs no lookup per cited code.
    title: str = ""


class RuleSource(BaseModel):
    """A section of the Official Guidelines as the rules package applies it (the CM
    guideline text itself is not in every knowledge base)."""

    kind: Literal["rule"] = "rule"
    section_id: str
    label: str = ""


ChatCitation = Annotated[ChartQuote | KbSource | RuleSource, Field(discriminator="kind")]


class ChatAnswer(BaseModel):
    kind: QuestionKind
    text: str
    citations: list[ChatCitation] = []
    # The codes the answer is about, and the phrase of a code search: what a follow-up
    # ("and its code-first note?", "what about the left side?") refers back to.
    codes: list[str] = []
    phrase: str | None = None
    refused: bool = False
    # Citations that did not check out and were removed (the text says so).
    unverified: int = 0
    answerer: str = "offline"
    model: str | None = None
    prompt_version: str | None = None
    usage: Usage = Usage()


class Turn(BaseModel):
    """One earlier question and its answer, oldest first in a conversation's history."""

    question: str
    answer: ChatAnswer


class ProposalView(BaseModel):
    """A proposal as the chat sees it (review hands these in; the agent never reads review)."""

    id: int | None = None
    code: str
    system: Literal["cm", "pcs"] = "cm"
    title: str
    status: str = "pending"
    final_code: str | None = None
    principal: bool = False
    confidence: float | None = None
    rationale: str = ""
    evidence: list[Span] = []
    citations: list[Citation] = []
    warnings: list[str] = []
    reason: str | None = None  # a coder's reject / modify reason


class DroppedView(BaseModel):
    code: str
    reason: str


FindCodes = Callable[[str], list[Hit]]


@dataclass
class ChatContext:
    """Everything an answer may draw on, for one chart in its fiscal year's code set."""

    chart: Chart
    store: KnowledgeStore
    searcher: HybridSearcher
    find_codes: FindCodes  # a phrase coded the way the agent codes a chart
    proposals: list[ProposalView] = field(default_factory=list)
    dropped: list[DroppedView] = field(default_factory=list)
    # The agent's lexicon: finds the clinical concept a question names ("a DVT") and its
    # code-set wording ("deep vein thrombosis"); without it, the question's words are used.
    lexicon: Lexicon | None = None
