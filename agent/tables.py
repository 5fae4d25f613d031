"""Coder lookups beyond the index line: Table of Neoplasms, Table of Drugs, PCS tables.

The Alphabetic Index sends "carcinoma of X" to the Neoplasm table and "poisoning by Y" to the
Drug table; which column applies depends on words around the mention (metastatic, benign,
adverse effect, intentional), so these lookups read the mention's sentence.
"""

from __future__ import annotations

import functools
import re

from agent.codeset import default_billable
from agent.models import Candidate, CandidateSource, Citation, Mention
from agent.procedures import build_codes, converted_inspection, documented_approach
from retrieval.records import CodeRecord, TableRow
from retrieval.store import KnowledgeStore
from retrieval.text import normalise

NEOPLASM_WORDS = re.compile(
    r"\b(cancer|carcinoma|adenocarcinoma|neoplasm|tumou?r|malignan\w*|metasta\w*|sarcoma|"
    r"adenoma|mass)\b",
    re.IGNORECASE,
)
DRUG_WORDS = re.compile(
    r"\b(poisoning|overdose|intoxication|toxicity|adverse|side effect|reaction to|"
    r"underdos\w*)\b",
    re.IGNORECASE,
)


# Words that say a neoplasm is malignant; without one (or another behaviour), a "tumor",
# "neoplasm" or "growth" of a site is "Neoplasm, unspecified behavior, by site" (the Index:
# "Tumor - see Neoplasm, unspecified behavior, by site").
_MALIGNANT = re.compile(
    r"cancer|carcinom|malignan|sarcom|lymphom|melanom|blastom|leukemi|myelom|mesotheliom|"
    r"seminom|gliom|germinom|neuroendocrine|carcinoid",
    re.IGNORECASE,
)
_BEHAVIOUR_UNSTATED = re.compile(r"\b(?:tumou?rs?|neoplasms?|neoplasia|growths?)\b", re.IGNORECASE)


def neoplasm_column(sentence: str) -> str:
    lowered = sentence.lower()
    if "metasta" in lowered or "secondary" in lowered:
        return "Malignant Secondary"
    if "in situ" in lowered:
        return "Ca in situ"
    if "benign" in lowered or "adenoma" in lowered:
        return "Benign"
    if _BEHAVIOUR_UNSTATED.search(sentence) and not _MALIGNANT.search(sentence):
        return "Unspecified Behavior"
    return "Malignant Primary"


def drug_column(sentence: str) -> str:
    lowered = sentence.lower()
    if "adverse" in lowered or "side effect" in lowered or "reaction to" in lowered:
        return "Adverse effect"
    if "underdos" in lowered:
        return "Underdosing"
    if "suicid" in lowered or "self-harm" in lowered or "intentional" in lowered:
        return "Poisoning Intentional self-harm"
    if "assault" in lowered:
        return "Poisoning Assault"
    return "Poisoning Accidental (unintentional)"


def _words(sentence: str) -> list[str]:
    return normalise(sentence).split()


def _table_candidate(
    record: CodeRecord, source_id: str, label: str, index: int, score: float
) -> Candidate:
    citations = [
        Citation(source_id=source_id, label=label),
        Citation(source_id=record.source_id, label=f"Tabular: {record.code} {record.title}"),
    ]
    return Candidate(
        code=record.code,
        system="cm",
        title=record.title,
        billable=record.billable,
        score=score,
        via="table",
        mention_index=index,
        citations=citations,
    )


def _sub_site(
    store: KnowledgeStore, row: TableRow, column: str, context: set[str], deeper: bool = False
) -> TableRow:
    """The most specific sub-site row the sentence names ("breast" > "upper-outer quadrant"),
    read down as long as a child's words are all in the sentence and it has a code. With
    `deeper`, a site filed again under another row ("colon" and "intestine > large > colon",
    where "sigmoid" is) is read there when its own row names nothing more."""
    found = _named_below(store, row, column, context)
    if found is not row or not deeper:
        return found
    for other in store.table_rows_named(row.path[-1], "neoplasm"):
        if other.path != row.path and other.cells.get(column):
            refined = _named_below(store, other, column, context)
            if refined is not other:
                return refined
    return row


def _named_below(store: KnowledgeStore, row: TableRow, column: str, context: set[str]) -> TableRow:
    for _ in range(3):
        named = [
            child
            for child in store.table_children(row.path, "neoplasm")
            if child.cells.get(column) and (words := set(_words(child.path[-1].replace("-", " "))))
            and words <= context
        ]  # fmt: skip
        if not named:
            return row
        row = max(named, key=lambda child: len(_words(child.path[-1])))
    return row


def _first_row_hit(
    store: KnowledgeStore,
    table: str,
    paths: list[list[str]],
    column: str,
    index: int,
    context: set[str],
) -> Candidate | None:
    """The first row (most specific phrase first) with a code in `column`."""
    name = "Table of Neoplasms" if table == "neoplasm" else "Table of Drugs"
    for path in paths:
        row = store.table_lookup(path, table)
        if row is not None and table == "neoplasm":
            row = _sub_site(store, row, column, context, deeper=True)
        code = row.cells.get(column) if row else None
        record = default_billable(store, code, context=context) if code else None
        if row and record:
            label = f"{name}: {' > '.join(row.path)} [{column}] -> {code}"
            return _table_candidate(record, row.source_id, label, index, 0.97)
    return None


