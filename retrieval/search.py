"""Hybrid search: exact phrase, BM25 and vector lists fused by reciprocal rank."""

from __future__ import annotations

import copy
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from retrieval.embeddings import Embedder
from retrieval.errors import (
    CodeNotInYearError,
    KnowledgeBaseError,
    QueryError,
    UnknownCodeError,
    UnknownYearError,
)
from retrieval.lexical import LexicalDoc, LexicalIndex
from retrieval.records import CodeRecord
from retrieval.store import KnowledgeStore
from retrieval.text import looks_like_code, with_dot
from retrieval.vectors import VectorHit, VectorIndex
from retrieval.vocabulary import Vocabulary, default_vocabulary

# A small k lets a first place in one list outweigh middling places in several.
# How many codes under a typed category or subcategory an exact code query adds.
PREFIX_CODES = 40
# The first 3 to 6 characters of a PCS code (its section, body system, operation, ...).
PCS_PREFIX = re.compile(r"^(?=.*[0-9])[0-9A-HJ-NP-Z]{3,6}$")
RRF_K = 10
MAX_QUERY_CHARS = 2000
# An exact phrase match (title, inclusion term, index path) outranks any fused score.
EXACT_WEIGHT = 4.0
# Readings of a query with its abbreviations and lay terms expanded ("afib" -> "atrial
# fibrillation"; an ambiguous or procedure entry has more than one), searched besides the query.
# Only one reading is embedded (the first expanded one, else the query): measured on
# abbreviation queries it ranked better than embedding the query as typed, and as well as
# embedding both, at the cost of one embedding.
MAX_READINGS = 3
VECTOR_CACHE_SIZE = 20_000  # query embeddings kept (384 float32 each: ~30 MB)


@dataclass(slots=True)
class Hit:
    """One search result: a code (or a guideline section when `code` is None)."""

    code: str | None
    title: str
    score: float
    source: str
    system: str
    billable: bool
    matched: str = ""
    ranks: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "title": self.title,
            "score": round(self.score, 6),
            "source": self.source,
            "system": self.system,
            "billable": self.billable,
        }


_Origin = tuple[str | None, str, str]  # (code, source id, matched text) of the first sighting


@dataclass(slots=True)
class _Fused:
    origin: _Origin
    score: float = 0.0
    ranks: dict[str, int] = field(default_factory=dict)


def system_of(source_id: str) -> str:
    """The code system a cited source belongs to (PCS and CM share some 3-character names)."""
    pcs_prefixes = ("pcs_table:", "pcs_definition:", "index:pcs:", "guideline:pcs:")
    return "pcs" if source_id.startswith(pcs_prefixes) else "cm"


def check_query(query: str) -> str:
    cleaned = " ".join(query.split())
    if not cleaned:
        raise QueryError("the search query is empty")
    if len(cleaned) > MAX_QUERY_CHARS:
        raise QueryError(
            f"the search query is {len(cleaned)} characters; at most {MAX_QUERY_CHARS}"
        )
    return cleaned


