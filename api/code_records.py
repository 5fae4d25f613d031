"""A code record as JSON: what `medcoder kb code --json` prints and `GET /codes/{code}` returns."""

from __future__ import annotations

from retrieval.records import CodeRecord
from retrieval.store import KnowledgeStore


def code_record_dict(
    store: KnowledgeStore, record: CodeRecord, year: int | None = None
) -> dict[str, object]:
    """`record` as JSON, its inherited notes those of fiscal `year` (None: the base year)."""
    notes = [
        {
            "kind": n.kind,
            "text": n.text,
            "defined_at": n.defined_at,
            "inherited": n.defined_at != record.code,
        }
        for n in store.notes_with_inherited(record.code, year=year)
    ]
    entries = [
        {"index": e.index, "path": list(e.path), "source": e.source_id}
        for e in store.index_entries_for(record.code)
    ]
    table_rows = [
        {"table": row.table, "path": list(row.path), "column": column, "source": row.source_id}
        for row, column in store.table_rows_for(record.code)
    ]
    return {
        "code": record.code,
        "system": record.system,
        "title": record.title,
        "billable": record.billable,
        "kind": record.kind,
        "parent": record.parent,
        "chapter": record.chapter,
        "inclusion_terms": list(record.inclusion_terms),
        "notes": notes,
        "index_entries": entries,
        "table_entries": table_rows,
        "source": record.source_id,
    }
