"""What goes into the lexical and vector indexes, read back from a freshly written store."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path

from retrieval.lexical import LexicalDoc
from retrieval.store import KnowledgeStore
from retrieval.vectors import VectorDoc


def _rows(store_path: Path, sql: str) -> Iterator[sqlite3.Row]:
    db = sqlite3.connect(f"file:{store_path}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    try:
        yield from db.execute(sql)
    finally:
        db.close()


def _code_rows(store: KnowledgeStore, where: str, year: int | None) -> Iterable[sqlite3.Row]:
    """The base year streamed from its own connection (as always); a later year through the
    store's overlay."""
    if year is None:
        return _rows(
            store.path,
            "SELECT code, system, title, billable, kind, chapter, inclusion_terms FROM codes "
            f"WHERE {where}",
        )
    return store.code_rows(where, year)


def lexical_docs(store: KnowledgeStore, year: int | None = None) -> dict[str, list[LexicalDoc]]:
    """Per system: code titles, inclusion terms, index paths, table cells, guidelines; for a
    fiscal `year` after the base, that year's codes (added ones in, absent ones out, billable
    as that year has it) and the former titles of revised codes."""
    docs: dict[str, list[LexicalDoc]] = {"cm": [], "pcs": []}
    codes: dict[str, tuple[bool, str | None, str]] = {}
    for r in _code_rows(store, "kind NOT IN ('chapter', 'block')", year):
        billable, chapter = bool(r["billable"]), r["chapter"]
        codes[r["code"]] = (billable, chapter, r["system"])
        source = f"{'tabular' if r['system'] == 'cm' else 'pcs_table'}:{r['code']}"
        docs[r["system"]].append(LexicalDoc(r["code"], source, r["title"], billable, chapter))
        for term in json.loads(r["inclusion_terms"]):
            docs[r["system"]].append(LexicalDoc(r["code"], source, term, billable, chapter))
    if year is not None:
        for change in store.changes(store.base_year, year):
            if change.action != "revised" or change.code not in codes:
                continue
            billable, chapter, system = codes[change.code]
            source = f"{'tabular' if system == 'cm' else 'pcs_table'}:{change.code}"
            # The official former title, and the base year's own where it differs (PCS
            # titles here are composed from the axis values).
            base = store.get(change.code, system)
            for former in {change.former_title, base.title if base else None} - {None}:
                assert former is not None
                docs[system].append(LexicalDoc(change.code, source, former, billable, chapter))
    absent = store.absent_codes(year)
    for entry_doc in _index_docs(store, codes):
        if entry_doc.code in absent:
            continue
        docs["pcs" if entry_doc.source_id.startswith("index:pcs:") else "cm"].append(entry_doc)
    for r in _rows(
        store.path,
        "SELECT t.source_id, t.tbl, t.path, c.col, c.code "
        "FROM table_cells c JOIN table_rows t USING (source_id)",
    ):
        if r["code"] in absent:
            continue
        billable, chapter, _ = codes.get(r["code"], (False, None, "cm"))
        prefix = "neoplasm " if r["tbl"] == "neoplasm" else ""
        text = f"{prefix}{' '.join(json.loads(r['path']))} {r['col']}"
        docs["cm"].append(LexicalDoc(r["code"], r["source_id"], text, billable, chapter))
    for guideline in store.guidelines():
        text = f"{guideline.title} {guideline.text}"
        docs[guideline.system].append(LexicalDoc(None, guideline.source_id, text, False))
    return docs


def _index_docs(
    store: KnowledgeStore, codes: dict[str, tuple[bool, str | None, str]]
) -> Iterator[LexicalDoc]:
    """Index lines with a code, and "see" lines resolved to the code their target carries."""
    for r in _rows(store.path, "SELECT * FROM index_entries"):
        path = json.loads(r["path"])
        modifiers = " ".join(m for m in json.loads(r["modifiers"]) if m)
        code = r["code"]
        if code is None and r["see"] and r["idx"] != "pcs":
            target = store.resolve_see(r["see"], r["idx"])
            code = target.code if target else None
        if code is None:
            continue
        billable, chapter, _ = codes.get(code, (False, None, "cm"))
        text = f"{' '.join(path)} {modifiers}".strip()
        yield LexicalDoc(code, r["source_id"], text, billable, chapter)


def vector_docs(store: KnowledgeStore, pcs_body_parts: list[tuple[str, str]]) -> list[VectorDoc]:
    """Texts worth a vector: CM titles and inclusion terms (not the 51k 7th-character
    expansions, whose meaning is their parent's plus an encounter type), PCS body-part groups,
    and guideline sections."""
    docs: list[VectorDoc] = []
    for r in _rows(
        store.path,
        "SELECT code, title, billable, chapter, inclusion_terms FROM codes "
        "WHERE system = 'cm' AND kind NOT IN ('chapter', 'block', "
        "'extension')",
    ):
        source = f"tabular:{r['code']}"
        billable = bool(r["billable"])
        docs.append(VectorDoc(r["code"], source, r["title"], "cm", billable, r["chapter"]))
        for term in json.loads(r["inclusion_terms"]):
            docs.append(VectorDoc(r["code"], source, term, "cm", billable, r["chapter"]))
    for key, text in pcs_body_parts:
        docs.append(VectorDoc(key, f"pcs_table:{key[:3]}", text, "pcs", False, key[0]))
    for g in store.guidelines():
        text = f"{g.title}. {g.text}"[:1000]
        docs.append(VectorDoc(None, g.source_id, text, g.system, False))
    return docs


def year_vector_docs(store: KnowledgeStore, year: int) -> list[VectorDoc]:
    """Texts fiscal `year` adds to what the base year embeds: the titles of codes added or
    revised up to that year (every added PCS code too, so that a new procedure is found by
    meaning), not 7th-character expansions. Former titles are the base year's, embedded."""
    docs: list[VectorDoc] = []
    for change in store.changes(store.base_year, year):
        if change.action == "deleted":
            continue
        record = store.get(change.code, change.system, year)
        if record is None or record.kind == "extension":
            continue
        docs.append(
            VectorDoc(
                record.code,
                record.source_id,
                record.title,
                record.system,
                record.billable,
                record.chapter,
            )
        )
    return docs
