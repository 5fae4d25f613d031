"""Parser for the ICD-10-CM Table of Neoplasms and Table of Drugs and Chemicals (CMS XML).

Both tables use the index schema plus ``<indexHeading><head col="N">`` column headings and
``<cell col="N">`` values; column 1 is the row label (the term itself). A cell of dashes
("-" in the neoplasm table, "--" in the drug table) means "no code" and is left out. Codes
ending in "-" ("C79.8-") are incomplete ("see the Tabular List") and are kept as given.
A row's "see" / "see also" reference has no field in `TableRow` and is not kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Literal

from retrieval.errors import SourceError
from retrieval.records import TableRow
from retrieval.sources.alphabetic_index import CODE_PATTERN, IndexXmlReader, XmlTerm

TableKind = Literal["neoplasm", "drug"]

LABEL_COLUMN = 1

# Headings each table must have (compared case-insensitively); they tell the tables apart.
EXPECTED_HEADINGS: dict[TableKind, tuple[str, ...]] = {
    "neoplasm": (
        "Malignant Primary",
        "Malignant Secondary",
        "Ca in situ",
        "Benign",
        "Uncertain Behavior",
        "Unspecified Behavior",
    ),
    "drug": (
        "Poisoning Accidental (unintentional)",
        "Poisoning Intentional self-harm",
        "Poisoning Assault",
        "Poisoning Undetermined",
        "Adverse effect",
        "Underdosing",
    ),
}

TABLE_NAMES: dict[TableKind, str] = {
    "neoplasm": "Table of Neoplasms",
    "drug": "Table of Drugs and Chemicals",
}


def parse_table_xml(path: Path, table: TableKind) -> Iterator[TableRow]:
    """Yield one `TableRow` per main term and subterm, with `cells` keyed by heading.

    `row_id` is the row's 1-based ordinal in the file. A file whose headings are not those
    of `table` (the other table, or an index without headings) raises a `SourceError`.
    """
    if table not in EXPECTED_HEADINGS:
        raise ValueError(f"table must be 'neoplasm' or 'drug', not {table!r}")
    reader = IndexXmlReader(path)
    columns: dict[int, str] | None = None
    for term in reader.terms():
        if columns is None:
            # Headings precede the first term, so they are complete here.
            columns = _data_columns(path, reader.headings, table)
        yield TableRow(
            table=table,
            row_id=str(term.ordinal),
            path=term.path,
            modifiers=term.modifiers,
            cells=_row_cells(path, term, columns),
        )
    if columns is None:
        _data_columns(path, reader.headings, table)
        raise SourceError(path, f"no rows (<mainTerm>) found in the {TABLE_NAMES[table]}")


def _data_columns(path: Path, headings: dict[int, str], table: TableKind) -> dict[int, str]:
    """Column -> heading for the code columns, after checking they fit `table`."""
    if not headings:
        raise SourceError(
            path,
            f"no column headings (<indexHeading>): this looks like an alphabetic index, "
            f"not the {TABLE_NAMES[table]}",
        )
    columns = {col: text for col, text in headings.items() if col != LABEL_COLUMN}
    missing = _missing_headings(columns.values(), table)
    if missing:
        raise SourceError(
            path,
            f"column headings {list(columns.values())} are not those of the "
            f"{TABLE_NAMES[table]} (missing {missing}){_other_table_hint(columns, table)}",
        )
    return columns


def _missing_headings(found: Iterable[str], table: TableKind) -> list[str]:
    present = {text.casefold() for text in found}
    return [h for h in EXPECTED_HEADINGS[table] if h.casefold() not in present]


def _other_table_hint(columns: dict[int, str], table: TableKind) -> str:
    other: TableKind = "drug" if table == "neoplasm" else "neoplasm"
    if _missing_headings(columns.values(), other):
        return ""
    return f"; they are the headings of the {TABLE_NAMES[other]}: pass table={other!r}"


def _row_cells(path: Path, term: XmlTerm, columns: dict[int, str]) -> dict[str, str]:
    """Heading -> code for the cells that hold a code; dash-only cells mean "no code"."""
    cells: dict[str, str] = {}
    for col, text in term.cells.items():
        if col not in columns:
            raise SourceError(path, f"cell in column {col}, which has no heading", term.line)
        if not text.strip("-"):
            continue
        if not CODE_PATTERN.fullmatch(text):
            raise SourceError(
                path, f"cell {text!r} under {columns[col]!r} is not an ICD-10-CM code", term.line
            )
        cells[columns[col]] = text
    return cells
