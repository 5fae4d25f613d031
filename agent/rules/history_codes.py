"""What a claim carries for a condition the chart places in the past or in the family.

A resolved condition ("h/o DVT, off anticoagulation", "history of breast cancer, completed
treatment") is not coded as current: its personal-history code is (Z85-Z87, I25.2 for an old
myocardial infarction; I.C.21.c.4). A relative's condition is the family-history code
(Z80-Z84). A chronic condition listed in the past history that the patient still has and is
treated for (hypertension, diabetes, atrial fibrillation on apixaban, COPD, CKD) is current
and is coded as such: "history of" in a problem list does not resolve it.

The history code is found as a coder does: the Alphabetic Index under History, personal (or
family), by the condition's words; then, for wordings the index files elsewhere ("cancer":
see Neoplasm, malignant), hybrid search among the history categories.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from agent.codeset import default_billable
from agent.index_walk import context_words, documented_words, walk, walk_keys
from agent.models import Citation
from retrieval.records import CodeRecord
from retrieval.search import HybridSearcher
from retrieval.store import KnowledgeStore

HistoryKind = Literal["personal", "family"]

# Conditions that last: listed in a past history they are still the patient's (coding
# knowledge; ICD-10-CM category prefixes).
CHRONIC = (
    "B18", "B20", "D50", "D51", "D52", "D53", "D55", "D56", "D57", "D58", "D61", "D63", "D64",
    "D68", "D69.6", "D75", "E03", "E05", "E06", "E07", "E08", "E09", "E10", "E11", "E13",
    "E16.2", "E21", "E22", "E23", "E27", "E28", "E29", "E34", "E66", "E78", "E83", "E84", "E88",
    "F01", "F02", "F03", "F10.2", "F11.2", "F12.2", "F13.2", "F14.2", "F15.2", "F17.2", "F20",
    "F25", "F31", "F32", "F33", "F34", "F40", "F41", "F42", "F43.1", "F50", "F60", "F70", "F84",
    "F90", "G10", "G12", "G20", "G30", "G31", "G35", "G40", "G43", "G47.3", "G47.4", "G62",
    "G70", "G80", "G89", "H25", "H26", "H35", "H40", "H90", "H91", "I05", "I06", "I07", "I08",
    "I10", "I11", "I12", "I13", "I15", "I20", "I25", "I27", "I34", "I35", "I42", "I44", "I45",
    "I47", "I48", "I49", "I50", "I65", "I70", "I73", "I83", "I87", "J30", "J31", "J32", "J41",
    "J42", "J43", "J44", "J45", "J47", "J84", "J96.1", "K21", "K25", "K26", "K27", "K50", "K51",
    "K57", "K58", "K59.0", "K70", "K73", "K74", "K76", "K86", "K90", "L20", "L40", "L70", "L80",
    "M05", "M06", "M08", "M10", "M15", "M16", "M17", "M18", "M19", "M32", "M34", "M35", "M45",
    "M47", "M48", "M50", "M51", "M54", "M79.7", "M81", "N18", "N19", "N31", "N40", "N52", "N80",
    "N81", "Q", "Z21", "Z79", "Z89", "Z90", "Z91", "Z93", "Z94", "Z95", "Z96", "Z97", "Z98", "Z99",
)  # fmt: skip
_PERSONAL = ("Z85", "Z86", "Z87", "Z91.4", "Z92", "I25.2")
_FAMILY = ("Z80", "Z81", "Z82", "Z83", "Z84")
# Words the index files under another main term than the one a chart uses.
_INDEX_WORDING = {"cancer": "malignant neoplasm", "carcinoma": "malignant neoplasm"}


def is_chronic(code: str) -> bool:
    return code.startswith(CHRONIC)


@dataclass(frozen=True)
class HistoryCode:
    record: CodeRecord
    citation: Citation


@lru_cache(maxsize=8192)
def _indexed(
    store: KnowledgeStore, condition: CodeRecord, words: str, kind: HistoryKind
) -> HistoryCode | None:
    """The history code the Alphabetic Index gives (History, personal / family, then the
    condition's words); remembered, since charts repeat their conditions and one another's."""
    wording = " ".join(
        _INDEX_WORDING.get(w.lower(), w) for w in f"{words} {condition.title}".split()
    )
    found = _history_line(store, wording, kind)
    if found is None:
        # The index files some history by the condition's block, not its own words ("MI"
        # in a father: History, family, ischemic heart disease, Z82.49).
        blocks = [r.title for r in store.lineage(condition.code, "cm") if "-" in r.code]
        if blocks:
            found = _history_line(store, f"{wording} {blocks[0]}", kind)
    return found


def _history_line(store: KnowledgeStore, wording: str, kind: HistoryKind) -> HistoryCode | None:
    prefixes = _PERSONAL if kind == "personal" else _FAMILY
    context = context_words(wording)
    context.update(dict.fromkeys(walk_keys(kind), 3))
    path = walk(store, "history", context)
    if path is None:
        return None
    record = default_billable(store, path.code, context=documented_words(wording, kind))
    if record is None or not record.code.startswith(prefixes):
        return None
    label = f"Index: {' > '.join(path.entry.path)} -> {path.code}"
    return HistoryCode(record, Citation(source_id=path.entry.source_id, label=label))


def history_code(
    searcher: HybridSearcher,
    condition: CodeRecord,
    words: str,
    kind: HistoryKind,
    *,
    search: bool = True,
) -> HistoryCode | None:
    """The personal- or family-history code for `condition` (what the chart's `words`
    name), or None when the code set has none that fits; `search=False` reads the index
    only (cheap enough for every candidate lookup)."""
    store = searcher.store
    prefixes = _PERSONAL if kind == "personal" else _FAMILY
    found = _indexed(store, condition, words.lower(), kind)
    if found is not None:
        return found
    if not search:
        return None
    query = f"{kind} history of {_INDEX_WORDING.get(words.lower(), words)} {condition.title}"
    for hit in searcher.search(query[:500], k=30, system="cm", billable_only=True):
        record = store.get(hit.code, "cm") if hit.code else None
        if record is not None and record.code.startswith(prefixes):
            label = f"Search match: {record.title}"
            return HistoryCode(record, Citation(source_id=hit.source, label=label))
    return None
