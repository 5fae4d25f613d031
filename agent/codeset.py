"""Tabular helpers the lookups share."""

from __future__ import annotations

from retrieval.lexical import tokenize
from retrieval.records import CodeRecord
from retrieval.store import KnowledgeStore


def _default_rank(child: CodeRecord) -> tuple[int, str]:
    """Initial encounter (A) first, then the ".9"-style unspecified / without-complication
    code the Index itself defaults to, then any "unspecified" title."""
    title = child.title.lower()
    if len(child.code) == 8 and child.code.endswith("A"):
        return (0, child.code)
    if child.code.endswith("9") and ("unspecified" in title or "without" in title):
        return (1, child.code)
    if title.endswith("unspecified") or ", unspecified" in title:
        return (2, child.code)
    if child.code.endswith("9") or child.code.endswith("0"):
        return (3, child.code)
    return (4, child.code)


def _documented_child(
    children: list[CodeRecord], parent: CodeRecord, context: set[str]
) -> CodeRecord | None:
    """The child whose distinguishing words ("right", "closed") the chart documents."""
    parent_words = set(tokenize(parent.title))
    best: tuple[int, CodeRecord] | None = None
    for child in children:
        extra = set(tokenize(child.title)) - parent_words
        if extra and extra <= context and (best is None or len(extra) > best[0]):
            best = (len(extra), child)
    return best[1] if best else None


def default_billable(
    store: KnowledgeStore, code: str, system: str = "cm", context: set[str] | None = None
) -> CodeRecord | None:
    """The billable code a heading leads to: the child the chart's words document
    (laterality, encounter), else the default a coder takes without more detail: initial
    encounter (A), then the unspecified code."""
    record = store.get(code.rstrip("-").rstrip("."), system)
    for _ in range(4):
        if record is None or record.billable:
            return record
        children = store.children(record.code, record.system)
        if not children:
            return None
        documented = _documented_child(children, record, context) if context else None
        record = documented or min(children, key=_default_rank)
    return record if record is not None and record.billable else None
