"""ICD-10-PCS Definitions and Index (CMS XML) and the PCS Official Guidelines (TSV)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from retrieval.errors import SourceError
from retrieval.records import Guideline, IndexEntry, PcsDefinition
from retrieval.sources.files import tsv_lines
from retrieval.sources.pcs_xml import _load_xml, _Node, _required_attr, _required_text

_PCS_CODE_PREFIX = re.compile(r"[0-9A-HJ-NP-Z]{3,7}")
# ---------------------------------------------------------------------------------------------
# Definitions
# ---------------------------------------------------------------------------------------------


def parse_pcs_definitions(path: Path) -> Iterator[PcsDefinition]:
    """Yield one definition per term title of each section axis.

    A <terms> element may list several titles sharing one definition (for example "Kidney,
    Left" and "Kidney, Right"); each title gets its own record. Several <includes> are joined
    with "; " because single includes may themselves contain commas. The <deviceAggregation>
    block (device value roll-ups) is not a definition and is skipped.
    """
    root = _load_xml(path, "ICD10PCS.definitions")
    sections = root.all("section")
    if not sections:
        raise SourceError(path, "no <section> elements found")
    for section in sections:
        code = _required_attr(section, "code", path)
        for axis in section.all("axis"):
            yield from _axis_definitions(code, axis, path)


def _axis_definitions(section: str, axis: _Node, path: Path) -> Iterator[PcsDefinition]:
    pos = _required_attr(axis, "pos", path)
    if not pos.isdigit():
        raise SourceError(path, f"axis position {pos!r} is not a number", line=axis.line)
    axis_title = _required_text(axis, "title", path)
    for terms in axis.all("terms"):
        titles = [node.own_text for node in terms.all("title") if node.own_text]
        if not titles:
            raise SourceError(path, "<terms> has no <title>", line=terms.line)
        includes = "; ".join(node.own_text for node in terms.all("includes") if node.own_text)
        for term in titles:
            yield PcsDefinition(
                section=section,
                axis=int(pos),
                axis_title=axis_title,
                term=term,
                definition=terms.text_of("definition") or "",
                explanation=terms.text_of("explanation") or "",
                includes=includes,
            )


# ---------------------------------------------------------------------------------------------
# Index
# ---------------------------------------------------------------------------------------------


def parse_pcs_index(path: Path) -> Iterator[IndexEntry]:
    """Yield one entry per <mainTerm> and per <term>, in document order.

    `entry_id` is the 1-based ordinal of the entry in the file. A <term> without its own
    <title> (for example one holding only a <see>, <use> or <code>) is a continuation line
    of its parent: it shares the parent's path and adds no level. `code` is the full code
    (<code>), code prefix (<codes>) or table (<tab>) of the entry; for a <see>/<use> entry it
    is the code the cross-reference points to, as the printed index shows it next to the
    reference ("see Resection, Uterus 0UT9"). `see`/`use` hold only the reference text.
    The PCS index has no nonessential modifiers, so `modifiers` holds one empty string per
    path level.
    """
    root = _load_xml(path, "ICD10PCS.index")
    ordinal = itertools.count(1)
    found = False
    for letter in root.all("letter"):
        for main in letter.all("mainTerm"):
            found = True
            yield from _index_entries(main, (), ordinal, path)
    if not found:
        raise SourceError(path, "no <mainTerm> elements found")


def _index_entries(
    node: _Node, parent_path: tuple[str, ...], ordinal: Iterator[int], path: Path
) -> Iterator[IndexEntry]:
    title = node.text_of("title")
    term_path = (*parent_path, title) if title else parent_path
    if not term_path:
        raise SourceError(path, "<mainTerm> has no <title>", line=node.line)
    see, use = node.first("see"), node.first("use")
    yield IndexEntry(
        index="pcs",
        entry_id=str(next(ordinal)),
        path=term_path,
        modifiers=("",) * len(term_path),
        code=_entry_code(node, (see, use), path),
        see=_reference_text(see),
        use=_reference_text(use),
    )
    for child in node.all("term"):
        yield from _index_entries(child, term_path, ordinal, path)


def _reference_text(node: _Node | None) -> str | None:
    """A <see>/<use> text without its nested <codes>/<tab>, or None when absent or empty."""
    return (node.own_text or None) if node is not None else None


def _entry_code(node: _Node, references: Iterable[_Node | None], path: Path) -> str | None:
    holders = [node, *(ref for ref in references if ref is not None)]
    for holder in holders:
        for tag in ("code", "codes", "tab"):
            child = holder.first(tag)
            if child is None:
                continue
            code = child.own_text.upper()
            if not _PCS_CODE_PREFIX.fullmatch(code):
                message = f"<{tag}> {child.own_text!r} is not a PCS code or code prefix"
                raise SourceError(path, message, line=child.line)
            return code
    return None


# ---------------------------------------------------------------------------------------------
# Guidelines (TSV)
# ---------------------------------------------------------------------------------------------

_GUIDELINE_HEADER = ["section", "type", "idx", "content"]


def parse_pcs_guidelines_tsv(path: Path) -> Iterator[Guideline]:
    """Yield the PCS Official Guidelines from a TSV with columns section, type, idx, content.

    `section_id` is idx (for example "B3.1a"); `title` is "<section>: <type>", or just the
    section when both agree ("Convention").
    """
    seen: dict[str, int] = {}
    rows = 0
    for number, line in tsv_lines(path, _GUIDELINE_HEADER):
        guideline = _guideline_row(line, number, path)
        if guideline.section_id in seen:
            message = f"guideline {guideline.section_id} repeats line {seen[guideline.section_id]}"
            raise SourceError(path, message, line=number)
        seen[guideline.section_id] = number
        rows += 1
        yield guideline
    if not rows:
        raise SourceError(path, "no guideline rows found")


def _guideline_row(line: str, number: int, path: Path) -> Guideline:
    fields = line.split("\t")
    if len(fields) != len(_GUIDELINE_HEADER):
        message = f"expected {len(_GUIDELINE_HEADER)} tab-separated fields, found {len(fields)}"
        raise SourceError(path, message, line=number)
    section, kind, idx, content = (value.strip() for value in fields)
    if not idx or not content:
        raise SourceError(path, "guideline row lacks its idx or content", line=number)
    title = section if kind in ("", section) else f"{section}: {kind}"
    return Guideline(system="pcs", section_id=idx, title=title, text=content)
