"""Lexical (BM25) index over code titles, inclusion terms, index paths and guidelines."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import bm25s
import numpy as np

from retrieval.text import normalise, singular

_STOPWORDS = frozenset(
    {"a", "an", "and", "as", "at", "by", "for", "from", "in", "into", "is", "of", "on", "or"}
    | {"other", "the", "to", "with", "without"}
)


def tokenize(text: str) -> list[str]:
    """Normalised words, minus stopwords, each singular."""
    return [singular(word) for word in normalise(text).split() if word not in _STOPWORDS]


@dataclass(frozen=True, slots=True)
class LexicalDoc:
    """What a lexical hit points to: a code (or None for a guideline) and the cited source."""

    code: str | None
    source_id: str
    text: str
    billable: bool
    chapter: str | None = None


class LexicalIndex:
    """One BM25 index per code system, with per-document metadata for filtering."""

    def __init__(self, retriever: bm25s.BM25, docs: list[LexicalDoc]) -> None:
        self._retriever = retriever
        self.docs = docs
        self._vocab = set(retriever.vocab_dict) if retriever.vocab_dict else set()
        self._billable = np.array([d.billable for d in docs], dtype=np.float32)
        self._chapters = np.array([d.chapter or "" for d in docs])

    @classmethod
    def build(cls, docs: list[LexicalDoc]) -> LexicalIndex:
        retriever = bm25s.BM25()
        retriever.index([tokenize(d.text) or ["<empty>"] for d in docs], show_progress=False)
        return cls(retriever, docs)

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._retriever.save(str(directory), show_progress=False)
        with (directory / "docs.jsonl").open("w") as out:
            for doc in self.docs:
                out.write(json.dumps(asdict(doc)) + "\n")

    @classmethod
    def load(cls, directory: Path) -> LexicalIndex:
        retriever = bm25s.BM25.load(str(directory), mmap=False, show_progress=False)
        with (directory / "docs.jsonl").open() as lines:
            docs = [LexicalDoc(**json.loads(line)) for line in lines]
        return cls(retriever, docs)

    def search(
        self,
        query: str,
        k: int,
        billable_only: bool = False,
        chapters: Sequence[str] | None = None,
    ) -> list[tuple[LexicalDoc, float]]:
        tokens = [t for t in tokenize(query) if t in self._vocab]
        if not tokens or not self.docs:
            return []
        matched, scores = self._matched_scores(tokens)
        if billable_only:
            keep = self._billable[matched] > 0
            matched, scores = matched[keep], scores[keep]
        if chapters:
            keep = np.isin(self._chapters[matched], list(chapters))
            matched, scores = matched[keep], scores[keep]
        if matched.size > k:
            top = np.argpartition(-scores, k - 1)[:k]
            matched, scores = matched[top], scores[top]
        order = np.argsort(-scores, kind="stable")
        return [(self.docs[int(matched[i])], float(scores[i])) for i in order]

    def _matched_scores(self, tokens: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(rows of the documents that contain a query word, ascending; their BM25 scores).

        Read from the index's sparse token columns, as bm25s scores them, without the dense
        array over every document that `get_scores` builds: at ~100k documents, building and
        scanning it was most of a query's time."""
        retriever = self._retriever
        if retriever.nonoccurrence_array is not None:  # variants that score absent words
            dense = retriever.get_scores(tokens)
            matched = np.flatnonzero(dense)
            return matched, dense[matched]
        columns = retriever.scores
        ids = np.asarray(retriever.get_tokens_ids(tokens), dtype=np.int64)
        starts, ends = columns["indptr"][ids], columns["indptr"][ids + 1]
        rows = np.concatenate([columns["indices"][a:b] for a, b in zip(starts, ends, strict=True)])
        parts = np.concatenate([columns["data"][a:b] for a, b in zip(starts, ends, strict=True)])
        matched, where = np.unique(rows, return_inverse=True)
        # Summed in float32, word by word, as bm25s sums them.
        scores = np.zeros(matched.size, dtype=np.float32)
        np.add.at(scores, where, parts.astype(np.float32))
        return matched, scores
