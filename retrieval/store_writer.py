"""Writes a new knowledge-base SQLite file; the build owns it until it is switched in."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

from retrieval.records import (
    CodeChange,
    CodeRecord,
    Guideline,
    IndexEntry,
    MceEdit,
    PcsDefinition,
    TableRow,
)
from retrieval.text import normalise


def path_key(path: Iterable[str]) -> str:
    return "|".join(normalise(part) for part in path)


class KnowledgeStoreWriter:
    """Bulk inserts in one transaction; `close()` commits and compacts the file."""

    def __init__(self, path: Path, create: bool = True) -> None:
        """A new store file (`create`), or one written before to add fiscal years to."""
        self._db = sqlite3.connect(path)
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("PRAGMA synchronous = OFF")
        if create:
            schema = resources.files("retrieval").joinpath("schema.sql").read_text()
            self._db.executescript(schema)

    def set_meta(self, values: dict[str, object]) -> None:
        self._db.executemany(
            "INSERT OR REPLACE INTO meta VALUES (?, ?)",
            [(key, json.dumps(value)) for key, value in values.items()],
        )

    def add_codes(self, records: Iterable[CodeRecord]) -> int:
        count = 0
        for record in records:
            self._db.execute(
                "INSERT INTO codes VALUES (?,?,?,?,?,?,?,?)",
                (
                    record.code,
                    record.system,
                    record.title,
                    int(record.billable),
                    record.kind,
                    record.parent,
                    record.chapter,
                    json.dumps(record.inclusion_terms),
                ),
            )
            self._db.executemany(
                "INSERT INTO notes VALUES (?,?,?,?,?)",
                [
                    (record.code, record.system, ord_, n.kind, n.text)
                    for ord_, n in enumerate(record.notes)
                ],
            )
            phrases = [(normalise(record.title), record.code, record.source_id)]
            phrases += [
                (normalise(t), record.code, record.source_id) for t in record.inclusion_terms
            ]
            self._db.executemany("INSERT INTO phrases VALUES (?,?,?)", phrases)
            count += 1
        return count

    def add_index_entries(self, entries: Iterable[IndexEntry]) -> int:
        count = 0
        for entry in entries:
            self._db.execute(
                "INSERT INTO index_entries VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    entry.source_id,
                    entry.index,
                    json.dumps(entry.path),
                    path_key(entry.path),
                    json.dumps(entry.modifiers),
                    entry.code,
                    entry.see,
                    entry.see_also,
                    entry.use,
                ),
            )
            if entry.code and entry.index != "pcs":
                # Coders say "acute appendicitis": subterms first, then the main term.
                phrase = normalise(" ".join((*entry.path[1:], entry.path[0])))
                self._db.execute(
                    "INSERT INTO phrases VALUES (?,?,?)", (phrase, entry.code, entry.source_id)
                )
            count += 1
        return count

    def add_table_rows(self, rows: Iterable[TableRow]) -> int:
        count = 0
        for row in rows:
            self._db.execute(
                "INSERT INTO table_rows VALUES (?,?,?,?,?,?)",
                (
                    row.source_id,
                    row.table,
                    json.dumps(row.path),
                    path_key(row.path),
                    json.dumps(row.modifiers),
                    json.dumps(row.cells),
                ),
            )
            self._db.executemany(
                "INSERT INTO table_cells VALUES (?,?,?)",
                [(row.source_id, col, code) for col, code in row.cells.items()],
            )
            count += 1
        return count

    def add_guidelines(self, guidelines: Iterable[Guideline]) -> int:
        rows = [(g.source_id, g.system, g.section_id, g.title, g.text) for g in guidelines]
        self._db.executemany("INSERT OR REPLACE INTO guidelines VALUES (?,?,?,?,?)", rows)
        return len(rows)

    def add_pcs_definitions(self, definitions: Iterable[PcsDefinition]) -> int:
        rows = [
            (
                d.source_id,
                d.section,
                d.axis,
                d.axis_title,
                d.term,
                d.definition,
                d.explanation,
                d.includes,
            )
            for d in definitions
        ]
        self._db.executemany(
            "INSERT OR REPLACE INTO pcs_definitions VALUES (?,?,?,?,?,?,?,?)", rows
        )
        return len(rows)

    def add_mce_edits(self, edits: Iterable[MceEdit]) -> int:
        rows = [(e.edit_type, e.code_type, e.code) for e in edits]
        self._db.executemany("INSERT INTO mce_edits VALUES (?,?,?)", rows)
        return len(rows)

    def add_fiscal_year(
        self,
        year: int,
        previous: int,
        records: dict[tuple[str, str], CodeRecord | None],
        changes: list[CodeChange],
        phrases: list[tuple[str, str, str]],
    ) -> None:
        """Overlay rows of `year`: its own differences from `previous`, then the rows
        `previous` already had (overlays are cumulative from the base year)."""
        rows: list[tuple[object, ...]] = []
        for (system, code), record in records.items():
            if record is None:
                rows.append((year, code, system, "", 0, "", None, None, "[]", 0))
                continue
            rows.append(
                (
                    year,
                    record.code,
                    record.system,
                    record.title,
                    int(record.billable),
                    record.kind,
                    record.parent,
                    record.chapter,
                    json.dumps(record.inclusion_terms),
                    1,
                )
            )
        self._db.executemany("INSERT INTO code_overlay VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
        self._db.execute(
            "INSERT OR IGNORE INTO code_overlay SELECT ?, code, system, title, billable, kind, "
            "parent, chapter, inclusion_terms, present FROM code_overlay WHERE year = ?",
            (year, previous),
        )
        self._db.executemany(
            "INSERT INTO code_changes VALUES (?,?,?,?,?,?,?,?,?)",
            [
                (
                    c.year,
                    c.system,
                    c.code,
                    c.action,
                    c.title,
                    c.former_title,
                    json.dumps(c.replaced_by),
                    int(c.heading),
                    int(c.implied),
                )
                for c in changes
            ],
        )
        self._db.execute(
            "INSERT INTO year_phrases SELECT ?, phrase, code, source_id FROM year_phrases "
            "WHERE year = ?",
            (year, previous),
        )
        self._db.executemany(
            "INSERT INTO year_phrases VALUES (?,?,?,?)",
            [(year, phrase, code, source) for phrase, code, source in phrases],
        )

    def close(self) -> None:
        self._db.commit()
        self._db.execute("ANALYZE")
        self._db.close()

    def abort(self) -> None:
        self._db.close()
