"""Look each mention up the way a coder does: Alphabetic Index, then Tabular, then search.

Index path first (main term = a word of the mention, subterms = the rest), following "see"
references; the Tabular then confirms the code and, when the index stops at a heading, the
default (unspecified) billable code beneath it is taken. Hybrid search covers phrasing the
index lacks.
"""

from __future__ import annotations

import numpy as np

from agent.codeset import default_billable
from agent.index_walk import context_words, walk
from agent.lexicon import Lexicon
from agent.models import Candidate, CandidateSource, Chart, Citation, Mention
from agent.tables import pcs_candidates, table_candidates
from retrieval.records import CodeRecord
from retrieval.search import HybridSearcher
from retrieval.store import KnowledgeStore
from retrieval.text import normalise

INDEX_SCORE = 1.0
PHRASE_SCORE = 0.95
# Retrieval alone rarely names the code a coder would pick (measured on CodiEsp train:
# about 1 in 20 search-only proposals were right), so it ranks below the proposal cut-off.
SEARCH_TOP_SCORE = 0.55
SEARCH_DEPTH = 5


def index_candidates(
    store: KnowledgeStore, mention: Mention, index: int, sentence: str
) -> list[Candidate]:
    """Walk the index from each word of the mention (the head noun, last, first)."""
    if mention.kind == "procedure":
        return []
    context = context_words(mention.text, sentence)
    seen: set[str] = set()
    found: list[Candidate] = []
    words = normalise(mention.text).split()
    for rank, word in enumerate(reversed(words)):
        path = walk(store, word, context)
        if path is None:
            continue
        record = default_billable(store, path.code, context=set(context))
        if record is None or record.code in seen:
            continue
        seen.add(record.code)
        # Each subterm the chart supports is more evidence this is the right line.
        score = min(0.99, 0.82 + 0.06 * path.matched_words) - 0.03 * rank
        label = f"Index: {' > '.join(path.entry.path)} -> {path.code}"
        citation = Citation(source_id=path.entry.source_id, label=label)
        found.append(_candidate(record, score, "index", index, [citation]))
    return found


def _candidate(
    record: CodeRecord, score: float, via: CandidateSource, index: int, citations: list[Citation]
) -> Candidate:
    tabular = Citation(source_id=record.source_id, label=f"Tabular: {record.code} {record.title}")
    return Candidate(
        code=record.code,
        system=record.system,
        title=record.title,
        billable=record.billable,
        score=round(score, 4),
        via=via,
        mention_index=index,
        citations=[*citations, tabular],
    )


PROCEDURE_CONTEXT_WORDS = 8


def search_query(mention: Mention, context: str) -> str:
    """What search is asked for a mention: a procedure with the words around it in its
    sentence (the approach and body part are there; the rest of a long sentence only dilutes
    the query and costs embedding time), a condition as written."""
    if mention.kind != "procedure":
        return mention.text
    words = context.split()
    at = context.lower().find(mention.text.lower())
    first = len(context[:at].split()) if at >= 0 else 0
    last = first + len(mention.text.split())
    window = words[max(0, first - PROCEDURE_CONTEXT_WORDS) : last + PROCEDURE_CONTEXT_WORDS]
    return f"{mention.text} {' '.join(window)}".strip()


def search_candidates(
    searcher: HybridSearcher,
    mention: Mention,
    index: int,
    context: str,
    vector: np.ndarray | None = None,
) -> list[Candidate]:
    system = "pcs" if mention.kind == "procedure" else "cm"
    query = search_query(mention, context)
    hits = searcher.search(query, k=SEARCH_DEPTH, system=system, vector=vector)
    found = []
    for rank, hit in enumerate(hits):
        if hit.code is None:
            continue
        record = (
            default_billable(searcher.store, hit.code, system)
            if system == "cm"
            else (searcher.store.get(hit.code, "pcs") if len(hit.code) == 7 else None)
        )
        if record is None:
            continue
        via: CandidateSource = "phrase" if "exact" in hit.ranks else "search"
        score = (PHRASE_SCORE if via == "phrase" else SEARCH_TOP_SCORE) - 0.08 * rank
        if record.code != hit.code:
            # The phrase named a heading; its default code is a guess, not a match.
            score -= 0.15
        citation = Citation(source_id=hit.source, label=f"Search match: {hit.title}")
        found.append(_candidate(record, score, via, index, [citation]))
    return found


def find_candidates(
    chart: Chart,
    mentions: list[Mention],
    searcher: HybridSearcher,
    lexicon: Lexicon | None = None,
) -> list[Candidate]:
    """Candidates for every mention, best first within each mention; each remembers every
    route that found it (what the learned history suggests is weighed by the ranker).

    With a lexicon, abbreviations and lay terms are looked up in the code set's own wording
    ("CHF" as "congestive heart failure"); the evidence stays the chart's words."""

    lookups = [_lookup_wording(chart, m, lexicon) for m in mentions]
    # One embedding call for every mention's search query instead of one per mention.
    vectors = searcher.query_vectors([search_query(m, s) for m, s in lookups])
    candidates: list[Candidate] = []
    for index, (mention, sentence) in enumerate(lookups):
        merged: dict[str, Candidate] = {}
        vector = vectors[index] if vectors is not None else None
        pools = [
            index_candidates(searcher.store, mention, index, sentence),
            table_candidates(searcher.store, mention, sentence, index),
            search_candidates(searcher, mention, index, sentence, vector),
        ]
        if mention.kind == "procedure":
            # The PCS index is read by the chart's own word first ("appendectomy"), then
            # by the expanded wording of an abbreviation ("lap appy").
            written = mentions[index]
            found = pcs_candidates(searcher.store, written, sentence, index)
            if not found and mention is not written:
                found = pcs_candidates(searcher.store, mention, sentence, index)
            pools.insert(0, found)
        for pool in pools:
            for candidate in pool:
                current = merged.get(candidate.code)
                if current is None:
                    candidate.routes = {candidate.via: candidate.score}
                    merged[candidate.code] = candidate
                    continue
                best = max(current.routes.get(candidate.via, 0.0), candidate.score)
                current.routes[candidate.via] = best
                # Found by two routes: keep the better score, add a little, keep all citations.
                current.score = round(min(1.0, max(current.score, candidate.score) + 0.05), 4)
                current.citations += [
                    c
                    for c in candidate.citations
                    if c.source_id not in {x.source_id for x in current.citations}
                ]
        candidates += sorted(merged.values(), key=lambda c: -c.score)
    return candidates


def _lookup_wording(chart: Chart, written: Mention, lexicon: Lexicon | None) -> tuple[Mention, str]:
    """The mention and its sentence as looked up: abbreviations in the code set's wording."""
    sentence = _sentence_text(chart, written)
    if lexicon is None:
        return written, sentence
    wording = lexicon.canonical(written.text)
    mention = written.model_copy(update={"text": wording}) if wording else written
    return mention, lexicon.canonical(sentence) or sentence


def _sentence_text(chart: Chart, mention: Mention) -> str:
    for sentence in chart.sentences:
        if sentence.start <= mention.span.start < sentence.end:
            return chart.text[sentence.start : sentence.end]
    return ""