class HybridSearcher:
    """Search the knowledge base the way the agent and the CLI need it.

    Every lookup and search takes an optional fiscal `year`; None is the base year (FY2026),
    searched exactly as before fiscal years existed. `year_lexical` holds the lexical
    indexes of each later year (loaded when first asked for). `for_year(year)` is a view
    whose lookups and searches answer for that year when given none, over a store bound to
    it (`store.for_year`): what a chart's coding uses."""

    def __init__(
        self,
        store: KnowledgeStore,
        lexical: dict[str, LexicalIndex],
        vectors: VectorIndex | None,
        embedder: Embedder | None,
        vocabulary: Vocabulary | None = None,
        year_lexical: Mapping[int, dict[str, LexicalIndex]] | None = None,
    ) -> None:
        self.store = store
        self._lexical = lexical
        self._year_lexical = year_lexical or {}
        self._absent: dict[int, frozenset[str]] = {}
        self._vectors = vectors
        self._embedder = embedder
        self._vector_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._vector_lock = threading.Lock()
        self.vocabulary = default_vocabulary() if vocabulary is None else vocabulary
        self._views: dict[int, HybridSearcher] = {}

    @property
    def year(self) -> int:
        """The fiscal year searched when none is asked (the store's: bound, else base)."""
        return self.store.year

    def for_year(self, year: int | None) -> HybridSearcher:
        """This searcher bound to fiscal `year` (None: as it is); indexes, caches and the
        embedder are shared, and one view per year is kept."""
        if year is None or year == self.store.bound_year:
            return self
        store = self.store.for_year(year)  # raises UnknownYearError for a year not held
        with self._vector_lock:
            if year not in self._views:
                view = copy.copy(self)
                view.store = store
                self._views[year] = view
            return self._views[year]

    def _asked(self, year: int | None) -> int | None:
        """The year a call is for: the one asked, else the bound year of a view."""
        return self.store.bound_year if year is None else year

    def lookup(self, code: str, year: int | None = None) -> CodeRecord:
        """Exact lookup by code in fiscal `year`; unknown codes raise with the nearest valid
        ones, and a code of another year says when it was added or deleted."""
        year = self._asked(year)
        candidate = code.strip().upper()
        if not candidate or not looks_like_code(candidate):
            raise QueryError(f"{code!r} is not a well-formed ICD-10-CM or ICD-10-PCS code")
        for form in (with_dot(candidate), candidate):
            record = self.store.get(form, year=year)
            if record is not None:
                return record
        nearest = self.store.nearest_codes(with_dot(candidate), year=year)
        if year is not None:
            for form in (with_dot(candidate), candidate):
                reason = self.store.why_absent(form, year)
                if reason:
                    raise CodeNotInYearError(form, year, reason, nearest)
        raise UnknownCodeError(with_dot(candidate), nearest)

    def _checked_year(self, year: int | None) -> int | None:
        """None for the base year (searched as always), else a later year the KB holds."""
        if year is None or year == self.store.base_year:
            return None
        if year not in self.store.years():
            raise UnknownYearError(year, self.store.years())
        return year

    def _lexical_for(self, year: int | None) -> dict[str, LexicalIndex]:
        if year is None:
            return self._lexical
        try:
            return self._year_lexical[year]
        except KeyError:
            raise KnowledgeBaseError(
                f"this knowledge base has no FY{year} search index; rebuild with "
                "`medcoder kb build`"
            ) from None

    def _absent_codes(self, year: int | None) -> frozenset[str]:
        if year is None or year == self.store.base_year:
            return frozenset()
        if year not in self._absent:
            self._absent[year] = frozenset(self.store.absent_codes(year))
        return self._absent[year]

    def search(
        self,
        query: str,
        k: int = 10,
        system: str | None = None,
        billable_only: bool = False,
        chapters: Sequence[str] | None = None,
        include_guidelines: bool = False,
        vector: np.ndarray | None = None,
        year: int | None = None,
    ) -> list[Hit]:
        """Hybrid hits for `query` among the codes of fiscal `year` (None: the base year);
        `vector` is its embedding when the caller already has it (`query_vectors` embeds
        many queries in one model call)."""
        query = check_query(query)
        if k < 1:
            raise QueryError(f"k must be at least 1, got {k}")
        year = self._asked(year)
        self._checked_year(year)
        depth = max(50, k * 5)
        nearest: list[VectorHit] = []
        if vector is None and self._embedder is not None:
            vector = self._vectors_of([self._embedded_text(query)])[0]
        if self._vectors is not None and vector is not None:
            fetch = depth * 3 if (billable_only or chapters) else depth
            nearest = self._vectors.search(vector, fetch, system, year)
        return self._fused(
            query, k, system, billable_only, chapters, include_guidelines, nearest, year
        )

    def search_many(
        self, queries: Sequence[tuple[str, str | None]], k: int = 10, year: int | None = None
    ) -> list[list[Hit]]:
        """`search` for many (query, system) pairs at once, as the agent asks for a chart's
        mentions: one embedding call and one vector query per collection for all of them."""
        if k < 1:
            raise QueryError(f"k must be at least 1, got {k}")
        texts = [check_query(query) for query, _ in queries]
        if not texts:
            return []
        year = self._asked(year)
        self._checked_year(year)
        depth = max(50, k * 5)
        vectors = self.query_vectors(texts)
        nearest: list[list[VectorHit]] = [[] for _ in texts]
        if self._vectors is not None and vectors is not None:
            systems = [system for _, system in queries]
            nearest = self._vectors.search_many(vectors, depth, systems, year)
        return [
            self._fused(text, k, system, False, None, False, hits, year)
            for text, (_, system), hits in zip(texts, queries, nearest, strict=True)
        ]

    def _fused(
        self,
        query: str,
        k: int,
        system: str | None,
        billable_only: bool,
        chapters: Sequence[str] | None,
        include_guidelines: bool,
        nearest: Sequence[VectorHit],
        year: int | None,
    ) -> list[Hit]:
        """The exact, BM25 and vector lists of `query` fused by reciprocal rank."""
        lexical_indexes = self._lexical_for(self._checked_year(year))
        depth = max(50, k * 5)
        fused: dict[str, _Fused] = {}

        def add(key: str, list_name: str, rank: int, weight: float, origin: _Origin) -> None:
            current = fused.setdefault(key, _Fused(origin))
            if list_name in current.ranks:
                return
            current.ranks[list_name] = rank
            current.score += weight / (RRF_K + rank)

        # The query as typed, then its expanded readings: each adds its own ranked lists.
        readings = [query, *self.vocabulary.rewrites(query, MAX_READINGS)]
        for n, text in enumerate(readings):
            tag = f"+{n}" if n else ""
            for rank, (code, source) in enumerate(self._exact(text, system, billable_only, year)):
                add(code, "exact" + tag, rank, EXACT_WEIGHT * RRF_K, (code, source, text))
            # CM and PCS BM25 scores share one formula and vocabulary style: merge them by score.
            lexical = [
                result
                for name, index in lexical_indexes.items()
                if not system or name == system
                for result in index.search(text, depth, billable_only, chapters)
            ]
            lexical.sort(key=lambda result: -result[1])
            for rank, (doc, _) in enumerate(self._dedupe(lexical, include_guidelines)):
                key = doc.code or doc.source_id
                add(key, "bm25" + tag, rank, 1.0, (doc.code, doc.source_id, doc.text))
        for rank, (vector_code, source) in enumerate(
            self._vector_hits(nearest, depth, billable_only, chapters, include_guidelines, year)
        ):
            key = vector_code or source
            add(key, "vector", rank, 1.0, (vector_code, source, ""))
        ranked = sorted(fused.values(), key=lambda f: -f.score)[:k]
        # Titles are looked up for the k results only, not for every fused candidate.
        hits = []
        for item in ranked:
            hit = self._hit(*item.origin, year)
            hit.score, hit.ranks = item.score, item.ranks
            hits.append(hit)
        return hits

    def lexical(
        self, query: str, k: int = 10, system: str = "cm", year: int | None = None
    ) -> list[str]:
        """Billable codes of `system` whose titles, inclusion terms or index lines share the
        most words with `query` (BM25 alone: no embedding, for many small lookups)."""
        year = self._asked(year)
        index = self._lexical_for(self._checked_year(year)).get(system)
        if index is None:
            return []
        absent = self._absent_codes(year)
        codes = (doc.code for doc, _ in index.search(query, k * 3, billable_only=True))
        found = [c for c in codes if c and c not in absent]
        return list(dict.fromkeys(found))[:k]

    def _embedded_text(self, query: str) -> str:
        """The reading that is embedded: the first expanded one, else the query as typed."""
        readings = self.vocabulary.rewrites(query, 1)
        return readings[0] if readings else query

    def query_vectors(self, queries: Sequence[str]) -> np.ndarray | None:
        """Embeddings of several queries in one model call (None without an embedder), each
        the vector `search` would compute for it."""
        if self._embedder is None or not queries:
            return None
        texts = [self._embedded_text(check_query(q)) for q in queries]
        return self._vectors_of(texts)

    def _vectors_of(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings, each text embedded once: charts repeat their mentions ("fever",
        "pain") and one another's, so recent vectors are kept (a bounded LRU shared by the
        threads that search)."""
        assert self._embedder is not None
        with self._vector_lock:
            found = {t: self._vector_cache[t] for t in texts if t in self._vector_cache}
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            found.update(zip(missing, self._embedder.embed(missing), strict=True))
        with self._vector_lock:
            for text, vector in found.items():
                self._vector_cache[text] = vector
                self._vector_cache.move_to_end(text)
            while len(self._vector_cache) > VECTOR_CACHE_SIZE:
                self._vector_cache.popitem(last=False)
        return np.stack([found[t] for t in texts])

    def _exact(
        self, query: str, system: str | None, billable_only: bool, year: int | None = None
    ) -> list[tuple[str, str]]:
        matches: list[tuple[str, str]] = []
        if looks_like_code(query):
            # A category, subcategory or the start of a PCS code as typed ("K81", "E11.6",
            # "0FT4"): the codes under it follow in code order, as a coder typing a code
            # expects its family.
            family: tuple[str, str] | None = None
            try:
                exact = self.lookup(query, year)
                matches.append((exact.code, exact.source_id))
                family = (exact.code, exact.system)
            except (UnknownCodeError, QueryError):
                typed = query.strip().upper()
                family = (typed, "pcs") if PCS_PREFIX.match(typed) else None
            if family is not None:
                prefix, family_system = family
                matches += [
                    (under.code, under.source_id)
                    for under in self.store.codes_with_prefix(prefix, PREFIX_CODES, year)
                    if under.code != prefix and under.system == family_system
                ]
        matches += self.store.phrase_codes(query, year)
        kept: list[tuple[bool, str, str]] = []
        for code, source in matches:
            record = self.store.get(code, system_of(source), year)
            if record is None or (system and record.system != system):
                continue
            if billable_only and not record.billable:
                continue
            kept.append((record.billable, code, source))
        # Headings can share a title with their billable child (F81.8 / F81.89): prefer the leaf.
        kept.sort(key=lambda item: not item[0])
        return [(code, source) for _, code, source in kept]

    @staticmethod
    def _dedupe(
        results: list[tuple[LexicalDoc, float]], include_guidelines: bool
    ) -> Iterator[tuple[LexicalDoc, float]]:
        seen: set[str] = set()
        for doc, score in results:
            key = doc.code or doc.source_id
            if key in seen or (doc.code is None and not include_guidelines):
                continue
            seen.add(key)
            yield doc, score

    def _vector_hits(
        self,
        nearest: Sequence[VectorHit],
        depth: int,
        billable_only: bool,
        chapters: Sequence[str] | None,
        include_guidelines: bool,
        year: int | None = None,
    ) -> list[tuple[str | None, str]]:
        """(code, source id) of the nearest texts passing the filters, best first (filters
        are applied here, not in Chroma: its filtered queries are ~300x slower)."""
        seen: set[str] = set()
        hits = []
        absent = self._absent_codes(year)
        for hit in nearest:
            key = hit.code or hit.source_id
            if key in seen or (hit.code is None and not include_guidelines) or key in absent:
                continue
            if hit.code is not None and (billable_only or chapters):
                record = self.store.get(hit.code, system_of(hit.source_id), year)
                if record is None or (billable_only and not record.billable):
                    continue
                if chapters and record.chapter not in chapters:
                    continue
            seen.add(key)
            hits.append((hit.code, hit.source_id))
        return hits[:depth]

    def _hit(self, code: str | None, source: str, matched: str, year: int | None = None) -> Hit:
        record = self.store.get(code, system_of(source), year) if code else None
        if record is not None:
            return Hit(
                code,
                record.title,
                0.0,
                source,
                record.system,
                record.billable,
                matched or record.title,
            )
        if code:  # a PCS index prefix such as 0DT9: not itself a complete code
            return Hit(code, matched, 0.0, source, "pcs", False, matched)
        _, system, section_id = source.split(":", 2)
        guideline = self.store.guideline(section_id, system)
        title = guideline.title if guideline else matched[:120]
        return Hit(None, title, 0.0, source, system, False, matched or title)
