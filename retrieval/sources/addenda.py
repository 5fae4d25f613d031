"""Parser for the official CMS code-file addenda (ICD-10-CM and ICD-10-PCS, one fiscal year).

One change a line: ``Add:``, ``Delete:``, or a ``Revise from:`` line followed by its
``Revise to:`` line, then the code without a dot and its long title. A summary block closes
the file (``Codes`` then the code counts of both years' files and the numbers of additions,
deletions and revisions); when it is there, it must agree with the lines above it. Line
endings may be CRLF (the CM file) or LF (most of the PCS file).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from retrieval.errors import SourceError
from retrieval.records import System
from retrieval.sources.files import read_text_lines
from retrieval.text import with_dot

AddendaAction = Literal["add", "delete", "revise"]

_LINE = re.compile(r"^(Add|Delete|Revise from|Revise to):\s+(\S+)(?:\s+(.*))?$")
_CODE: dict[str, re.Pattern[str]] = {
    "cm": re.compile(r"^[A-Z][0-9A-Z]{2}[0-9A-Z]{0,4}$"),  # FY2027 adds QA1.71
    "pcs": re.compile(r"^[0-9A-HJ-NP-Z]{7}$"),
}
_SUMMARY_CODES = re.compile(r"^(\d+)\s+codes in\s+(\S+)$")
_SUMMARY_COUNT = re.compile(r"^(\d+)\s+(additions|deletions|revisions)$")
_NAME = re.compile(r"icd-?10-?(cm|pcs).*?(20\d\d)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class AddendaChange:
    """One change: `code` in the knowledge base's form (CM with its dot)."""

    action: AddendaAction
    code: str
    title: str
    line: int
    former_title: str | None = None


@dataclass(frozen=True, slots=True)
class AddendaSummary:
    """The file's own closing counts (codes in the previous and the new year's code file)."""

    codes_before: int
    codes_after: int
    additions: int
    deletions: int
    revisions: int


@dataclass(frozen=True, slots=True)
class Addenda:
    path: Path
    system: System
    year: int
    changes: tuple[AddendaChange, ...]
    summary: AddendaSummary | None

    def counts(self) -> dict[str, int]:
        return {
            name: sum(c.action == action for c in self.changes)
            for name, action in (
                ("additions", "add"),
                ("deletions", "delete"),
                ("revisions", "revise"),
            )
        }


def addenda_identity(path: Path) -> tuple[System, int] | None:
    """(system, fiscal year) an addenda file's name gives: icd10cm_codes_addenda_2027.txt."""
    match = _NAME.search(path.name)
    if not match:
        return None
    system: System = "cm" if match.group(1).lower() == "cm" else "pcs"
    return system, int(match.group(2))


def parse_addenda(path: Path, system: System | None = None, year: int | None = None) -> Addenda:
    """Read and check a whole addenda file; any malformed line raises a `SourceError` naming
    the file, the 1-based line and what was wrong. `system` and `year` default to what the
    file name says."""
    identity = addenda_identity(path)
    if system is None or year is None:
        if identity is None:
            raise SourceError(path, "cannot tell the code system and year from the file name")
        system, year = system or identity[0], year or identity[1]
    lines = read_text_lines(path)
    changes: list[AddendaChange] = []
    pending: AddendaChange | None = None  # a "Revise from" waiting for its "Revise to"
    seen: dict[str, int] = {}
    summary_at = next((n for n, text in enumerate(lines) if text.strip() == "Codes"), len(lines))
    for number, raw in enumerate(lines[:summary_at], start=1):
        text = raw.strip()
        if not text:
            continue
        match = _LINE.match(text)
        if not match:
            raise SourceError(
                path,
                f"expected 'Add:', 'Delete:', 'Revise from:' or 'Revise to:' and a code, "
                f"found {text[:60]!r}",
                line=number,
            )
        keyword, bare, title = match.group(1), match.group(2), (match.group(3) or "").strip()
        if not _CODE[system].match(bare):
            raise SourceError(path, f"{bare!r} is not an ICD-10-{system.upper()} code", number)
        if not title:
            raise SourceError(path, f"{keyword} {bare}: the title is missing", number)
        code = with_dot(bare) if system == "cm" else bare
        if pending is not None and keyword != "Revise to":
            raise SourceError(
                path, f"'Revise from: {pending.code}' is not followed by its 'Revise to:'", number
            )
        if keyword == "Revise to":
            if pending is None or pending.code != code:
                raise SourceError(
                    path, f"'Revise to: {bare}' has no 'Revise from:' before it", number
                )
            changes.append(AddendaChange("revise", code, title, pending.line, pending.title))
            pending = None
            continue
        if code in seen:
            raise SourceError(path, f"{bare} is changed twice (first at line {seen[code]})", number)
        seen[code] = number
        if keyword == "Revise from":
            pending = AddendaChange("revise", code, title, number)
        else:
            changes.append(
                AddendaChange("add" if keyword == "Add" else "delete", code, title, number)
            )
    if pending is not None:
        raise SourceError(path, f"'Revise from: {pending.code}' has no 'Revise to:'", pending.line)
    if not changes:
        raise SourceError(path, "no Add, Delete or Revise lines: not an addenda file")
    addenda = Addenda(path, system, year, tuple(changes), None)
    if summary_at < len(lines):
        summary = _summary(path, lines, summary_at)
        _check_summary(path, addenda, summary, summary_at + 1)
        addenda = Addenda(path, system, year, tuple(changes), summary)
    return addenda


def _summary(path: Path, lines: list[str], start: int) -> AddendaSummary:
    files: list[int] = []
    counts: dict[str, int] = {}
    for number, raw in enumerate(lines[start + 1 :], start=start + 2):
        text = raw.strip()
        if not text:
            continue
        if match := _SUMMARY_CODES.match(text):
            files.append(int(match.group(1)))
        elif match := _SUMMARY_COUNT.match(text):
            counts[match.group(2)] = int(match.group(1))
        else:
            raise SourceError(path, f"unexpected line in the summary block: {text[:60]!r}", number)
    missing = [n for n in ("additions", "deletions", "revisions") if n not in counts]
    if len(files) != 2 or missing:
        what = ", ".join(missing) or "the code counts of both years"
        raise SourceError(path, f"the summary block lacks {what}", start + 1)
    return AddendaSummary(files[0], files[1], **counts)


def _check_summary(path: Path, addenda: Addenda, summary: AddendaSummary, line: int) -> None:
    for name, parsed in addenda.counts().items():
        stated = getattr(summary, name)
        if stated != parsed:
            raise SourceError(
                path, f"the summary says {stated} {name} but the file lists {parsed}", line
            )
    expected = summary.codes_before + summary.additions - summary.deletions
    if expected != summary.codes_after:
        raise SourceError(
            path,
            f"the summary's counts do not add up: {summary.codes_before} + {summary.additions} "
            f"- {summary.deletions} is not {summary.codes_after}",
            line,
        )
