"""Parsers for the ICD-10-CM Alphabetic Index: the official CMS XML and the flattened CSV.

The XML reader here (`IndexXmlReader`) also serves the Table of Neoplasms and the Table of
Drugs and Chemicals (`retrieval.sources.tables`), which share the index schema.

Choices worth knowing:

* ``<seecat>`` / ``<subcat>`` ("see category T71", "see subcategory T75.0") become the
  entry's `see` text ("category T71", "subcategory T75.0"), not its `code`: they name a
  category that still needs more characters, and the flattened CSV of the main index writes
  such references the same way, so both sources read alike.
* ``<manif>`` (a manifestation code printed in brackets) has no field in `IndexEntry`
  and is dropped; the CMS index files of FY2025 we know carry none outside the tables.
* Addenda files (``<diff>``, ``<new>``, ``<old>``) are refused rather than half-read.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from xml.parsers import expat

from retrieval.errors import SourceError
from retrieval.records import IndexEntry

ROOT_TAG = "ICD10CM.index"
TERM_TAGS = frozenset({"mainTerm", "term"})
# Elements whose text we keep; character data anywhere else is layout whitespace.
_TEXT_TAGS = frozenset(
    {"title", "nemod", "see", "seeAlso", "code", "seecat", "subcat", "manif", "cell", "head"}
)
_FIELD_TAGS = frozenset({"see", "seeAlso", "code", "seecat", "subcat", "manif"})
_ADDENDA_TAGS = frozenset({"diff", "new", "old", "unc"})
_CHUNK_BYTES = 1 << 16

NOTE_PREFIX = "Note:"
CSV_HEADER = ("RowID", "Letter", "Level", "Term", "See", "SeeAlso", "NonEssModif", "Code")

# A full or incomplete ICD-10-CM code as the index prints it ("Q28.1", "C79.8-", "D05.-").
CODE_PATTERN = re.compile(r"[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{0,4})?-?")


def clean(text: str) -> str:
    """Collapse runs of whitespace (the sources contain stray double spaces) and strip."""
    return " ".join(text.split())


# --------------------------------------------------------------------------- XML events


@dataclass(frozen=True, slots=True)
class _XmlEvent:
    """One start or end tag, with the line it is on; `text` is the element's own text."""

    kind: Literal["start", "end"]
    tag: str
    line: int
    parent: str
    attrs: dict[str, str]
    text: str = ""


class _EventCollector:
    """Turns expat callbacks into `_XmlEvent`s; expat, unlike ElementTree, reports lines."""

    def __init__(self) -> None:
        self.parser = expat.ParserCreate()
        self.parser.buffer_text = True
        self.parser.StartElementHandler = self._start
        self.parser.EndElementHandler = self._end
        self.parser.CharacterDataHandler = self._chars
        self.events: list[_XmlEvent] = []
        # Open elements: tag, attributes (repeated on the end event), text parts if kept.
        self._open: list[tuple[str, dict[str, str], list[str] | None]] = []

    def _start(self, tag: str, attrs: dict[str, str]) -> None:
        parent = self._open[-1][0] if self._open else ""
        self._open.append((tag, attrs, [] if tag in _TEXT_TAGS else None))
        line = self.parser.CurrentLineNumber
        self.events.append(_XmlEvent("start", tag, line, parent, attrs))

    def _end(self, tag: str) -> None:
        _, attrs, parts = self._open.pop()
        parent = self._open[-1][0] if self._open else ""
        text = "".join(parts) if parts else ""
        line = self.parser.CurrentLineNumber
        self.events.append(_XmlEvent("end", tag, line, parent, attrs, text))

    def _chars(self, data: str) -> None:
        if self._open and (parts := self._open[-1][2]) is not None:
            parts.append(data)


