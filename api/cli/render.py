"""Printing a code record for people (Rich) or programs (JSON)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from api.cli.common import console

if TYPE_CHECKING:
    from retrieval.records import CodeRecord
    from retrieval.store import KnowledgeStore


def print_code_record(
    store: KnowledgeStore, record: CodeRecord, as_json: bool, year: int | None = None
) -> None:
    from rich.table import Table

    from api.code_records import code_record_dict

    data = code_record_dict(store, record, year)
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
