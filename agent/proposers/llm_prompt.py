"""Build the proposer's messages: token counting, chart chunking and prompt rendering."""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from agent.models import Candidate, Chart, Mention
from prompts import Prompt

if TYPE_CHECKING:
    from agent.deid import Scrubbed

PER_MENTION = 8
MAX_MENTION_CHARS = 80
# Sentence ends when the chart arrives without sentence boundaries from agent.chart.
SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


@functools.cache
def _encoder() -> Callable[[str], list[int]] | None:
    """tiktoken's encoder, or None when its BPE files are unavailable (it cannot download
    offline; `wiring.adapters.prepare_tiktoken` points it at local copies)."""
    try:
        import tiktoken

        for name in ("o200k_base", "cl100k_base"):
            try:
                encoding = tiktoken.get_encoding(name)
            except Exception:  # tiktoken raises whatever its download attempt raised
                continue
            return functools.partial(encoding.encode, disallowed_special=())
    except ImportError:
        pass
    return None


def count_tokens(text: str) -> int:
    """Tokens of `text` by tiktoken; about four characters a token without it."""
    encode = _encoder()
    return len(encode(text)) if encode else (len(text) + 3) // 4


def tokenizer_available() -> bool:
    return _encoder() is not None


def reset_tokenizer() -> None:
    """Forget the loaded (or missing) encoder, e.g. after tiktoken's cache dir was set."""
    _encoder.cache_clear()


@dataclass(frozen=True, slots=True)
class Chunk:
    """A stretch of the chart coded in one conversation; `start` is its chart offset."""

    start: int
    end: int
    number: int = 1
    total: int = 1


def _boundaries(chart: Chart) -> list[int]:
    """Offsets where a sentence starts, from agent.chart when it ran, else by punctuation."""
    if chart.sentences:
        starts = [sentence.start for sentence in chart.sentences]
    else:
        starts = [match.end() for match in SENTENCE_END.finditer(chart.text)]
    inside = sorted({0, *(s for s in starts if 0 < s < len(chart.text))})
    return [*inside, len(chart.text)]