def table_candidates(
    store: KnowledgeStore, mention: Mention, sentence: str, index: int
) -> list[Candidate]:
    """Neoplasm and Drug table codes for a mention whose wording points to those tables."""
    words = _words(sentence)
    phrases = [" ".join(words[i : i + n]) for n in (2, 1) for i in range(len(words) - n + 1)]
    context = set(_words(sentence.replace("-", " ")))
    hits = []
    if NEOPLASM_WORDS.search(mention.text):
        hit = None
        part = neoplasm_part(sentence, mention.text)
        if part != sentence:
            # "adenocarcinoma of the sigmoid colon with metastases to the liver": each
            # neoplasm is read in its own part first (C18.7, then C78.7 for the metastases).
            hit = _neoplasm_hit(store, part, index)
        hits.append(hit or _neoplasm_hit(store, sentence, index))
    if DRUG_WORDS.search(sentence):
        substances = [[phrase] for phrase in phrases]
        hits.append(
            _first_row_hit(store, "drug", substances, drug_column(sentence), index, context)
        )
    return [hit for hit in hits if hit is not None]


# Where one neoplasm's words end and the next one's begin.
_NEOPLASM_PARTS = re.compile(r"\bwith\b|\band\b|;", re.IGNORECASE)


def neoplasm_part(sentence: str, mention: str) -> str:
    """The part of the sentence that holds the mention, between "with", "and" or ";"."""
    at = sentence.lower().find(mention.lower())
    if at < 0:
        return sentence
    start, end = 0, len(sentence)
    for found in _NEOPLASM_PARTS.finditer(sentence):
        if found.end() <= at:
            start = found.end()
        elif found.start() >= at + len(mention):
            end = found.start()
            break
    return sentence[start:end]


def _neoplasm_hit(store: KnowledgeStore, text: str, index: int) -> Candidate | None:
    words = _words(text)
    phrases = [" ".join(words[i : i + n]) for n in (2, 1) for i in range(len(words) - n + 1)]
    sites = [["Neoplasm, neoplastic", phrase] for phrase in phrases]
    context = set(_words(text.replace("-", " ")))
    return _first_row_hit(store, "neoplasm", sites, neoplasm_column(text), index, context)


@functools.lru_cache(maxsize=20_000)
def _title_words(title: str) -> frozenset[str]:
    return frozenset(normalise(title).split())


def pcs_candidates(
    store: KnowledgeStore, mention: Mention, sentence: str, index: int
) -> list[Candidate]:
    """PCS codes under the table the PCS index names, ranked by overlap with the sentence."""
    # The main term is the whole mention, else its head word ("Laparoscopic appendectomy":
    # the index lists Appendectomy; the approach is read from the sentence below).
    entries = store.index_lookup([mention.text], "pcs")
    for word in reversed(mention.text.split()) if not entries else ():
        entries = store.index_lookup([word], "pcs")
        if entries:
            break
    approach = documented_approach(sentence)
    context = set(_words(sentence))
    scored: list[tuple[float, CodeRecord, str, str]] = []
    for entry in entries:
        if not entry.code:
            continue
        for record in store.codes_with_prefix(entry.code, 400):
            if not record.billable or record.system != "pcs":
                continue
            title_words = _title_words(record.title)
            overlap = len(title_words & context) / max(len(title_words), 1)
            # Undocumented extras (a device, "Hand-Assisted") make a code less likely.
            overlap -= 0.02 * len(title_words - context)
            # "-ectomy" of an organ is Resection unless the chart says partial (PCS B3.8).
            if record.code[2] == "T" and "partial" not in context:
                overlap += 0.3
            if approach:
                overlap += 0.5 if f"{approach.lower()} approach" in record.title.lower() else -0.5
            scored.append((overlap, record, entry.source_id, " > ".join(entry.path)))
    scored.sort(key=lambda item: (-item[0], item[1].code))
    found = []
    for rank, (_, record, source_id, path) in enumerate(scored[:2]):
        label = f"PCS Index: {path} -> table {record.code[:3]}"
        citations = [
            Citation(source_id=source_id, label=label),
            Citation(source_id=record.source_id, label=f"PCS: {record.code} {record.title}"),
        ]
        found.append(_pcs_candidate(record, 0.9 - 0.1 * rank, "index", index, citations))
    return found


def built_candidates(
    store: KnowledgeStore, statement: str, sentence: str, index: int
) -> list[Candidate]:
    """PCS codes built axis by axis from what the procedure statement documents."""
    built = build_codes(store, statement, sentence)
    inspection = converted_inspection(store, sentence or statement)
    if inspection is not None:
        # Its own procedure beside the open one, not a runner-up reading of it (B3.2d).
        built.insert(1 if built else 0, (inspection, 1.0))
    found = []
    for rank, (record, score) in enumerate(built):
        # One procedure, one code: the runners-up are there for the coder to pick.
        factor = 1.0 if rank == 0 or record is inspection else 0.6
        label = f"PCS table {record.code[:3]}: {record.title}"
        citations = [Citation(source_id=record.source_id, label=label)]
        found.append(
            _pcs_candidate(record, round(0.9 * score * factor, 4), "table", index, citations)
        )
    return found


def _pcs_candidate(
    record: CodeRecord, score: float, via: CandidateSource, index: int, citations: list[Citation]
) -> Candidate:
    return Candidate(
        code=record.code,
        system="pcs",
        title=record.title,
        billable=True,
        score=score,
        via=via,
        mention_index=index,
        citations=citations,
    )