def _iter_xml_events(path: Path) -> Iterator[_XmlEvent]:
    """Stream the events of an XML file chunk by chunk; bad XML -> SourceError with line."""
    collector = _EventCollector()
    try:
        with path.open("rb") as handle:
            while True:
                chunk = handle.read(_CHUNK_BYTES)
                collector.parser.Parse(chunk, not chunk)
                yield from collector.events
                collector.events.clear()
                if not chunk:
                    return
    except expat.ExpatError as exc:
        reason = expat.ErrorString(exc.code)
        raise SourceError(
            path,
            f"not well-formed XML ({reason}, column {exc.offset}); truncated or corrupt?",
            line=exc.lineno,
        ) from exc
    except OSError as exc:
        raise SourceError(path, f"cannot read the file: {exc.strerror or exc}") from exc


# --------------------------------------------------------------------------- XML terms


@dataclass(slots=True)
class XmlTerm:
    """One ``mainTerm`` or ``term`` of an index-schema XML file, with its full path."""

    ordinal: int
    line: int
    path: tuple[str, ...]
    modifiers: tuple[str, ...]
    fields: dict[str, str] = field(default_factory=dict)
    cells: dict[int, str] = field(default_factory=dict)


@dataclass(slots=True)
class _Frame:
    """A term being read: its fields fill in until its first subterm or its end tag."""

    line: int
    title: str | None = None
    nemods: list[str] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)
    cells: dict[int, str] = field(default_factory=dict)
    term: XmlTerm | None = None  # set once emitted


