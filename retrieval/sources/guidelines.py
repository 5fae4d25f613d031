"""Parser for the ICD-10-CM Official Guidelines for Coding and Reporting (PDF or plain text).

The document is a numbered outline; each heading becomes one Guideline keyed by its official
section id, built from the labels of the headings above it:

    Section I.  ->  I            (Section II., III., IV. likewise)
    C.          ->  I.C
    4.          ->  I.C.4        (the chapter headings under I.C)
    a.          ->  I.C.4.a
    2)          ->  I.C.4.a.2
    (b)         ->  I.C.4.a.2.b
    (ii)        ->  I.C.4.a.2.b.ii

A line is taken as a heading only when its label continues the outline: the next label at an
open level (one missing heading is tolerated), or the first label of a deeper level. This
keeps numbered lists and wrapped lines inside the body text from being read as headings.
Appendix I (Present on Admission reporting) becomes a single section, "Appendix I".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from retrieval.errors import SourceError
from retrieval.records import Guideline

# Page furniture the PDF repeats on every page, wherever the extractor places it in a line.
_PAGE_MARK = re.compile(
    r"(?:ICD-10-CM Official Guidelines for Coding and Reporting\s*)?(?:FY\s*\d{4}\s*)?"
    r"Page\s+\d+\s+of\s+\d+",
    re.IGNORECASE,
)
_RUNNING_HEADER = re.compile(
    r"(?:ICD-10-CM Official Guidelines for Coding and Reporting)?\s*(?:FY\s*\d{4})?"
    r"|\(?October 1, \d{4}\s*[-\u2013\u2014]\s*September 30, \d{4}\)?",
    re.IGNORECASE,
)
# Table-of-contents entries end in a dot leader and a page number.
# The page number may be missing when the extractor moves it onto a line of its own.
_DOT_LEADER = re.compile(r"(?:(?:\.\s?){4,}|\u2026{2,})\s*\d*\s*$")
_TOC_GAP = 6  # lines without a leader tolerated inside the contents (wrapped entries)
_TOC_MIN_ENTRIES = 3
_LABEL_GAP = 2  # a label may skip one missing heading: 1, 3 is accepted after 1
_TITLE_WRAPS = 2  # continuation lines a heading title may take

_SECTION = re.compile(r"Section\s+(IV|III|II|I)\.\s+(?![A-Z]\.)(\S.*)", re.IGNORECASE)
_APPENDIX = re.compile(r"Appendix\s+I(?:\s*[:.\-\u2013]\s*(\S.*))?", re.IGNORECASE)
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6, "vii": 7, "viii": 8, "ix": 9}
_ROMAN.update({"x": 10, "xi": 11, "xii": 12, "xiii": 13, "xiv": 14, "xv": 15})

# (level, pattern) for the outline levels below Section; the label is group 1.
_LEVELS: tuple[tuple[int, re.Pattern[str]], ...] = (
    (1, re.compile(r"([A-Z])\.(?:\s+(\S.*))?")),
    (2, re.compile(r"(\d{1,2})\.(?:\s+(\S.*))?")),
    (3, re.compile(r"([a-z])\.(?:\s+(\S.*))?")),
    (4, re.compile(r"(\d{1,2})\)(?:\s+(\S.*))?")),
    (5, re.compile(r"\(([a-z])\)(?:\s+(\S.*))?")),
    (6, re.compile(r"\(([ivx]{1,4})\)(?:\s+(\S.*))?")),
)


@dataclass(slots=True)
class _Heading:
    level: int
    label: str
    ordinal: int
    title: str


@dataclass(slots=True)
class _Section:
    section_id: str
    heading: _Heading
    body: list[str] = field(default_factory=list)

    def guideline(self) -> Guideline:
        text = "\n".join(self.body).strip()
        return Guideline(
            system="cm", section_id=self.section_id, title=self.heading.title, text=text
        )


def parse_cm_guidelines(path: Path) -> Iterator[Guideline]:
    """Yield one Guideline per heading of a PDF or plain-text copy of the CM guidelines.

    Page headers and footers and the table of contents are dropped; `text` is the body from
    the heading to the next heading, line breaks kept.
    """
    lines = _strip_table_of_contents(_strip_page_furniture(_document_lines(path)))
    sections = _outline(lines)
    if not sections:
        raise SourceError(
            path,
            "no guideline sections found (expected headings such as "
            "'Section I. Conventions, ...' followed by 'A.', '1.', 'a.', '1)')",
        )
    for section in sections:
        yield section.guideline()


# ---------------------------------------------------------------------------------------------
# Reading and cleaning lines
# ---------------------------------------------------------------------------------------------


def _document_lines(path: Path) -> list[str]:
    """The document's text lines, from a PDF (by its magic bytes) or a text file."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SourceError(path, "file not found") from None
    except OSError as exc:
        raise SourceError(path, f"cannot read file: {exc.strerror or exc}") from exc
    text = _pdf_text(path) if data.lstrip()[:5] == b"%PDF-" else _decode(data)
    return [_clean(line) for line in text.splitlines()]


