"""Parsers for the official ICD-10-PCS files: Tables, Definitions and Index (CMS XML) and the
PCS Official Guidelines flattened to TSV (section, type, idx, content).

The XML files are parsed with expat into a small in-memory tree that remembers the line of
every element, so that a malformed element can be reported at its line; the largest file
(the Tables, about 3 MB) takes well under a second this way.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from xml.parsers import expat

from retrieval.errors import SourceError
from retrieval.records import CodeRecord, Guideline, IndexEntry, Note, PcsDefinition
from retrieval.sources.files import read_text_lines

# PCS uses the digits and the letters except I and O in every position.
_PCS_CHAR = re.compile(r"[0-9A-HJ-NP-Z]")
_PCS_CODE_PREFIX = re.compile(r"[0-9A-HJ-NP-Z]{3,7}")

# ---------------------------------------------------------------------------------------------
# A minimal XML tree with line numbers
# ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Node:
    """One XML element: its own character data excludes the text of nested elements."""

    tag: str
    attrs: dict[str, str]
    line: int
    children: list[_Node] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)

    @property
    def own_text(self) -> str:
        return " ".join("".join(self.parts).split())

    def all(self, tag: str) -> list[_Node]:
        return [child for child in self.children if child.tag == tag]

    def first(self, tag: str) -> _Node | None:
        return next((child for child in self.children if child.tag == tag), None)

    def text_of(self, tag: str) -> str | None:
        child = self.first(tag)
        return child.own_text if child is not None else None


class _WrongRoot(Exception):
    def __init__(self, found: str, line: int) -> None:
        self.found = found
        self.line = line


def _load_xml(path: Path, root_tag: str) -> _Node:
    """Parse `path` whole; corrupt, truncated or foreign files become a SourceError."""
    stack: list[_Node] = []
    roots: list[_Node] = []
    parser = expat.ParserCreate()
    parser.buffer_text = True  # one data event per text run instead of one per line

    def start(tag: str, attrs: dict[str, str]) -> None:
        node = _Node(tag, attrs, parser.CurrentLineNumber)
        if stack:
            stack[-1].children.append(node)
        elif tag != root_tag:
            # Stop at once: a wrong file may be large, and its errors would only confuse.
            raise _WrongRoot(tag, parser.CurrentLineNumber)
        else:
            roots.append(node)
        stack.append(node)

    def end(tag: str) -> None:
        stack.pop()

    def data(text: str) -> None:
        if stack:
            stack[-1].parts.append(text)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = data
    try:
        with path.open("rb") as handle:
            parser.ParseFile(handle)
    except FileNotFoundError:
        raise SourceError(path, "file not found") from None
    except OSError as exc:
        raise SourceError(path, f"cannot read file: {exc.strerror or exc}") from exc
    except expat.ExpatError as exc:
        message = f"corrupt or truncated XML: {expat.ErrorString(exc.code)}"
        raise SourceError(path, message, line=exc.lineno) from exc
    except _WrongRoot as exc:
        message = f"expected root element <{root_tag}>, found <{exc.found}>"
        raise SourceError(path, message, line=exc.line) from None
    if not roots:
        raise SourceError(path, f"no <{root_tag}> element found")
    return roots[0]


def _required_attr(node: _Node, name: str, path: Path) -> str:
    value = node.attrs.get(name, "").strip()
    if not value:
        raise SourceError(path, f"<{node.tag}> lacks its '{name}' attribute", line=node.line)
    return value


def _required_text(node: _Node, tag: str, path: Path) -> str:
    text = node.text_of(tag)
    if not text:
        raise SourceError(path, f"<{node.tag}> lacks a non-empty <{tag}>", line=node.line)
    return text


# ---------------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Label:
    code: str
    text: str


@dataclass(frozen=True, slots=True)
class _Axis:
    pos: int
    title: str
    labels: tuple[_Label, ...]


@dataclass(frozen=True, slots=True)
class _Row:
    line: int
    axes: tuple[_Axis, _Axis, _Axis, _Axis]  # positions 4 to 7


@dataclass(frozen=True, slots=True)
class _Table:
    section: _Label
    body_system: _Label
    operation: _Label
    definition: str | None
    rows: tuple[_Row, ...]
    body_system_axis: str  # "Body System", but "Section Qualifier" in section F
    line: int

    @property
    def code(self) -> str:
        return self.section.code + self.body_system.code + self.operation.code

    @property
    def title(self) -> str:
        """ "Section, Body System, Operation", without a "None" body system (sections G, H)."""
        heads = (self.section.text, self.body_system.text, self.operation.text)
        return ", ".join(text for text in heads if not _is_none_value(text))


def parse_pcs_tables(path: Path) -> Iterator[CodeRecord]:
    """Yield each table (kind "pcs_table") followed by every valid code it holds ("pcs_code").

    The whole file is read and checked before the first record is yielded, so a corrupt file
    never leaves a half-loaded code set behind.
    """
    tables = list(_read_tables(path))
    _check_unique_codes(tables, path)
    for table in tables:
        yield _table_record(table)
        for row in table.rows:
            yield from _row_records(table, row)


def iter_pcs_body_parts(path: Path) -> Iterator[tuple[str, str]]:
    """Yield (table code + body part character, "<Operation> <Body Part>, <Body System>")
    once per distinct pair, in file order: a coarser grain than codes for embedding.

    Where the fourth axis holds no value ("None"), the text is "<Operation>, <Body System>".
    """
    for table in _read_tables(path):
        seen: set[str] = set()
        for row in table.rows:
            for label in row.axes[0].labels:
                if label.code in seen:
                    continue
                seen.add(label.code)
                what = f" {label.text}" if not _is_none_value(label.text) else ""
                where = "" if _is_none_value(table.body_system.text) else table.body_system.text
                text = f"{table.operation.text}{what}, {where}".rstrip(", ")
                yield table.code + label.code, text


def _check_unique_codes(tables: list[_Table], path: Path) -> None:
    """Every table and code must appear once: records are keyed by code downstream."""
    table_lines: dict[str, int] = {}
    codes: set[str] = set()
    for table in tables:
        if table.code in table_lines:
            message = f"table {table.code} appears twice (first at line {table_lines[table.code]})"
            raise SourceError(path, message, line=table.line)
        table_lines[table.code] = table.line
        for row in table.rows:
            for chars in itertools.product(*(axis.labels for axis in row.axes)):
                code = table.code + "".join(label.code for label in chars)
                if code in codes:
                    raise SourceError(path, f"code {code} listed twice", line=row.line)
                codes.add(code)


def _read_tables(path: Path) -> Iterator[_Table]:
    root = _load_xml(path, "ICD10PCS.tabular")
    tables = root.all("pcsTable")
    if not tables:
        raise SourceError(path, "no <pcsTable> elements found")
    for node in tables:
        yield _read_table(node, path)


def _read_table(node: _Node, path: Path) -> _Table:
    axes: dict[int, tuple[_Axis, _Node]] = {}
    for child in node.all("axis"):
        axis = _read_axis(child, path)
        if axis.pos in axes or axis.pos > 3:
            message = f"unexpected or repeated table axis {axis.pos}"
            raise SourceError(path, message, line=child.line)
        axes[axis.pos] = (axis, child)
    heads: list[_Label] = []
    for pos in (1, 2, 3):
        if pos not in axes:
            raise SourceError(path, f"<pcsTable> lacks its axis {pos}", line=node.line)
        axis, axis_node = axes[pos]
        if len(axis.labels) != 1:
            message = f"table axis {pos} must hold exactly one label, found {len(axis.labels)}"
            raise SourceError(path, message, line=axis_node.line)
        heads.append(axis.labels[0])
    rows = tuple(_read_row(child, path) for child in node.all("pcsRow"))
    if not rows:
        raise SourceError(path, "<pcsTable> holds no <pcsRow>", line=node.line)
    definition = axes[3][1].text_of("definition") or None
    section, body_system, operation = heads
    body_system_axis = axes[2][0].title
    return _Table(section, body_system, operation, definition, rows, body_system_axis, node.line)


def _read_row(node: _Node, path: Path) -> _Row:
    by_pos: dict[int, _Axis] = {}
    for child in node.all("axis"):
        axis = _read_axis(child, path)
        if axis.pos in by_pos or not 4 <= axis.pos <= 7:
            raise SourceError(path, f"unexpected or repeated row axis {axis.pos}", line=child.line)
        by_pos[axis.pos] = axis
    if sorted(by_pos) != [4, 5, 6, 7]:
        missing = ", ".join(str(pos) for pos in range(4, 8) if pos not in by_pos)
        raise SourceError(path, f"<pcsRow> lacks axis {missing}", line=node.line)
    row = _Row(node.line, (by_pos[4], by_pos[5], by_pos[6], by_pos[7]))
    declared = node.attrs.get("codes")
    expanded = _row_size(row)
    # The declared count catches rows whose labels were lost or duplicated in transit.
    if declared is not None and declared.strip() != str(expanded):
        message = f"<pcsRow codes={declared!r}> expands to {expanded} codes"
        raise SourceError(path, message, line=node.line)
    return row


def _read_axis(node: _Node, path: Path) -> _Axis:
    pos_text = _required_attr(node, "pos", path)
    if not pos_text.isdigit() or not 1 <= int(pos_text) <= 7:
        raise SourceError(path, f"axis position {pos_text!r} is not 1-7", line=node.line)
    title = _required_text(node, "title", path)
    labels: list[_Label] = []
    for child in node.all("label"):
        code = _required_attr(child, "code", path)
        if not _PCS_CHAR.fullmatch(code):
            raise SourceError(path, f"label code {code!r} is not a PCS character", line=child.line)
        if not child.own_text:
            raise SourceError(path, f"label {code!r} has no text", line=child.line)
        labels.append(_Label(code, child.own_text))
    if not labels:
        raise SourceError(path, f"axis {pos_text} holds no <label>", line=node.line)
    declared = node.attrs.get("values")
    if declared is not None and declared.strip() != str(len(labels)):
        message = f"axis {pos_text} declares {declared} values but holds {len(labels)}"
        raise SourceError(path, message, line=node.line)
    return _Axis(int(pos_text), title, tuple(labels))


def _row_size(row: _Row) -> int:
    size = 1
    for axis in row.axes:
        size *= len(axis.labels)
    return size


def _table_record(table: _Table) -> CodeRecord:
    notes: tuple[Note, ...] = ()
    if table.definition:
        notes = (Note(kind="note", text=table.definition, defined_at=table.code),)
    return CodeRecord(
        code=table.code,
        system="pcs",
        title=table.title,
        billable=False,
        kind="pcs_table",
        chapter=table.section.code,
        notes=notes,
    )


def _row_records(table: _Table, row: _Row) -> Iterator[CodeRecord]:
    titles = _surgical_title if _reads_like_surgery(table, row) else _generic_title
    for labels in itertools.product(*(axis.labels for axis in row.axes)):
        yield CodeRecord(
            code=table.code + "".join(label.code for label in labels),
            system="pcs",
            title=titles(table, row, labels),
            billable=True,
            kind="pcs_code",
            parent=table.code,
            chapter=table.section.code,
        )


# ---------------------------------------------------------------------------------------------
# Code titles
# ---------------------------------------------------------------------------------------------

_NONE_VALUE = re.compile(r"None|No [A-Z][a-z]+")

_LATERALITY = ("Right", "Left", "Bilateral")

_OF_OPERATIONS = frozenset(
    {
        "Abortion",
        "Alteration",
        "Creation",
        "Delivery",
        "Destruction",
        "Dilation",
        "Division",
        "Drainage",
        "Excision",
        "Extraction",
        "Fusion",
        "Inspection",
        "Occlusion",
        "Reattachment",
        "Replacement",
        "Resection",
        "Restriction",
        "Transplantation",
    }
)
# Operations whose title names the body part after a fixed phrase.
_PHRASED_OPERATIONS = {
    "Extirpation": "Extirpation of Matter from",
    "Fragmentation": "Fragmentation in",
    "Detachment": "Detachment at",
    "Control": "Control Bleeding in",
}
# Operations on a device: "<phrase> <device> <preposition> <body part>".
_DEVICE_OPERATIONS = {
    "Insertion": ("Insertion of", "into"),
    "Removal": ("Removal of", "from"),
    "Revision": ("Revision of", "in"),
    "Change": ("Change", "in"),
}
# Axis titles of the fourth position that name a site ("Plain Radiography of Head").
_SITE_AXES = frozenset(
    {"Body Part", "Body Region", "Body System", "Body System / Region", "Treatment Site"}
)
_USING_AXES = frozenset({"Contrast", "Radionuclide"})


def _is_none_value(text: str) -> bool:
    """True for placeholder values ("None", "No Device", "No Qualifier") titles leave out."""
    return _NONE_VALUE.fullmatch(text) is not None


def _natural_order(text: str) -> str:
    """Reorder a label the way the official long titles do: "Kidney, Right" -> "Right Kidney",
    "Intraluminal Device, Drug-eluting" -> "Drug-eluting Intraluminal Device", "Hip Joint,
    Acetabular Surface, Right" -> "Right Hip Joint, Acetabular Surface". Counted coronary
    arteries ("Coronary Artery, Two Arteries") keep their order, as in the official titles.
    """
    parts = text.split(", ")
    if len(parts) == 2 and not parts[1].endswith(("Artery", "Arteries")):
        return f"{parts[1]} {parts[0]}"
    if len(parts) == 3 and parts[2] in _LATERALITY:
        return f"{parts[2]} {parts[0]}, {parts[1]}"
    return text


def _approach_phrase(text: str) -> str:
    # The official titles say "Open Approach" but "Via Natural or Artificial Opening".
    return text if text.startswith("Via ") or text.endswith("Approach") else f"{text} Approach"


def _reads_like_surgery(table: _Table, row: _Row) -> bool:
    """Medical and Surgical, and Obstetrics, share the axes the official pattern is built on."""
    titles = tuple(axis.title for axis in row.axes)
    return table.section.code in "01" and titles == ("Body Part", "Approach", "Device", "Qualifier")


def _surgical_title(table: _Table, row: _Row, labels: tuple[_Label, ...]) -> str:
    """Official-style long title, e.g. "Bypass Cerebral Ventricle to Nasopharynx with
    Autologous Tissue Substitute, Open Approach" or "Resection of Right Kidney, Open Approach".
    """
    body, approach, device, qualifier = (label.text for label in labels)
    operation = table.operation.text
    body = _natural_order(body)
    device = "" if _is_none_value(device) else _natural_order(device)
    if _is_none_value(qualifier):
        qualifier = ""
    if operation in _DEVICE_OPERATIONS and device:
        phrase, preposition = _DEVICE_OPERATIONS[operation]
        title = f"{phrase} {device} {preposition} {body}"
        device = ""  # already named
    elif operation in _PHRASED_OPERATIONS:
        title = f"{_PHRASED_OPERATIONS[operation]} {body}"
    elif operation in _OF_OPERATIONS or operation in _DEVICE_OPERATIONS:
        title = f"{operation} of {body}"
    else:
        title = f"{operation} {body}"
    trailing = middle = ""
    if qualifier and (operation == "Bypass" or _is_nerve_transfer(table)):
        # Coronary bypass qualifiers name where the graft comes from.
        preposition = "from" if table.code == "021" else "to"
        title += f" {preposition} {_natural_order(qualifier)}"
    elif qualifier == "Diagnostic":
        trailing = ", Diagnostic"
    elif qualifier == "Bifurcation":
        # The official titles put this qualifier ahead of the device: "..., Bifurcation, with".
        title += ", Bifurcation" + ("," if device else "")
    elif qualifier:
        middle = f", {qualifier}"
    if device:
        title += f" with {device}"
    return f"{title}{middle}, {_approach_phrase(approach)}{trailing}"


def _is_nerve_transfer(table: _Table) -> bool:
    """Nerve transfers name the receiving nerve as qualifier: "Transfer Vagus Nerve to ..."."""
    return table.operation.text == "Transfer" and table.code[:2] in ("00", "01")


def _generic_title(table: _Table, row: _Row, labels: tuple[_Label, ...]) -> str:
    """Readable title for the other sections, e.g. "Plain Radiography of Right Orbit using
    Other Contrast" or "Psychological Tests, Developmental"; placeholder values are left out.
    """
    title = table.operation.text
    site_axis, *other_axes = row.axes
    site, *others = labels
    if not _is_none_value(site.text):
        joiner = " of " if site_axis.title in _SITE_AXES else ", "
        title += joiner + _natural_order(site.text)
    elif table.body_system_axis == "Body System" and not _is_none_value(table.body_system.text):
        title += " of " + table.body_system.text
    for axis, label in zip(other_axes, others, strict=True):
        if _is_none_value(label.text):
            continue
        if axis.title in _USING_AXES:
            title += f" using {label.text}"
        elif axis.title == "Approach":
            title += f", {_approach_phrase(label.text)}"
        else:
            title += f", {label.text}"
    return title


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
    lines = read_text_lines(path)
    if not lines or lines[0].rstrip("\r\n").split("\t") != _GUIDELINE_HEADER:
        found = lines[0].rstrip("\r\n").replace("\t", " | ") if lines else "an empty file"
        message = f"expected header {' | '.join(_GUIDELINE_HEADER)!r}, found {found!r}"
        raise SourceError(path, message, line=1)
    seen: dict[str, int] = {}
    rows = 0
    for number, raw in enumerate(lines[1:], start=2):
        line = raw.rstrip("\r\n")
        if not line.strip():
            continue
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
