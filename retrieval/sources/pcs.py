"""The ICD-10-PCS Tables (CMS XML) expanded to every valid code, with titles built from the
axis values; Definitions, Index and Guidelines are in `pcs_reference`.

The XML files are parsed with expat into a small in-memory tree that remembers the line of
every element, so that a malformed element can be reported at its line; the largest file
(the Tables, about 3 MB) takes well under a second this way.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from retrieval.errors import SourceError
from retrieval.records import CodeRecord, Note
from retrieval.sources.pcs_xml import _load_xml, _Node, _required_attr, _required_text

# PCS uses the digits and the letters except I and O in every position.
_PCS_CHAR = re.compile(r"[0-9A-HJ-NP-Z]")
_PCS_CODE_PREFIX = re.compile(r"[0-9A-HJ-NP-Z]{3,7}")


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