def _pdf_text(path: Path) -> str:
    # Imported here so plain-text ingestion does not pay for loading pypdf.
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            reader.decrypt("")  # the published PDFs are at most owner-password protected
        return "\n".join(page.extract_text() or "" for page in reader.pages)
    except (PyPdfError, ValueError, KeyError, TypeError) as exc:
        raise SourceError(path, f"not a readable PDF: {exc}") from exc


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Text saved from Word on Windows is often cp1252; every byte string decodes as latin-1.
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError:
            return data.decode("latin-1")


def _clean(line: str) -> str:
    """Collapse the odd spaces PDF extraction produces (NBSP, tabs, runs) into single spaces."""
    return " ".join(line.replace("\u00a0", " ").replace("\u200b", "").split())


def _strip_page_furniture(lines: list[str]) -> list[str]:
    kept: list[str] = []
    for line in lines:
        line = _PAGE_MARK.sub(" ", line).strip()
        if line and not _RUNNING_HEADER.fullmatch(line):
            kept.append(" ".join(line.split()))
    return kept


def _strip_table_of_contents(lines: list[str]) -> list[str]:
    """Drop the contents and everything before it (title page), and stray leader lines.

    The contents is the first run of dot-leader lines, allowing a few lines without a leader
    in between for entries that wrap; it counts as contents only if no section heading
    without a leader comes before it (otherwise it is some list inside the body).
    """
    leaders = [index for index, line in enumerate(lines) if _DOT_LEADER.search(line)]
    if leaders and not any(_SECTION.fullmatch(line) for line in lines[: leaders[0]]):
        run = [leaders[0]]
        for index in leaders[1:]:
            if index - run[-1] > _TOC_GAP:
                break
            run.append(index)
        if len(run) >= _TOC_MIN_ENTRIES:
            lines = lines[run[-1] + 1 :]
    return [line for line in lines if not _DOT_LEADER.search(line)]


# ---------------------------------------------------------------------------------------------
# The outline
# ---------------------------------------------------------------------------------------------


def _outline(lines: list[str]) -> list[_Section]:
    """Split the lines into sections at each heading that continues the outline."""
    sections: list[_Section] = []
    stack: list[_Heading] = []
    seen: set[str] = set()
    index = 0
    while index < len(lines):
        line = lines[index]
        heading = _accept(stack, line)
        if heading is not None and heading.level == -1:
            sections.append(_appendix(heading, lines[index + 1 :]))
            break
        new_stack = [*(h for h in stack if h.level < heading.level), heading] if heading else []
        section_id = ".".join(h.label for h in new_stack)
        if heading is None or section_id in seen:
            # Body text; a repeated heading is text quoting it, not a new section.
            if sections:
                sections[-1].body.append(line)
            index += 1
            continue
        heading.title, index = _complete_title(heading, lines, index + 1)
        seen.add(section_id)
        stack = new_stack
        section = _Section(section_id, heading)
        if index < len(lines) and _continues_sentence(lines[index]):
            # A run-in item ("(b) If the patient ... continues here"): keep its first line.
            section.body.append(heading.title)
        sections.append(section)
    return sections