class IndexXmlReader:
    """Streams the terms of a file in the CMS index schema (index, eindex, both tables).

    `headings` (column -> heading text of ``<indexHeading>``) is filled while reading; it is
    complete by the time the first term is yielded because the schema puts it first.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.headings: dict[int, str] = {}
        self._stack: list[_Frame] = []
        self._count = 0

    def terms(self) -> Iterator[XmlTerm]:
        """Yield every term in document order, a parent before its subterms."""
        events = _iter_xml_events(self.path)
        first = next(events, None)
        if first is None or first.tag != ROOT_TAG:
            found = f"<{first.tag}>" if first else "nothing"
            raise SourceError(
                self.path,
                f"root element is {found}, expected <{ROOT_TAG}> (a CMS index or table file)",
                line=first.line if first else None,
            )
        self._check_root(first)
        for event in events:
            if event.kind == "start":
                yield from self._on_start(event)
            else:
                yield from self._on_end(event)

    def _check_root(self, root: _XmlEvent) -> None:
        if root.attrs.get("isAddenda") == "true":
            raise self._fail("this is an addenda file; give the full index file", root.line)

    def _fail(self, message: str, line: int) -> SourceError:
        return SourceError(self.path, message, line=line)

    def _on_start(self, event: _XmlEvent) -> Iterator[XmlTerm]:
        if event.tag in _ADDENDA_TAGS:
            raise self._fail(f"addenda markup <{event.tag}> is not supported", event.line)
        if event.tag not in TERM_TAGS:
            return
        self._check_nesting(event)
        if self._stack and self._stack[-1].term is None:
            # Subterms follow all of a term's own children, so the parent is complete now.
            yield self._emit(self._stack[-1], self._stack[-2] if len(self._stack) > 1 else None)
        self._stack.append(_Frame(line=event.line))

    def _check_nesting(self, event: _XmlEvent) -> None:
        depth = len(self._stack)
        if event.tag == "mainTerm":
            if depth or event.parent != "letter":
                raise self._fail("<mainTerm> outside a <letter>", event.line)
            return
        if not depth:
            raise self._fail("<term> outside a <mainTerm>", event.line)
        level = event.attrs.get("level", "")
        if level != str(depth):
            raise self._fail(
                f'<term level="{level}"> nested at level {depth} (level attribute disagrees '
                "with the nesting)",
                event.line,
            )

    def _on_end(self, event: _XmlEvent) -> Iterator[XmlTerm]:
        if event.tag in TERM_TAGS:
            frame = self._stack.pop()
            if frame.term is None:
                yield self._emit(frame, self._stack[-1] if self._stack else None)
        elif event.tag == "head" and event.parent == "indexHeading":
            self._add_heading(event)
        elif self._stack and event.parent in TERM_TAGS | {"title"}:
            self._add_to_frame(self._stack[-1], event)

    def _add_heading(self, event: _XmlEvent) -> None:
        col = self._column(event)
        if col in self.headings:
            raise self._fail(f"column {col} has two headings", event.line)
        self.headings[col] = clean(event.text)

    def _column(self, event: _XmlEvent) -> int:
        raw = event.attrs.get("col", "")
        if not raw.isdigit() or int(raw) < 1:
            raise self._fail(
                f'<{event.tag} col="{raw}">: col must be a positive number', event.line
            )
        return int(raw)

    def _add_to_frame(self, frame: _Frame, event: _XmlEvent) -> None:
        tag = event.tag
        if tag == "nemod":
            frame.nemods.append(clean(event.text))
            return
        if frame.term is not None and (tag in _FIELD_TAGS or tag in {"title", "cell"}):
            raise self._fail(f"<{tag}> after the subterms of its term", event.line)
        if tag == "title":
            frame.title = clean(event.text)
        elif tag == "cell":
            col = self._column(event)
            if col in frame.cells:
                raise self._fail(f"two cells for column {col} in one row", event.line)
            frame.cells[col] = clean(event.text)
        elif tag in _FIELD_TAGS:
            if tag in frame.fields:
                raise self._fail(f"more than one <{tag}> in one term", event.line)
            frame.fields[tag] = clean(event.text)

    def _emit(self, frame: _Frame, parent: _Frame | None) -> XmlTerm:
        if frame.title is None:
            raise self._fail("term without a <title>", frame.line)
        above = parent.term if parent else None  # always emitted: parents precede subterms
        self._count += 1
        frame.term = XmlTerm(
            ordinal=self._count,
            line=frame.line,
            path=(above.path if above else ()) + (frame.title,),
            modifiers=(above.modifiers if above else ()) + (" ".join(frame.nemods),),
            fields=frame.fields,
            cells=frame.cells,
        )
        return frame.term


# --------------------------------------------------------------------------- index XML


def parse_index_xml(path: Path, index: str = "cm") -> Iterator[IndexEntry]:
    """Yield one `IndexEntry` per main term and subterm of a CMS index XML file.

    `entry_id` is the entry's 1-based ordinal in the file. Table files (column headings,
    ``<cell>`` children) are refused with a `SourceError`.
    """
    reader = IndexXmlReader(path)
    count = 0
    for term in reader.terms():
        if reader.headings or term.cells:
            raise SourceError(
                path,
                "this looks like a table file (Table of Neoplasms or of Drugs: it has column "
                "headings and <cell> values), not an alphabetic index; use parse_table_xml",
                line=term.line,
            )
        count += 1
        yield _index_entry(path, term, index)
    if not count:
        raise SourceError(path, "no index entries (<mainTerm>) found")


def _index_entry(path: Path, term: XmlTerm, index: str) -> IndexEntry:
    code = term.fields.get("code") or None
    if code is not None and not CODE_PATTERN.fullmatch(code):
        raise SourceError(path, f"<code> {code!r} is not an ICD-10-CM code", line=term.line)
    return IndexEntry(
        index=index,
        entry_id=str(term.ordinal),
        path=term.path,
        modifiers=term.modifiers,
        code=code,
        see=_see_text(term.fields),
        see_also=term.fields.get("seeAlso") or None,
    )


def _see_text(fields: dict[str, str]) -> str | None:
    """The "see" reference, including "see category ..." written as <seecat>/<subcat>."""
    parts = [fields.get("see", "")]
    if fields.get("seecat"):
        parts.append(f"category {fields['seecat']}")
    if fields.get("subcat"):
        parts.append(f"subcategory {fields['subcat']}")
    return "; ".join(p for p in parts if p) or None


# --------------------------------------------------------------------------- index CSV


def parse_index_csv(path: Path, index: str = "cm") -> Iterator[IndexEntry]:
    """Yield one `IndexEntry` per row of the flattened index CSV, rebuilding the nesting.

    Columns: RowID, Letter, Level (0 = main term), Term, See, SeeAlso, NonEssModif, Code;
    `entry_id` is the RowID. A wrong header, a bad Level or a malformed row raises a
    `SourceError` carrying the 1-based line number.
    """
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle, strict=True)
            try:
                _check_csv_header(path, next(reader, None))
                numbered = ((reader.line_num, row) for row in reader)
                yield from _csv_entries(path, numbered, index)
            except csv.Error as exc:
                raise SourceError(path, f"malformed CSV: {exc}", line=reader.line_num) from exc
            except UnicodeDecodeError as exc:
                line = _first_undecodable_line(path)
                raise SourceError(path, "not UTF-8 text", line=line) from exc
    except OSError as exc:
        raise SourceError(path, f"cannot read the file: {exc.strerror or exc}") from exc


def _check_csv_header(path: Path, header: list[str] | None) -> None:
    if header is None:
        raise SourceError(path, "empty file; expected the flattened index CSV", line=1)
    if tuple(header) != CSV_HEADER:
        raise SourceError(
            path,
            f"unexpected header {','.join(header)!r}; expected {','.join(CSV_HEADER)!r} "
            "(the flattened ICD-10-CM Alphabetic Index)",
            line=1,
        )


def _csv_entries(
    path: Path, rows: Iterator[tuple[int, list[str]]], index: str
) -> Iterator[IndexEntry]:
    """Entries from (line number, fields) pairs; a row's ancestors are the open levels."""
    ancestors: list[tuple[str, str]] = []  # (term, modifier) of each open level
    last_id = 0
    for line, row in rows:
        if len(row) != len(CSV_HEADER):
            raise SourceError(
                path,
                f"expected {len(CSV_HEADER)} fields, found {len(row)} (truncated or malformed row)",
                line=line,
            )
        row_id, _letter, raw_level, term, see, see_also, modifier, code = (clean(v) for v in row)
        last_id = _check_row_id(path, row_id, last_id, line)
        level = _check_level(path, raw_level, len(ancestors), line)
        if not term and not modifier:
            raise SourceError(path, f"row {row_id} has neither a Term nor a NonEssModif", line)
        if code and not CODE_PATTERN.fullmatch(code):
            raise SourceError(path, f"Code {code!r} is not an ICD-10-CM code", line=line)
        if term.startswith(NOTE_PREFIX):
            # A note ("Note: heart failure stages A, B, C, and D are ...") is kept as an
            # entry but opens no level: the file puts it one level too high, and the rows
            # after it (Failure > heart > stage A .. systolic) belong to the term before it.
            opened = [*ancestors[:level], (term, modifier)]
        else:
            del ancestors[level:]
            ancestors.append((term, modifier))
            opened = ancestors
        yield IndexEntry(
            index=index,
            entry_id=row_id,
            path=tuple(t for t, _ in opened),
            modifiers=tuple(m for _, m in opened),
            code=code or None,
            see=see or None,
            see_also=see_also or None,
        )
    if not last_id:
        raise SourceError(path, "the CSV has a header but no index rows")


def _first_undecodable_line(path: Path) -> int | None:
    # The text layer decodes ahead in blocks, so the csv line count cannot place the error.
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return None


def _check_row_id(path: Path, row_id: str, last_id: int, line: int) -> int:
    # RowIDs become citation ids, so they must be unique; increasing order proves it cheaply.
    if not row_id.isdigit() or int(row_id) <= last_id:
        raise SourceError(
            path, f"RowID {row_id!r} is not a number greater than the previous ({last_id})", line
        )
    return int(row_id)


def _check_level(path: Path, raw: str, depth: int, line: int) -> int:
    """The row's level; at most one deeper than the row before (`depth` levels are open)."""
    try:
        level = int(raw)
    except ValueError:
        raise SourceError(path, f"Level {raw!r} is not a whole number", line=line) from None
    if level < 0 or level > depth:
        limit = "0" if depth == 0 else f"0..{depth}"
        raise SourceError(
            path,
            f"Level {level} does not fit here (expected {limit}: a row can be at most one level "
            "deeper than the row before it)",
            line=line,
        )
    return level
