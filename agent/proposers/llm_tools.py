"""Knowledge-base tools the LLM may call: read-only, bounded, and answering errors as text."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from langchain_core.messages import ToolMessage
from langchain_core.tools import StructuredTool
from pydantic import BaseModel, Field, ValidationError

from retrieval.errors import KnowledgeBaseError, UnknownCodeError
from retrieval.search import HybridSearcher

SEARCH_K = 8
MAX_NOTES = 40
MAX_RESULT_CHARS = 6000
MAX_CALLS_PER_ROUND = 8


class SearchKbArgs(BaseModel):
    query: str = Field(description="Clinical words to search for, e.g. 'diabetic nephropathy'.")
    system: Literal["cm", "pcs"] | None = Field(
        default=None, description="cm for diagnoses, pcs for procedures; omit for both."
    )


class LookupCodeArgs(BaseModel):
    code: str = Field(description="An ICD-10-CM or ICD-10-PCS code, e.g. E11.22 or 0DTJ4ZZ.")


class ReadIndexArgs(BaseModel):
    path: list[str] = Field(
        description="Main term then subterms, e.g. ['Infarction', 'myocardium'].", min_length=1
    )
    index: Literal["cm", "eindex", "pcs"] = Field(
        default="cm", description="cm (diseases), eindex (external causes) or pcs."
    )


class ReadGuidelineArgs(BaseModel):
    section_id: str = Field(description="Official section id, e.g. I.C.4.a or II.H or B3.1a.")
    system: Literal["cm", "pcs"] | None = Field(
        default=None, description="cm or pcs guidelines; omit to look in both."
    )


def _dump(value: Any) -> str:
    """JSON for the model, cut to a size that cannot crowd the chart out of the context."""
    text = json.dumps(value, ensure_ascii=False)
    if len(text) > MAX_RESULT_CHARS:
        return text[:MAX_RESULT_CHARS] + " ...[truncated]"
    return text


def _renamed(hit: dict[str, object]) -> dict[str, object]:
    return {("source_id" if key == "source" else key): value for key, value in hit.items()}


class KbTools:
    """The four tools over one searcher, as LangChain tools and as a dispatcher."""

    def __init__(self, searcher: HybridSearcher) -> None:
        self._searcher = searcher
        self.tools = [
            self._tool(self.search_kb, SearchKbArgs, "Search ICD-10 codes by meaning."),
            self._tool(
                self.lookup_code, LookupCodeArgs, "A code's title, billable flag and notes."
            ),
            self._tool(self.read_index, ReadIndexArgs, "Read the Alphabetic Index at a path."),
            self._tool(
                self.read_guideline, ReadGuidelineArgs, "Read an Official Guidelines section."
            ),
        ]
        self._by_name = {tool.name: tool for tool in self.tools}

    @staticmethod
    def _tool(func: Callable[..., str], schema: type[BaseModel], about: str) -> StructuredTool:
        return StructuredTool.from_function(
            func=func, name=func.__name__, description=about, args_schema=schema
        )

    def search_kb(self, query: str, system: str | None = None) -> str:
        hits = self._searcher.search(query, k=SEARCH_K, system=system, include_guidelines=True)
        # Named source_id as everywhere else the model sees a citable id.
        return _dump([_renamed(hit.as_dict()) for hit in hits])

    def lookup_code(self, code: str) -> str:
        try:
            record = self._searcher.lookup(code)
        except UnknownCodeError as exc:
            return _dump({"error": str(exc), "nearest": exc.nearest})
        notes = self._searcher.store.notes_with_inherited(record.code)[:MAX_NOTES]
        return _dump(
            {
                "code": record.code,
                "system": record.system,
                "title": record.title,
                "billable": record.billable,
                "source_id": record.source_id,
                "notes": [
                    {"kind": note.kind, "text": note.text, "defined_at": note.defined_at}
                    for note in notes
                ],
            }
        )

    def read_index(self, path: list[str], index: str = "cm") -> str:
        entries = self._searcher.store.index_lookup(path, index)
        if not entries:
            return _dump({"error": f"no index entry at {' > '.join(path)} in the {index} index"})
        return _dump(
            [
                {
                    "path": list(entry.path),
                    "code": entry.code,
                    "see": entry.see,
                    "see_also": entry.see_also,
                    "use": entry.use,
                    "source_id": entry.source_id,
                }
                for entry in entries
            ]
        )

    def read_guideline(self, section_id: str, system: str | None = None) -> str:
        store = self._searcher.store
        systems = [system] if system else ["cm", "pcs"]
        found = next(
            (g for s in systems if (g := store.guideline(section_id.strip(), s)) is not None), None
        )
        if found is None:
            return _dump({"error": f"no guideline section {section_id!r} in {'/'.join(systems)}"})
        return _dump(
            {
                "section_id": found.section_id,
                "title": found.title,
                "text": found.text,
                "source_id": found.source_id,
            }
        )

    def run(self, call: Mapping[str, Any]) -> str:
        """Run one tool call; every failure becomes a message the model can read."""
        tool = self._by_name.get(call.get("name") or "")
        if tool is None:
            return _dump({"error": f"unknown tool {call.get('name')!r}"})
        try:
            return str(tool.invoke(call.get("args") or {}))
        except (ValidationError, KnowledgeBaseError, ValueError) as exc:
            return _dump({"error": f"{type(exc).__name__}: {exc}"})

    def answer(
        self, calls: Sequence[Mapping[str, Any]], invalid: Sequence[Mapping[str, Any]]
    ) -> list[ToolMessage]:
        """One ToolMessage per call id (the API rejects a history with unanswered calls)."""
        messages: list[ToolMessage] = []
        for number, call in enumerate(calls):
            if number < MAX_CALLS_PER_ROUND:
                content = self.run(call)
            else:
                content = _dump({"error": f"skipped: at most {MAX_CALLS_PER_ROUND} calls a round"})
            messages.append(ToolMessage(content=content, tool_call_id=call.get("id") or ""))
        for call in invalid:
            error = _dump({"error": f"could not parse the arguments: {call.get('error')}"})
            messages.append(ToolMessage(content=error, tool_call_id=call.get("id") or ""))
        return messages
