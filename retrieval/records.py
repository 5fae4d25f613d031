"""Plain records every source parser yields and the store keeps.

Each record carries a `source_id`: a stable string a proposal can cite and the store can
resolve (for example ``tabular:E11.22``, ``index:A:12345``, ``guideline:cm:I.C.4.a.2``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

System = Literal["cm", "pcs"]

# Kinds of tabular instructional notes, in the order a coder reads them.
NOTE_KINDS = (
    "includes",
    "inclusion_term",
    "excludes1",
    "excludes2",
    "code_first",
    "use_additional_code",
    "code_also",
    "note",
    "seven_chr_note",
    "seven_chr_def",
)


@dataclass(frozen=True, slots=True)
class Note:
    """One instructional note; `defined_at` differs from the owning code when inherited."""

    kind: str
    text: str
    defined_at: str


@dataclass(frozen=True, slots=True)
class CodeRecord:
    """A code or a heading of the classification (chapter, block, category, code)."""

    code: str
    system: System
    title: str
    billable: bool
    kind: str  # chapter | block | category | subcategory | extension (7th char) | pcs_code
    parent: str | None = None
    chapter: str | None = None
    inclusion_terms: tuple[str, ...] = ()
    notes: tuple[Note, ...] = ()

    @property
    def source_id(self) -> str:
        return f"{'tabular' if self.system == 'cm' else 'pcs_table'}:{self.code}"


@dataclass(frozen=True, slots=True)
class IndexEntry:
    """One line of an alphabetic index with its full term path.

    `path` holds the main term then each subterm, without nonessential modifiers, which are
    kept aligned in `modifiers` (one string per level, empty when the level has none).
    `index` names the index: ``cm`` (diseases and injuries), ``eindex`` (external causes)
    or ``pcs``.
    """

    index: str
    entry_id: str
    path: tuple[str, ...]
    modifiers: tuple[str, ...] = ()
    code: str | None = None
    see: str | None = None
    see_also: str | None = None
    use: str | None = None

    @property
    def source_id(self) -> str:
        return f"index:{self.index}:{self.entry_id}"


@dataclass(frozen=True, slots=True)
class TableRow:
    """One row of the Table of Neoplasms or the Table of Drugs and Chemicals.

    `cells` maps the column heading (for example "Malignant Primary", "Adverse effect")
    to its code; columns holding "--" (no code) are left out.
    """

    table: Literal["neoplasm", "drug"]
    row_id: str
    path: tuple[str, ...]
    modifiers: tuple[str, ...] = ()
    cells: dict[str, str] = field(default_factory=dict)

    @property
    def source_id(self) -> str:
        return f"table:{self.table}:{self.row_id}"


@dataclass(frozen=True, slots=True)
class Guideline:
    """A section of the Official Guidelines keyed by its official id (I.C.4.a.2, B3.1a)."""

    system: System
    section_id: str
    title: str
    text: str

    @property
    def source_id(self) -> str:
        return f"guideline:{self.system}:{self.section_id}"


@dataclass(frozen=True, slots=True)
class PcsDefinition:
    """A definition of a PCS axis value (root operation, approach, device, ...)."""

    section: str
    axis: int
    axis_title: str
    term: str
    definition: str
    explanation: str = ""
    includes: str = ""

    @property
    def source_id(self) -> str:
        return f"pcs_definition:{self.section}:{self.axis}:{self.term}"


@dataclass(frozen=True, slots=True)
class MceEdit:
    """One Medicare Code Editor list entry: `code` (no dot) is subject to `edit_type`.

    `code_type` is "D" for a diagnosis (ICD-10-CM) code, "P" for a procedure (ICD-10-PCS).
    """

    edit_type: str
    code_type: Literal["D", "P"]
    code: str


ChangeAction = Literal["added", "deleted", "revised"]


@dataclass(frozen=True, slots=True)
class CodeChange:
    """What one fiscal year's addenda did to a code, as the knowledge base applied it.

    A deleted code whose children were added stays as a non-billable heading (`heading`);
    `replaced_by` names the codes added under it, or added with the same stem (T52.8X1A ->
    T52.811A, T52.821A, T52.891A: a placeholder X matches any character). A revised code
    keeps its former title here, where search still finds it.
    """

    year: int
    system: System
    code: str
    action: ChangeAction
    title: str
    former_title: str | None = None
    replaced_by: tuple[str, ...] = ()
    heading: bool = False
    # Not a line of the addenda but what follows from them: a heading whose codes all went.
    implied: bool = False

    def describe(self) -> str:
        """One line a coder reads: "I42.0 deleted in FY2027 (now a heading): use I42.00, ..."."""
        if self.action == "added":
            return f"{self.code} added in FY{self.year}: {self.title}"
        if self.action == "revised":
            return (
                f"{self.code} revised in FY{self.year}: {self.title!r} "
                f"(formerly {self.former_title!r})"
            )
        state = " (now a non-billable heading)" if self.heading else ""
        if self.implied:
            state = " (every code under it was deleted)"
        use = f": use {', '.join(self.replaced_by)}" if self.replaced_by else ": no replacement"
        return f"{self.code} deleted in FY{self.year}{state}{use}"