def _accept(stack: list[_Heading], line: str) -> _Heading | None:
    """The heading `line` opens given the open headings, or None for body text.

    A level of -1 marks the Appendix I heading, accepted only once a section is open.
    """
    candidates = _candidates(line)
    if not candidates:
        return None
    open_levels = {heading.level: heading for heading in stack}
    # Prefer continuing an open level (deepest first) over opening a deeper one: "(i)" after
    # "(h)" is the ninth letter, after "(a)" it is the first roman numeral.
    for candidate in sorted(candidates, key=lambda c: -c.level):
        current = open_levels.get(candidate.level)
        if current is not None and 0 < candidate.ordinal - current.ordinal <= _LABEL_GAP:
            return candidate
    deepest = stack[-1].level if stack else -1
    for candidate in sorted(candidates, key=lambda c: c.level):
        if candidate.level == 0 and candidate.ordinal > (open_levels[0].ordinal if stack else 0):
            return candidate  # Section II etc.: few, and always written out in full
        if candidate.level == -1 and stack:
            return candidate
        if stack and candidate.level > deepest and candidate.ordinal == 1:
            return candidate
    return None


def _candidates(line: str) -> list[_Heading]:
    """Every outline label `line` could carry ("(i)" is a letter or a roman numeral)."""
    section = _SECTION.fullmatch(line)
    if section:
        label = section.group(1).upper()
        return [_Heading(0, label, _ROMAN[label.lower()], section.group(2).strip())]
    appendix = _APPENDIX.fullmatch(line)
    if appendix:
        return [_Heading(-1, "Appendix I", 1, (appendix.group(1) or "").strip())]
    found: list[_Heading] = []
    for level, pattern in _LEVELS:
        match = pattern.fullmatch(line)
        if match:
            label, title = match.group(1), (match.group(2) or "").strip()
            found.append(_Heading(level, label, _ordinal(level, label), title))
    return found


def _ordinal(level: int, label: str) -> int:
    if label.isdigit():
        return int(label)
    if level == 6:
        return _ROMAN.get(label, 0)
    return ord(label.lower()) - ord("a") + 1


def _complete_title(heading: _Heading, lines: list[str], index: int) -> tuple[str, int]:
    """Join the lines a heading wraps onto; returns the title and the next unread index.

    A label alone on its line takes the next line as title; a title with an unclosed
    parenthesis ("Chapter 2: Neoplasms (C00-") continues on the next line, and so does a
    section, part or numbered heading (levels 0-2, never run-in paragraphs) when the next
    line carries on its sentence.
    """
    title = heading.title
    if not title and index < len(lines):
        title, index = lines[index], index + 1
    for _ in range(_TITLE_WRAPS):
        if index >= len(lines):
            break
        unclosed = title.count("(") > title.count(")")
        if not unclosed and not (heading.level <= 2 and _continues_sentence(lines[index])):
            break
        joiner = "" if title.endswith("-") else " "  # "(A00-" + "B99)" -> "(A00-B99)"
        title, index = f"{title}{joiner}{lines[index]}", index + 1
    return title, index


def _continues_sentence(line: str) -> bool:
    """True when `line` carries on the sentence above rather than starting anything new."""
    return line[:1].islower() and not _candidates(line)


def _appendix(heading: _Heading, body: list[str]) -> _Section:
    """Appendix I has no numbered outline: all of it is one section."""
    if not heading.title and body:
        heading.title, body = body[0], body[1:]
    return _Section("Appendix I", heading, body)
