"""The chat model's tools: the same lookups the offline answerer makes (agent.chat.tools),
offered as LangChain tools over one chat context. Read-only, bounded, and every failure is
answered as text the model can read, never raised."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from langchain_core.messages import ToolMessage
from langchain_core.tools import StructuredTool
from pydantic import BaseModel, Field, ValidationError

from agent.chat import tools
from agent.chat.model import ChatContext, ProposalView
from agent.models import Span
from retrieval.errors import KnowledgeBaseError

SEARCH_K = 8
MAX_NOTES = 40
MAX_LISTED = 60
MAX_RESULT_CHARS = 6000
MAX_CALLS_PER_ROUND = 8


class SubjectArgs(BaseModel):
    subject: str = Field(description="What to look for in the chart, e.g. 'sepsis', 'kidney'.")


class CodeArgs(BaseModel):
    code: str = Field(description="An ICD-10-CM or ICD-10-PCS code, e.g. E11.22 or 0DTJ4ZZ.")


class NoArgs(BaseModel):
    pass


class QueryArgs(BaseModel):
    query: str = Field(description="Clinical words to search for, e.g. 'diabetic nephropathy'.")
    system: Literal["cm", "pcs"] | None = Field(
        default=None, description="cm for diagnoses, pcs for procedures; omit for both."
    )


class TopicArgs(BaseModel):
    topic: str = Field(description="What the guideline is about, e.g. 'uncertain diagnosis'.")


def dump(value: Any) -> str:
    """JSON for the model, cut so one result cannot crowd the chart out of the prompt."""
    text = json.dumps(value, ensure_ascii=False)
    if len(text) > MAX_RESULT_CHARS:
        return text[:MAX_RESULT_CHARS] + " ...[truncated]"
    return text


def _error(message: str) -> str:
    return dump({"error": message})


def _in_directed(context: ChatContext, start: int, end: int) -> bool:
    return any(span.start < end and start < span.end for span in context.chart.directed)


class ChatTools:
    """The seven chat tools over one context, as LangChain tools and as a dispatcher."""

    def __init__(self, context: ChatContext) -> None:
        self.context = context
        self.tools = [
            self._tool(
                self.search_chart,
                SubjectArgs,
                "Passages of the chart that mention a subject (or another name for it), with "
                "exact offsets and flags (negated, uncertain, historical, family).",
            ),
            self._tool(
                self.read_proposal,
                CodeArgs,
                "One proposal of this chart: status, rationale, warnings, evidence passages "
                "with offsets, cited source ids; or why the code was dropped.",
            ),
            self._tool(
                self.list_proposals,
                NoArgs,
                "Every proposal of this chart (code, title, status) and the dropped codes.",
            ),
            self._tool(
                self.search_kb,
                QueryArgs,
                "Search ICD-10 codes and guidelines of the chart's code set by meaning.",
            ),
            self._tool(
                self.lookup_code,
                CodeArgs,
                "A code's title, billable flag, source id and instructional notes (inherited "
                "ones say where they are defined).",
            ),
            self._tool(
                self.read_index,
                CodeArgs,
                "The Alphabetic Index paths that lead to a code, with their source ids.",
            ),
            self._tool(
                self.read_guideline,
                TopicArgs,
                "Official Guidelines sections on a topic: CM sections as the rules apply them "
                "(cite as kind rule) and guideline records of the knowledge base (kind kb).",
            ),
        ]
        self._by_name = {tool.name: tool for tool in self.tools}

    @staticmethod
    def _tool(func: Callable[..., str], schema: type[BaseModel], about: str) -> StructuredTool:
        return StructuredTool.from_function(
            func=func, name=func.__name__, description=about, args_schema=schema
        )

    def search_chart(self, subject: str) -> str:
        quotes = tools.search_chart(self.context, subject)
        if not quotes:
            searched = ", ".join(tools.expand_terms(subject))
            return dump({"found": [], "searched_for": searched})
        return dump({"found": [q.model_dump(exclude={"kind"}) for q in quotes]})

    def _evidence(self, spans: list[Span]) -> list[dict[str, Any]]:
        # The rules drop evidence inside a sentence addressed to the software; this is the
        # same line held again, so no such sentence reaches the model through a proposal.
        return [
            {"quote": s.quote, "start": s.start, "end": s.end}
            for s in spans
            if not _in_directed(self.context, s.start, s.end)
        ]

    def read_proposal(self, code: str) -> str:
        proposal = tools.find_proposal(self.context, code)
        if proposal is None:
            dropped = tools.find_dropped(self.context, code)
            if dropped is not None:
                return dump({"code": dropped.code, "dropped": True, "reason": dropped.reason})
            return _error(f"{code} is not among this chart's proposals or dropped codes")
        view = proposal.model_dump(exclude={"evidence", "citations", "id"})
        view["evidence"] = self._evidence(proposal.evidence)
        view["citations"] = [c.source_id for c in proposal.citations]
        return dump(view)

    def list_proposals(self) -> str:
        return dump(
            {
                "proposals": [_summary(p) for p in self.context.proposals[:MAX_LISTED]],
                "dropped": [d.model_dump() for d in self.context.dropped[:MAX_LISTED]],
            }
        )

    def search_kb(self, query: str, system: str | None = None) -> str:
        hits = self.context.searcher.search(
            query, k=SEARCH_K, system=system, include_guidelines=True
        )
        # Named source_id as everywhere else the model sees an id it may cite.
        return dump(
            [
                {("source_id" if key == "source" else key): value for key, value in hit.items()}
                for hit in (h.as_dict() for h in hits)
            ]
        )

    def lookup_code(self, code: str) -> str:
        record = tools.code_record(self.context, code)
        if record is None:
            year = self.context.chart.fiscal_year
            where = f" (FY{year})" if year else ""
            return _error(f"{code} is not a code of this chart's code set{where}")
        notes = tools.notes_of(self.context, record.code)[:MAX_NOTES]
        return dump(
            {
                "code": record.code,
                "system": record.system,
                "title": record.title,
                "billable": record.billable,
                "source_id": record.source_id,
                "notes": [
                    {"kind": n.kind, "text": n.text, "defined_at": n.defined_at} for n in notes
                ],
            }
        )

    def read_index(self, code: str) -> str:
        paths = tools.index_paths(self.context, code)
        if not paths:
            return _error(f"no Alphabetic Index entry leads to {code}")
        return dump([{"path": path, "source_id": source} for path, source in paths])

    def read_guideline(self, topic: str) -> str:
        rules = [
            {"kind": "rule", "section_id": section, "says": summary}
            for section, summary in tools.rule_sections(topic)
        ]
        records = [
            {
                "kind": "kb",
                "section_id": g.section_id,
                "title": g.title,
                "text": g.text,
                "source_id": g.source_id,
            }
            for g in tools.guideline_sections(self.context, topic)
        ]
        if not rules and not records:
            return _error(f"no guideline section on {topic!r}")
        return dump(rules + records)

    def run(self, call: Mapping[str, Any]) -> str:
        """Run one tool call; every failure becomes a message the model can read."""
        tool = self._by_name.get(call.get("name") or "")
        if tool is None:
            known = ", ".join(self._by_name)
            return _error(f"unknown tool {call.get('name')!r}; the tools are: {known}")
        try:
            return str(tool.invoke(dict(call.get("args") or {})))
        except (ValidationError, KnowledgeBaseError, ValueError, TypeError) as exc:
            return _error(f"bad arguments for {tool.name}: {type(exc).__name__}: {exc}")

    def answer(
        self, calls: Sequence[Mapping[str, Any]], invalid: Sequence[Mapping[str, Any]]
    ) -> list[ToolMessage]:
        """One ToolMessage per call id: the API rejects a history with an unanswered call."""
        messages: list[ToolMessage] = []
        for number, call in enumerate(calls):
            if number < MAX_CALLS_PER_ROUND:
                content = self.run(call)
            else:
                content = _error(f"skipped: at most {MAX_CALLS_PER_ROUND} calls a round")
            messages.append(ToolMessage(content=content, tool_call_id=call.get("id") or ""))
        for call in invalid:
            name = call.get("name") or "?"
            content = _error(
                f"the arguments of your {name} call are not a JSON object ({call.get('error')}); "
                "call it again with valid JSON arguments"
            )
            messages.append(ToolMessage(content=content, tool_call_id=call.get("id") or ""))
        return messages


def _summary(proposal: ProposalView) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "code": proposal.code,
        "system": proposal.system,
        "title": proposal.title,
        "status": proposal.status,
    }
    if proposal.final_code:
        summary["final_code"] = proposal.final_code
    if proposal.principal:
        summary["principal"] = True
    return summary
