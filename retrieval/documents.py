"""What goes into the lexical and vector indexes, read back from a freshly written store."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
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


def lexical_docs(store: KnowledgeStore) -> dict[str, list[LexicalDoc]]:
    """Per system: code titles, inclusion terms, index paths, table cells, guidelines."""
    docs: dict[str, list[LexicalDoc]] = {"cm": [], "pcs": []}
    codes: dict[str, tuple[bool, str | None, str]] = {}
    for r in _rows(
        store.path,
        "SELECT code, system, title, billable, chapter, inclusion_terms "
        "FROM codes WHERE kind NOT IN ('chapter', 'block')",
    ):
        billable, chapter = bool(r["billable"]), r["chapter"]
        codes[r["code"]] = (billable, chapter, r["system"])
        source = f"{'tabular' if r['system'] == 'cm' else 'pcs_table'}:{r['code']}"
        docs[r["system"]].append(LexicalDoc(r["code"], source, r["title"], billable, chapter))
        for term in json.loads(r["inclusion_terms"]):
            docs[r["system"]].append(LexicalDoc(r["code"], source, term, billable, chapter))
    for entry_doc in _index_docs(store, codes):
        docs["pcs" if entry_doc.source_id.startswith("index:pcs:") else "cm"].append(entry_doc)
    for r in _rows(
        store.path,
        "SELECT t.source_id, t.tbl, t.path, c.col, c.code "
        "FROM table_cells c JOIN table_rows t USING (source_id)",
    ):
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