def _split_long(start: int, end: int, text: str, budget: int) -> list[tuple[int, int]]:
    """A sentence longer than the budget, cut into pieces of about `budget` tokens."""
    tokens = max(1, count_tokens(text[start:end]))
    step = max(1, (end - start) * budget // tokens)
    return [(pos, min(end, pos + step)) for pos in range(start, end, step)]


def chunk_chart(chart: Chart, budget: int) -> list[Chunk]:
    """Consecutive stretches of whole sentences, each within `budget` tokens."""
    edges = _boundaries(chart)
    pieces: list[tuple[int, int]] = []
    for start, end in itertools.pairwise(edges):
        if count_tokens(chart.text[start:end]) > budget:
            pieces += _split_long(start, end, chart.text, budget)
        else:
            pieces.append((start, end))
    ranges: list[tuple[int, int]] = []
    used = 0
    for start, end in pieces:
        size = count_tokens(chart.text[start:end])
        if ranges and used + size <= budget:
            ranges[-1], used = (ranges[-1][0], end), used + size
        else:
            ranges.append((start, end))
            used = size
    ranges = ranges or [(0, len(chart.text))]
    return [Chunk(s, e, n, len(ranges)) for n, (s, e) in enumerate(ranges, start=1)]


def metadata_text(chart: Chart) -> str:
    """Only typed fields: free text here would sit outside the delimited chart block."""
    meta = chart.meta
    rule = (
        "uncertain diagnoses at discharge are coded as established (II.H, III.C)"
        if meta.setting == "inpatient"
        else "uncertain diagnoses are not coded; code signs and symptoms (IV.H)"
    )
    lines = [f"Setting: {meta.setting} ({rule})"]
    if meta.age is not None or meta.sex is not None:
        lines.append(
            f"Patient: age {meta.age if meta.age is not None else 'unknown'}, "
            f"sex {meta.sex or 'unknown'}"
        )
    if meta.encounter_date is not None:
        lines.append(f"Encounter date: {meta.encounter_date.isoformat()}")
    if meta.discharge_date is not None:
        lines.append(f"Discharge date: {meta.discharge_date.isoformat()}")
    if chart.fiscal_year is not None:
        lines.append(
            f"Code set: ICD-10-CM and ICD-10-PCS FY{chart.fiscal_year} (the tools answer for "
            "this year; a code of another year is invalid)"
        )
    return "\n".join(lines)


def _mention_line(mention: Mention) -> str:
    flags = [
        name
        for name, on in (
            ("negated", mention.negated),
            ("uncertain", mention.uncertain),
            ("historical", mention.historical),
            ("family", mention.family),
        )
        if on
    ]
    # json.dumps quotes the chart words so they read as a string value, not as prose.
    quoted = json.dumps(mention.text[:MAX_MENTION_CHARS], ensure_ascii=False)
    context = ", ".join([mention.kind, mention.section, *flags])
    return f"- mention {quoted} ({context})"


def _candidate_line(candidate: Candidate) -> str:
    sources = ", ".join(c.source_id for c in candidate.citations) or "none"
    billable = "" if candidate.billable else " (not billable: a heading)"
    return f"    {candidate.code} [{candidate.system}] {candidate.title}{billable}; {sources}"


def candidates_text(mentions: list[Mention], candidates: list[Candidate]) -> str:
    """Candidates grouped under their mention, best first, at most PER_MENTION each."""
    groups: dict[int, list[Candidate]] = {}
    for candidate in sorted(candidates, key=lambda c: -c.score):
        group = groups.setdefault(candidate.mention_index, [])
        if len(group) < PER_MENTION and all(c.code != candidate.code for c in group):
            group.append(candidate)
    lines: list[str] = []
    for index, group in sorted(groups.items()):
        in_range = 0 <= index < len(mentions)
        lines.append(_mention_line(mentions[index]) if in_range else "- other candidates")
        lines += [_candidate_line(candidate) for candidate in group]
    return "\n".join(lines) or "(none found; use the tools or your knowledge of the code set)"


def in_chunk(chunk: Chunk, mentions: list[Mention], candidates: list[Candidate]) -> list[Candidate]:
    """The candidates whose mention lies in `chunk` (and those tied to no known mention)."""
    if chunk.total == 1:
        return candidates
    keep: list[Candidate] = []
    for candidate in candidates:
        index = candidate.mention_index
        unplaced = not 0 <= index < len(mentions)
        if unplaced or chunk.start <= mentions[index].span.start < chunk.end:
            keep.append(candidate)
    return keep


def part_text(chunk: Chunk) -> str:
    if chunk.total == 1:
        return "The whole chart is below."
    return (
        f"The chart is long and is sent in {chunk.total} parts; this is part {chunk.number}. "
        "Code only what this part documents; offsets are counted from the start of this part."
    )


def marker_for(text: str) -> str:
    """A delimiter id derived from the chunk itself: chart text cannot contain its own hash,
    so it cannot forge the end-of-chart marker."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def without_directed(chart: Chart, start: int, end: int) -> str:
    """The chart's text from `start` to `end` with every directed sentence as spaces."""
    text = chart.text[start:end]
    for span in chart.directed:
        lo, hi = max(span.start, start), min(span.end, end)
        if lo < hi:
            text = text[: lo - start] + " " * (hi - lo) + text[hi - start :]
    return text


def build_messages(
    prompt: Prompt,
    chart: Chart,
    chunk: Chunk,
    candidate_block: str,
    examples: list[str],
    *,
    shown: Shown | None = None,
    metadata: str | None = None,
) -> list[BaseMessage]:
    """The system instructions and the user message holding the data for one chunk.
    Sentences addressed to the software are blanked (same length, so offsets hold): the
    model never reads an instruction planted in the chart. `shown` and `metadata`, from a
    ChartView, replace the chunk's text and the metadata lines (de-identified)."""
    text = shown.text if shown is not None else without_directed(chart, chunk.start, chunk.end)
    values = {
        "metadata": metadata if metadata is not None else metadata_text(chart),
        "part": part_text(chunk),
        "candidates": candidate_block,
        "examples": "\n\n".join(examples) if examples else "(none)",
        "marker": marker_for(text),
        "chart": text,
    }
    return [
        SystemMessage(content=prompt.render("system", {})),
        HumanMessage(content=prompt.render("user", values)),
    ]


@dataclass(frozen=True, slots=True)
class Shown:
    """A chunk as the model is shown it. `text` is sent (directed sentences blanked);
    `anchor` has the same offsets with those sentences kept, and is where the model's quotes
    are looked up; `to_chart` maps an anchor span to the chart's own offsets."""

    text: str
    anchor: str
    to_chart: Callable[[int, int], tuple[int, int]]


class ChartView:
    """What the model is shown of a chart: the chart as it is, or, with a de-identifier, with
    identifiers replaced in every piece of it that goes into a prompt (chart text, metadata,
    mention quotes, few-shot lines). The whole chart is scrubbed once, so a name that one
    sentence gives away is replaced in every chunk."""

    def __init__(self, chart: Chart, deidentifier: Callable[[str], Scrubbed] | None = None) -> None:
        self.chart = chart
        self._deidentify = deidentifier
        self._scrubbed = deidentifier(chart.text) if deidentifier is not None else None

    def metadata(self) -> str:
        """The metadata lines; an age over 89 and the dates are identifiers too."""
        return self.free_text(metadata_text(self.chart))

    def free_text(self, text: str) -> str:
        return self._deidentify(text).text if self._deidentify is not None else text

    def mention(self, mention: Mention) -> Mention:
        """The mention with its quote as the model may read it."""
        if self._scrubbed is None:
            return mention
        span = mention.span
        if self.chart.text[span.start : span.end] == mention.text:
            start, end = self._scrubbed.to_scrubbed(span.start, span.end)
            text = self._scrubbed.text[start:end]
        else:
            text = self.free_text(mention.text)
        return mention.model_copy(update={"text": text})

    def chunk(self, chunk: Chunk) -> Shown:
        scrubbed = self._scrubbed
        if scrubbed is None:
            start = chunk.start
            return Shown(
                without_directed(self.chart, chunk.start, chunk.end),
                self.chart.text[chunk.start : chunk.end],
                lambda s, e: (s + start, e + start),
            )
        # A chunk edge inside an identifier takes its whole placeholder on both sides.
        low, high = scrubbed.to_scrubbed(chunk.start, chunk.end)
        anchor = scrubbed.text[low:high]
        text = anchor
        for span in self.chart.directed:
            start, end = scrubbed.to_scrubbed(span.start, span.end)
            start, end = max(start, low), min(end, high)
            if start < end:
                text = text[: start - low] + " " * (end - start) + text[end - low :]
        return Shown(text, anchor, lambda s, e: scrubbed.to_original(s + low, e + low))
