"""Tabular helpers the lookups share."""

from __future__ import annotations

from retrieval.records import CodeRecord
from retrieval.store import KnowledgeStore


def default_billable(store: KnowledgeStore, code: str, system: str = "cm") -> CodeRecord | None:
    """The billable code a heading defaults to: its "unspecified" child, else its first child.

    Seven-character categories default to A (initial encounter), the usual inpatient case.
    """
    record = store.get(code.rstrip("-").rstrip("."), system)
    for _ in range(4):
        if record is None or record.billable:
            return record
        children = store.children(record.code, record.system)
        if not children:
            return None
        unspecified = [c for c in children if "unspecified" in c.title.lower()]
        initial = [c for c in children if c.code.endswith("A") and len(c.code) == 8]
        record = (initial or unspecified or children)[0]
    return record if record is not None and record.billable else None
