"""Tabular helpers the lookups share."""

from __future__ import annotations

from collections import Counter

from retrieval.lexical import tokenize
from retrieval.records import CodeRecord
from retrieval.store import KnowledgeStore


def _default_rank(child: CodeRecord) -> tuple[int, str]:
    """Initial encounter (A) first, then the ".9"-style unspecified / without-complication
    code the Index itself defaults to, then any "unspecified" title (an undocumented side is
    the unspecified one, never right or left); a fracture not documented as displaced or not
    is displaced (I.C.19.c.1), which the codes list first."""
    title = child.title.lower()
    if len(child.code) == 8 and child.code.endswith("A"):
        return (0, child.code)
    if child.code.endswith("9") and ("unspecified" in title or "without" in title):
        return (1, child.code)
    if "not specified as" in title:  # A04.72 "..., not specified as recurrent"
        return (1, child.code)
    if "unspecified" in title and not title.startswith("unspecified"):
        return (2, child.code)
    if child.code.endswith("9") or child.code.endswith("0"):
        return (3, child.code)
    return (4, child.code)


# Words a coder may take without documentation: the default of their axis (displaced,
# unspecified side, initial encounter for a closed fracture).
_DEFAULTABLE = frozenset({"displaced", "unspecified", "initial", "encounter", "for", "closed"})


def _by_dominance(
    children: list[CodeRecord], context: set[str]
) -> tuple[list[CodeRecord], set[str]]:
    """The children, and the chart's words, for the dominance of the side a stroke's deficit
    affects (I.C.6.a): as documented; else the right side is the dominant one and the left
    the non-dominant one (handedness written elsewhere in the chart is not read here)."""
    if context & {"dominant", "nondominant"}:
        return children, context
    left, right = "left" in context, "right" in context
    if left == right:
        return children, context

    def nondominant(child: CodeRecord) -> bool:
        words = set(tokenize(child.title))
        return "nondominant" in words or {"non", "dominant"} <= words

    kept = [c for c in children if "dominant" not in c.title.lower() or nondominant(c) == left]
    return kept or children, context | {"dominant", "nondominant", "non"}


def _documented_child(
    children: list[CodeRecord], parent: CodeRecord, context: set[str]
) -> CodeRecord | None:
    """The child whose distinguishing words ("right", "nondisplaced") the chart documents.
    Words every child adds ("fibula" under "lateral malleolus") distinguish nothing; a child
    needing an undocumented word beyond an axis default is never taken."""
    parent_words = set(tokenize(parent.title))
    extras = {child.code: set(tokenize(child.title)) - parent_words for child in children}
    shared = set.intersection(*extras.values()) if extras else set()
    # A word only one child adds ("bilateral") says more than one several share ("eye" in
    # "right eye", "left eye", "unspecified eye").
    counts = Counter(word for words in extras.values() for word in words - shared)
    eligible: list[tuple[int, int, tuple[int, str], CodeRecord]] = []
    for child in children:
        distinguishing = extras[child.code] - shared
        documented = distinguishing & context
        if documented and distinguishing - context <= _DEFAULTABLE:
            unique = sum(1 for word in documented if counts[word] == 1)
            eligible.append((-unique, -len(documented), _default_rank(child), child))
    return min(eligible, key=lambda item: item[:3])[3] if eligible else None


def default_billable(
    store: KnowledgeStore,
    code: str,
    system: str = "cm",
    context: set[str] | None = None,
    denied: frozenset[str] = frozenset(),
) -> CodeRecord | None:
    """The billable code a heading leads to: the child the chart's words document
    (laterality, encounter), else the default a coder takes without more detail: initial
    encounter (A), then the unspecified code; never a child that adds a word the chart
    denies ("no pneumonia": not J10.0 "... with pneumonia")."""
    record = store.get(code.rstrip("-").rstrip("."), system)
    for _ in range(4):
        if record is None or record.billable:
            return record
        children = store.children(record.code, record.system)
        if not children:
            return None
        if denied:
            parent_words = set(tokenize(record.title))
            allowed = [c for c in children if not (set(tokenize(c.title)) - parent_words) & denied]
            children = allowed or children
        if context and any("dominant" in c.title.lower() for c in children):
            children, context = _by_dominance(children, context)
        documented = _documented_child(children, record, context) if context else None
        record = documented or min(children, key=_default_rank)
    return record if record is not None and record.billable else None
