"""Turn a model's JSON answer into RawProposals, trusting nothing in it.

Parsing only shapes the answer: codes pass through as written (validation judges them), and
evidence is kept only where its quote really occurs in the chart text.
"""

from __future__ import annotations

import json
import re
from typing import Any

from agent.models import Citation, RawProposal, Span

FENCE = re.compile(r"```[a-zA-Z]*\s*\n?(.*?)```", re.DOTALL)
THINKING = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
MAX_RATIONALE = 2000
DEFAULT_CONFIDENCE = 0.5


class MalformedAnswer(ValueError):
    """The model's reply is not a JSON object with a `codes` list."""


def _loads(text: str) -> Any:
    """json.loads, then the outermost {...} (models wrap JSON in prose despite being told)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as first:
        start, end = text.find("{"), text.rfind("}")
        if 0 <= start < end:
            try:
                return json.loads(text[start : end + 1])
            except json.JSONDecodeError:
                pass
        raise MalformedAnswer(f"not valid JSON ({first.msg} at char {first.pos})") from first


def parse_answer(text: str) -> list[Any]:
    """The `codes` list of a reply; raises MalformedAnswer when there is none."""
    cleaned = THINKING.sub("", text).strip()
    fenced = FENCE.search(cleaned)
    if fenced:
        cleaned = fenced.group(1).strip()
    if not cleaned:
        raise MalformedAnswer("the reply is empty")
    answer = _loads(cleaned)
    if isinstance(answer, list):  # a bare list of entries is an unambiguous answer too
        return answer
    if not isinstance(answer, dict) or not isinstance(answer.get("codes"), list):
        raise MalformedAnswer('the JSON has no "codes" list')
    return answer["codes"]


def anchor(text: str, quote: str, hint: int | None) -> tuple[int, int] | None:
    """Where `quote` occurs in `text` (the occurrence nearest `hint`), or None.

    Exact matches first; then one that differs only in case or whitespace, because models
    re-flow line breaks. The returned span always points at the chart's own characters."""
    target = hint if hint is not None else 0
    if hint is not None and hint >= 0 and text[hint : hint + len(quote)] == quote:
        return hint, hint + len(quote)
    exact = [m.start() for m in re.finditer(re.escape(quote), text)]
    if exact:
        best = min(exact, key=lambda pos: abs(pos - target))
        return best, best + len(quote)
    words = quote.split()
    if not words:
        return None
    pattern = r"\s+".join(re.escape(word) for word in words)
    loose = list(re.finditer(pattern, text, re.IGNORECASE))
    if not loose:
        return None
    match = min(loose, key=lambda m: abs(m.start() - target))
    return match.start(), match.end()


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _evidence(code: str, items: Any, text: str, offset: int, notes: list[str]) -> list[Span]:
    spans: list[Span] = []
    for item in items if isinstance(items, list) else [items]:
        if isinstance(item, str):
            item = {"quote": item}
        quote = item.get("quote") if isinstance(item, dict) else None
        if not isinstance(quote, str) or not quote.strip():
            continue
        found = anchor(text, quote, _int_or_none(item.get("start")))
        if found is None:
            notes.append(f"{code}: evidence not found in the chart: {quote[:80]!r}")
            continue
        start, end = found
        span = Span(start=start + offset, end=end + offset, quote=text[start:end])
        if span not in spans:
            spans.append(span)
    return spans


def _citations(items: Any) -> list[Citation]:
    found: list[Citation] = []
    for item in items if isinstance(items, list) else [items]:
        source = item.get("source_id") if isinstance(item, dict) else item
        if isinstance(source, str) and source.strip():
            citation = Citation(source_id=source.strip())
            if citation not in found:
                found.append(citation)
    return found


def _confidence(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return DEFAULT_CONFIDENCE
    try:
        number = float(value)
    except ValueError:
        return DEFAULT_CONFIDENCE
    return min(1.0, max(0.0, number)) if number == number else DEFAULT_CONFIDENCE


def to_proposals(
    entries: list[Any], text: str, offset: int = 0
) -> tuple[list[RawProposal], list[str]]:
    """RawProposals from answer entries; `text` is the chart text the model saw, which starts
    at `offset` in the whole chart. Unusable entries are skipped with a note."""
    proposals: list[RawProposal] = []
    notes: list[str] = []
    for number, entry in enumerate(entries):
        code = entry.get("code") if isinstance(entry, dict) else None
        if not isinstance(code, str) or not code.strip():
            notes.append(f"answer entry {number} skipped: it has no code")
            continue
        code = code.strip()
        rationale = entry.get("rationale")
        proposals.append(
            RawProposal(
                code=code,
                evidence=_evidence(code, entry.get("evidence", []), text, offset, notes),
                citations=_citations(entry.get("citations", [])),
                rationale=rationale[:MAX_RATIONALE] if isinstance(rationale, str) else "",
                confidence=_confidence(entry.get("confidence", DEFAULT_CONFIDENCE)),
                principal=entry.get("principal") is True,
            )
        )
    return proposals, notes


def merge(groups: list[list[RawProposal]]) -> list[RawProposal]:
    """One proposal per code across chart chunks: evidence and citations joined, the highest
    confidence kept, principal if any chunk said so."""
    merged: dict[str, RawProposal] = {}
    for proposal in (p for group in groups for p in group):
        seen = merged.get(proposal.code)
        if seen is None:
            merged[proposal.code] = proposal.model_copy(deep=True)
            continue
        seen.evidence += [span for span in proposal.evidence if span not in seen.evidence]
        seen.citations += [c for c in proposal.citations if c not in seen.citations]
        seen.confidence = max(seen.confidence, proposal.confidence)
        seen.principal = seen.principal or proposal.principal
        if proposal.rationale and proposal.rationale not in seen.rationale:
            seen.rationale = f"{seen.rationale} {proposal.rationale}".strip()[:MAX_RATIONALE]
    return list(merged.values())
