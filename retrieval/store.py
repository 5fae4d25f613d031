"""Read side of the structured knowledge base (one SQLite file per KB version)."""

from __future__ import annotations

import copy
import functools
import json
import re
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from retrieval.records import CodeRecord, Guideline, IndexEntry, Note, TableRow
from retrieval.store_writer import path_key
from retrieval.store_years import FiscalYearQueries
from retrieval.text import normalise, singular, spelling_variants


def _code(row: sqlite3.Row, notes: tuple[Note, ...] = ()) -> CodeRecord:
    return CodeRecord(
        code=row["code"],
        system=row["system"],
        title=row["title"],
        billable=bool(row["billable"]),
        kind=row["kind"],
        parent=row["parent"],
        chapter=row["chapter"],
        inclusion_terms=tuple(json.loads(row["inclusion_terms"])),
        notes=notes,
    )


def _entry(row: sqlite3.Row) -> IndexEntry:
    idx, entry_id = row["source_id"].split(":", 2)[1:]
    return IndexEntry(
        index=idx,
        entry_id=entry_id,
        path=tuple(json.loads(row["path"])),
        modifiers=tuple(json.loads(row["modifiers"])),
        code=row["code"],
        see=row["see"],
        see_also=row["see_also"],
        use=row["use"],
    )


# Chained see references in the index are one or two long; more would be a loop.
_MAX_SEE_HOPS = 3


def _table_row(row: sqlite3.Row) -> TableRow:
    table, row_id = row["source_id"].split(":", 2)[1:]
    return TableRow(
        table=table,  # type: ignore[arg-type]
        row_id=row_id,
        path=tuple(json.loads(row["path"])),
        modifiers=tuple(json.loads(row["modifiers"])),
        cells=json.loads(row["cells"]),
    )


def _names(wanted: str, level: str) -> bool:
    """Whether a normalised reference word names an index level, variants included."""
    return wanted == normalise(level) or wanted in (normalise(v) for v in spelling_variants(level))


def _comma_splits(text: str) -> list[tuple[str, ...]]:
    """Every way to read "Infarction, myocardium, acute" as a main term plus subterms."""
    pieces = [p.strip() for p in text.split(",") if p.strip()]
    splits: list[tuple[str, ...]] = []
    for mask in range(2 ** max(len(pieces) - 1, 0)):
        groups, current = [], [pieces[0]] if pieces else []
        for i, piece in enumerate(pieces[1:]):
            if mask >> i & 1:
                current.append(piece)
            else:
                groups.append(", ".join(current))
                current = [piece]
        groups.append(", ".join(current))
        splits.append(tuple(groups))
    return splits


_CONNECTOR = re.compile(r"^(with|without|in|due to)\s+(\S.*)$", re.IGNORECASE)


def _connectors_apart(levels: tuple[str, ...]) -> tuple[str, ...]:
    """A reference writes "Calculus, gallbladder, with cholecystitis, acute" where the index
    files "with" as a level of its own above "cholecystitis"."""
    apart: list[str] = []
    for level in levels:
        found = _CONNECTOR.match(level) if apart else None
        apart += [found.group(1), found.group(2)] if found else [level]
    return tuple(apart)


RECORD_CACHE_SIZE = 30_000
PREFIX_CACHE_SIZE = 4_000


