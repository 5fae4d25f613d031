"""Printing a code record for people (Rich) or programs (JSON)."""

from __future__ import annotations

import json

from rich.table import Table

from api.cli.common import console
from retrieval.records import CodeRecord
from retrieval.store import KnowledgeStore


def code_record_dict(store: KnowledgeStore, record: CodeRecord) -> dict[str, object]:
    notes = [
        {
            "kind": n.kind,
            "text": n.text,
            "defined_at": n.defined_at,
            "inherited": n.defined_at != record.code,
        }
        for n in store.notes_with_inherited(record.code)
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


def print_code_record(store: KnowledgeStore, record: CodeRecord, as_json: bool) -> None:
    data = code_record_dict(store, record)
    if as_json:
        print(json.dumps(data, indent=2))
        return
    billable = "[green]billable[/]" if record.billable else "[yellow]not billable[/]"
    console.print(f"[bold]{record.code}[/] {record.title}  ({billable}, {record.kind})")
    for term in record.inclusion_terms:
        console.print(f"  inclusion term: {term}", highlight=False)
    notes = Table("note", "text", "from", show_lines=False)
    for note in data["notes"]:  # type: ignore[attr-defined]
        origin = f"inherited from {note['defined_at']}" if note["inherited"] else "this code"
        notes.add_row(note["kind"], note["text"], origin)
    if notes.row_count:
        console.print(notes)
    for entry in data["index_entries"]:  # type: ignore[attr-defined]
        console.print(f"  index ({entry['index']}): {' > '.join(entry['path'])}", highlight=False)
    for entry in data["table_entries"]:  # type: ignore[attr-defined]
        console.print(
            f"  table of {entry['table']}s: {' > '.join(entry['path'])} [{entry['column']}]",
            highlight=False,
        )
