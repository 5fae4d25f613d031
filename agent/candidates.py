"""Look each mention up the way a coder does: Alphabetic Index, then Tabular, then search.

Index path first (main term = a word of the mention, subterms = the rest), following "see"
references; the Tabular then confirms the code and, when the index stops at a heading, the
default (unspecified) billable code beneath it is taken. Hybrid search covers phrasing the
index lacks; learned history adds what coders chose for the same phrase before.
"""

from __future__ import annotations

from typing import Protocol

from agent.codeset import default_billable
from agent.index_walk import context_words, walk
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


class History(Protocol):
    """Phrase -> code associations learned from charts coders already coded."""

    def codes_for(self, phrase: str) -> list[tuple[str, float]]: ...


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


def search_candidates(
    searcher: HybridSearcher, mention: Mention, index: int, context: str
) -> list[Candidate]:
    system = "pcs" if mention.kind == "procedure" else "cm"
    query = f"{mention.text} {context}".strip() if system == "pcs" else mention.text
    found = []
    for rank, hit in enumerate(searcher.search(query, k=SEARCH_DEPTH, system=system)):
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


def history_candidates(
    store: KnowledgeStore, history: History, mention: Mention, index: int
) -> list[Candidate]:
    found = []
    for code, strength in history.codes_for(mention.text):
        record = store.get(code)
        if record is None or not record.billable:
            continue
        found.append(_candidate(record, 0.9 * strength, "history", index, []))
    return found


def find_candidates(
    chart: Chart,
    mentions: list[Mention],
    searcher: HybridSearcher,
    history: History | None = None,
) -> list[Candidate]:
    """Candidates for every mention, best first within each mention."""

    candidates: list[Candidate] = []
    for index, mention in enumerate(mentions):
        sentence = _sentence_text(chart, mention)
        merged: dict[str, Candidate] = {}
        pools = [
            index_candidates(searcher.store, mention, index, sentence),
            table_candidates(searcher.store, mention, sentence, index),
            search_candidates(searcher, mention, index, sentence),
        ]
        if mention.kind == "procedure":
            pools.insert(0, pcs_candidates(searcher.store, mention, sentence, index))
        if history is not None:
            pools.append(history_candidates(searcher.store, history, mention, index))
        for pool in pools:
            for candidate in pool:
                current = merged.get(candidate.code)
                if current is None:
                    merged[candidate.code] = candidate
                    continue
                # Found by two routes: keep the better score, add a little, keep all citations.
                current.score = round(min(1.0, max(current.score, candidate.score) + 0.05), 4)
                current.citations += [
                    c
                    for c in candidate.citations
                    if c.source_id not in {x.source_id for x in current.citations}
                ]
        candidates += sorted(merged.values(), key=lambda c: -c.score)
    return candidates


def _sentence_text(chart: Chart, mention: Mention) -> str:
    for sentence in chart.sentences:
        if sentence.start <= mention.span.start < sentence.end:
            return chart.text[sentence.start : sentence.end]
    return ""