class KnowledgeStore(FiscalYearQueries):
    """Read-only, thread-safe access to codes, notes, index entries, tables and guidelines.

    `for_year(year)` gives a view of the same store bound to one fiscal year: every lookup
    that takes a year and is not given one answers for that year (what a chart's code set
    is), so code that takes a store need not know about fiscal years."""

    def __init__(self, path: Path) -> None:
        self.path = path
        uri = f"file:{path}?mode=ro&immutable=1"
        self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._aliases: dict[str, dict[str, list[str]]] = {}
        self.bound_year: int | None = None
        self._views: dict[int, KnowledgeStore] = {}
        self._views_lock = threading.Lock()
        # Records are immutable and the file is read-only, so they are kept once read: a
        # chart's coding asks for the same few hundred codes about a thousand times. Keyed
        # by the overlay year (None: the base year), so year views share it safely.
        self._record = functools.lru_cache(maxsize=RECORD_CACHE_SIZE)(self._read_record)
        # The same for prefix listings (a PCS table's codes are listed for each procedure).
        self._prefixed = functools.lru_cache(maxsize=PREFIX_CACHE_SIZE)(self._read_prefixed)

    def for_year(self, year: int | None) -> KnowledgeStore:
        """This store bound to fiscal `year` (None: this store as it is). Views share the
        connection and caches, and one view per year is kept, so asking again is free."""
        if year is None or year == self.bound_year:
            return self
        self.check_year(year)
        with self._views_lock:
            if year not in self._views:
                view = copy.copy(self)
                view.bound_year = year
                self._views[year] = view
            return self._views[year]

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        return self._db.execute(sql, params).fetchall()

    def meta(self) -> dict[str, Any]:
        return {r["key"]: json.loads(r["value"]) for r in self._rows("SELECT * FROM meta")}

    def get(
        self, code: str, system: str | None = None, year: int | None = None
    ) -> CodeRecord | None:
        """The record of `code` in fiscal `year` (None: the store's year); a name both
        systems use (B00) resolves to CM unless asked."""
        return self._record(code, system or None, self._overlay_year(year))

    def _read_record(self, code: str, system: str | None, overlay: int | None) -> CodeRecord | None:
        where, params = "code = ?", [code]
        if system:
            where, params = where + " AND system = ?", [code, system]
        # `overlay` is explicit (None: the base year), never this store's bound year.
        sql, values = self._code_select(where, params, overlay or self.base_year)
        rows = self._rows(f"{sql} ORDER BY system", values)
        if not rows:
            return None
        return _code(rows[0], self.own_notes(code, rows[0]["system"]))

    def is_billable(self, code: str, system: str = "cm", year: int | None = None) -> bool:
        record = self.get(code, system, year)
        return record is not None and record.billable

    def own_notes(self, code: str, system: str = "cm") -> tuple[Note, ...]:
        rows = self._rows(
            "SELECT kind, text FROM notes WHERE code = ? AND system = ? ORDER BY ord",
            (code, system),
        )
        return tuple(Note(r["kind"], r["text"], code) for r in rows)

    def lineage(
        self, code: str, system: str | None = None, year: int | None = None
    ) -> list[CodeRecord]:
        """The code and its ancestors, nearest first (a code added in a later year hangs
        under its nearest existing ancestor, whose notes it inherits)."""
        chain: list[CodeRecord] = []
        record = self.get(code, system, year)
        while record is not None and record not in chain:
            chain.append(record)
            record = self.get(record.parent, record.system, year) if record.parent else None
        return chain

    def notes_with_inherited(
        self, code: str, system: str | None = None, year: int | None = None
    ) -> list[Note]:
        """Own notes first, then those of each ancestor (their `defined_at` marks them)."""
        return [note for record in self.lineage(code, system, year) for note in record.notes]

    def children(self, code: str, system: str = "cm", year: int | None = None) -> list[CodeRecord]:
        rows = self._code_rows("parent = ? AND system = ?", (code, system), year)
        return [_code(r) for r in rows]

    def codes_with_prefix(
        self, prefix: str, limit: int = 50, year: int | None = None
    ) -> list[CodeRecord]:
        return list(self._prefixed(prefix, limit, year if year is not None else self.bound_year))

    def _read_prefixed(self, prefix: str, limit: int, year: int | None) -> tuple[CodeRecord, ...]:
        rows = self._code_rows(
            "code >= ? AND code < ?",
            (prefix, prefix + "\uffff"),
            year,
            "ORDER BY code LIMIT ?",
            (limit,),
        )
        return tuple(_code(r) for r in rows)

    def nearest_codes(self, code: str, limit: int = 5, year: int | None = None) -> list[str]:
        """Valid codes sharing the longest prefix with `code` (for "did you mean")."""
        for length in range(len(code) - 1, 0, -1):
            found = [
                r.code for r in self.codes_with_prefix(code[:length], limit * 4, year) if r.billable
            ]
            if found:
                return found[:limit]
        return []

    def index_entries_for(self, code: str) -> list[IndexEntry]:
        """Index lines whose code is `code` (or its category written with a dash)."""
        rows = self._rows("SELECT * FROM index_entries WHERE code = ?", (code,))
        return [_entry(r) for r in rows]

    def table_rows_for(self, code: str) -> list[tuple[TableRow, str]]:
        rows = self._rows(
            "SELECT t.*, c.col FROM table_cells c JOIN table_rows t USING (source_id) "
            "WHERE c.code = ?",
            (code,),
        )
        return [(_table_row(r), r["col"]) for r in rows]

    def index_lookup(self, path: Sequence[str], index: str = "cm") -> list[IndexEntry]:
        """The entry at `path` and the entries directly beneath it."""
        found = self._find(tuple(path), index)
        if found is None:
            return []
        main_key = path_key(found.path[:1])
        return [
            entry
            for entry in self._entries_under(index, main_key)
            if entry.path[: len(found.path)] == found.path
            and len(entry.path) <= len(found.path) + 1
        ]

    # The walk asks for the same few thousand paths chart after chart, and a main term like
    # "Fracture" holds thousands of entries to scan: found paths are kept (read-only file).
    @functools.lru_cache(maxsize=32_768)  # noqa: B019 - the store lives as long as its cache
    def _find(self, path: tuple[str, ...], index: str) -> IndexEntry | None:
        """The entry at `path`, each level matched against the variants of the stored one."""
        if not path:
            return None
        wanted = [normalise(part) for part in path[1:]]
        for main_key in self._main_term_keys(path[0], index):
            for entry in self._entries_under(index, main_key):
                if len(entry.path) == len(wanted) + 1 and all(
                    _names(term, level) for term, level in zip(wanted, entry.path[1:], strict=True)
                ):
                    return entry
        return None

    def main_entries(self, term: str, index: str = "cm") -> list[IndexEntry]:
        """Every main term `term` names ("fracture": "Fracture, traumatic", "Fracture, burst")."""
        found = []
        for key in self._main_term_keys(term, index):
            found += [e for e in self._entries_under(index, key) if len(e.path) == 1]
        return found

    def subtree(self, term: str, index: str = "cm") -> list[IndexEntry]:
        """Every entry under the main terms `term` names, at any depth, the main terms too."""
        found: list[IndexEntry] = []
        for key in self._main_term_keys(term, index):
            found += self._entries_under(index, key)
        return found

    def _main_term_keys(self, term: str, index: str) -> list[str]:
        """Keys of the main terms `term` names: "Infarction" is filed as "Infarct, infarction"."""
        if index not in self._aliases:
            aliases: dict[str, list[str]] = {}
            for row in self._rows(
                "SELECT path, path_key FROM index_entries WHERE idx = ? "
                "AND path_key NOT LIKE '%|%'",
                (index,),
            ):
                # Variants of a main term are comma-separated: "Infarct, infarction".
                main_term = json.loads(row["path"])[0]
                # "Fracture, traumatic" is filed under "Fracture" too; "Acroasphyxia, chronic"
                # is not filed under "chronic".
                for variant in {main_term.split(",")[0], *spelling_variants(main_term)}:
                    aliases.setdefault(normalise(variant), []).append(row["path_key"])
                aliases.setdefault(row["path_key"], []).append(row["path_key"])
            self._aliases[index] = aliases
        key = normalise(term)
        if key not in self._aliases[index]:
            # A plural names its main term: "stones" is filed under "Stone", "adenopathies"
            # under "Adenopathy".
            for one in (singular(key), key[:-3] + "y" if key.endswith("ies") else key):
                if one in self._aliases[index]:
                    key = one
                    break
        return list(dict.fromkeys([key, *self._aliases[index].get(key, [])]))

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - the store lives as long as its cache
    def _entries_under(self, index: str, main_key: str) -> tuple[IndexEntry, ...]:
        rows = self._rows(
            "SELECT * FROM index_entries WHERE idx = ? AND (path_key = ? OR "
            "(path_key > ? AND path_key < ?))",
            (index, main_key, main_key + "|", main_key + "|\uffff"),
        )
        return tuple(map(_entry, rows))

    @functools.lru_cache(maxsize=8192)  # noqa: B019 - the store lives as long as its cache
    def resolve_see(self, reference: str, index: str = "cm", _hops: int = 0) -> IndexEntry | None:
        """The index entry a "see" / "see also" reference points to, if it exists.

        References name a term by one of its variants ("Infarction, myocardium" for the
        entry "Infarct, infarction" > "myocardium, myocardial"), so each level is matched
        against the variants of the stored level. An entry that is itself only a reference
        is followed on ("hip: see Fracture, femur, neck", which says "see Fracture, femur,
        upper end, neck"), a few hops at most."""
        for split in _comma_splits(reference):
            for levels in {split, _connectors_apart(split)}:
                entry = self._find(levels, index)
                if entry is None:
                    continue
                if entry.code is None and entry.see and _hops < _MAX_SEE_HOPS:
                    return self.resolve_see(entry.see, index, _hops + 1) or entry
                return entry
        return None

    def table_lookup(self, path: Sequence[str], table: str) -> TableRow | None:
        rows = self._rows(
            "SELECT * FROM table_rows WHERE tbl = ? AND path_key = ?", (table, path_key(path))
        )
        return _table_row(rows[0]) if rows else None

    def table_children(self, path: Sequence[str], table: str) -> list[TableRow]:
        """The rows one level below `path` in a table ("breast" > "upper-outer quadrant")."""
        key = path_key(path)
        rows = self._rows(
            "SELECT * FROM table_rows WHERE tbl = ? AND path_key LIKE ?", (table, key + "|%")
        )
        return [r for r in map(_table_row, rows) if len(r.path) == len(path) + 1]

    def pcs_titles(self, operation: str) -> tuple[CodeRecord, ...]:
        """Every billable PCS code whose title begins with the root operation `operation`
        ("Resection" -> "Resection of Appendix, ...")."""
        rows = self._code_rows(
            "system = 'pcs' AND billable = 1 AND title LIKE ?", (operation + " %",), None
        )
        return tuple(_code(r) for r in rows)

    def table_rows_named(self, level: str, table: str) -> list[TableRow]:
        """Every row of a table whose last level is `level`, at any depth ("colon" alone and
        "intestine, intestinal > large > colon")."""
        rows = self._rows(
            "SELECT * FROM table_rows WHERE tbl = ? AND (path_key LIKE ? OR path_key = ?)",
            (table, "%|" + normalise(level), normalise(level)),
        )
        return [_table_row(r) for r in rows]

    def phrase_codes(self, phrase: str, year: int | None = None) -> list[tuple[str, str]]:
        """(code, source id) of the titles, inclusion terms and index paths reading `phrase`,
        kept to the codes of fiscal `year`."""
        key = normalise(phrase)
        overlay = self._overlay_year(year)
        if overlay is None:
            rows = self._rows("SELECT code, source_id FROM phrases WHERE phrase = ?", (key,))
            return [(r["code"], r["source_id"]) for r in rows]
        rows = self._rows(
            "SELECT code, source_id FROM (SELECT code, source_id FROM phrases WHERE phrase = ? "
            "UNION ALL SELECT code, source_id FROM year_phrases WHERE year = ? AND phrase = ?) "
            "WHERE code NOT IN (SELECT code FROM code_overlay WHERE year = ? AND NOT present)",
            (key, overlay, key, overlay),
        )
        return [(r["code"], r["source_id"]) for r in rows]

    def guideline(self, section_id: str, system: str = "cm") -> Guideline | None:
        rows = self._rows(
            "SELECT * FROM guidelines WHERE system = ? AND section_id = ?", (system, section_id)
        )
        if not rows:
            return None
        r = rows[0]
        return Guideline(r["system"], r["section_id"], r["title"], r["text"])

    def guidelines(self, system: str | None = None) -> list[Guideline]:
        sql, params = "SELECT * FROM guidelines", tuple[str, ...]()
        if system:
            sql, params = sql + " WHERE system = ?", (system,)
        return [
            Guideline(r["system"], r["section_id"], r["title"], r["text"])
            for r in self._rows(sql, params)
        ]

    def source_exists(self, source_id: str, year: int | None = None) -> bool:
        """Whether a citation's source id resolves to a record of this KB version (a code
        citation: to a code of fiscal `year`)."""
        kind, _, key = source_id.partition(":")
        year = self.bound_year if year is None else year
        if year is not None and kind in ("tabular", "pcs_table"):
            return self.get(key, "cm" if kind == "tabular" else "pcs", year) is not None
        queries = {
            "tabular": "SELECT 1 FROM codes WHERE code = ? AND system = 'cm'",
            "pcs_table": "SELECT 1 FROM codes WHERE code = ? AND system = 'pcs'",
            "index": "SELECT 1 FROM index_entries WHERE source_id = ?",
            "table": "SELECT 1 FROM table_rows WHERE source_id = ?",
            "guideline": "SELECT 1 FROM guidelines WHERE source_id = ?",
            "pcs_definition": "SELECT 1 FROM pcs_definitions WHERE source_id = ?",
        }
        if kind not in queries:
            return False
        value = key if kind in ("tabular", "pcs_table") else source_id
        return bool(self._rows(queries[kind], (value,)))

    @functools.cached_property
    def has_mce(self) -> bool:
        """Whether this KB holds MCE lists (versions built before they were added do not)."""
        return bool(self._rows("SELECT 1 FROM sqlite_master WHERE name = 'mce_edits'"))

    def mce_edits(self, code: str, code_type: str | None = None) -> list[str]:
        """The Medicare Code Editor edit types listed for `code` (dotted or not); `code_type`
        "D" or "P" keeps to diagnosis or procedure lists."""
        if not self.has_mce:
            return []
        sql, params = (
            "SELECT DISTINCT edit_type FROM mce_edits WHERE code = ?",
            [code.replace(".", "").strip().upper()],
        )
        if code_type:
            sql, params = sql + " AND code_type = ?", [*params, code_type]
        return [r["edit_type"] for r in self._rows(sql + " ORDER BY edit_type", params)]

    def counts(self) -> dict[str, int]:
        def one(sql: str) -> int:
            return int(self._rows(sql)[0][0])

        return {
            "cm_codes": one("SELECT count(*) FROM codes WHERE system = 'cm'"),
            "cm_billable": one("SELECT count(*) FROM codes WHERE system = 'cm' AND billable"),
            "cm_index_entries": one("SELECT count(*) FROM index_entries WHERE idx = 'cm'"),
            "eindex_entries": one("SELECT count(*) FROM index_entries WHERE idx = 'eindex'"),
            "neoplasm_rows": one("SELECT count(*) FROM table_rows WHERE tbl = 'neoplasm'"),
            "drug_rows": one("SELECT count(*) FROM table_rows WHERE tbl = 'drug'"),
            "pcs_codes": one("SELECT count(*) FROM codes WHERE kind = 'pcs_code'"),
            "pcs_index_entries": one("SELECT count(*) FROM index_entries WHERE idx = 'pcs'"),
            "pcs_definitions": one("SELECT count(*) FROM pcs_definitions"),
            "cm_guideline_sections": one("SELECT count(*) FROM guidelines WHERE system = 'cm'"),
            "pcs_guideline_sections": one("SELECT count(*) FROM guidelines WHERE system = 'pcs'"),
            "mce_edits": one("SELECT count(*) FROM mce_edits") if self.has_mce else 0,
        }

    def close(self) -> None:
        self._db.close()
