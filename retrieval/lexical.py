"""Lexical (BM25) index over code titles, inclusion terms, index paths and guidelines."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import overload

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


# The filter columns of the documents, saved beside them: loading them is a few ms, where
# building them meant reading every document (~1 s per index at ~240k documents).
FIELDS_FILE = "docs.fields.npz"


def _filter_fields(docs: Sequence[LexicalDoc]) -> tuple[np.ndarray, np.ndarray]:
    billable = np.array([d.billable for d in docs], dtype=np.float32)
    return billable, np.array([d.chapter or "" for d in docs])


class LazyDocs(Sequence[LexicalDoc]):
    """The documents as their JSON lines, each parsed the first time a hit needs it: a
    search returns a few dozen of ~240k, and parsing them all took most of a cold start."""

    def __init__(self, lines: list[bytes]) -> None:
        self._lines = lines
        self._parsed: dict[int, LexicalDoc] = {}

    def __len__(self) -> int:
        return len(self._lines)

    @overload
    def __getitem__(self, index: int) -> LexicalDoc: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[LexicalDoc]: ...
    def __getitem__(self, index: int | slice) -> LexicalDoc | Sequence[LexicalDoc]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self._lines)
        doc = self._parsed.get(index)
        if doc is None:
            doc = self._parsed[index] = LexicalDoc(**json.loads(self._lines[index]))
        return doc


class LexicalIndex:
    """One BM25 index per code system, with per-document metadata for filtering."""

    def __init__(
        self,
        retriever: bm25s.BM25,
        docs: Sequence[LexicalDoc],
        fields: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        self._retriever = retriever
        self.docs = docs
        self._vocab = set(retriever.vocab_dict) if retriever.vocab_dict else set()
        if fields is None:
            fields = _filter_fields(docs)
        self._billable, self._chapters = fields

    @classmethod
    def build(cls, docs: list[LexicalDoc]) -> LexicalIndex:
        retriever = bm25s.BM25()
        retriever.index([tokenize(d.text) or ["<empty>"] for d in docs], show_progress=False)
        return cls(retriever, docs)

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._retriever.save(str(directory), show_progress=False)
        with (directory / "docs.jsonl").open("w") as out:
            # The fields by hand, in their declared order (what `asdict` gives): `asdict` deep-
            # copies each document and took half of the save at ~240k documents.
            for doc in self.docs:
                row = {
                    "code": doc.code,
                    "source_id": doc.source_id,
                    "text": doc.text,
                    "billable": doc.billable,
                    "chapter": doc.chapter,
                }
                out.write(json.dumps(row) + "\n")
        billable, chapters = self._billable, self._chapters
        np.savez(directory / FIELDS_FILE, billable=billable, chapters=chapters)

    @classmethod
    def load(cls, directory: Path) -> LexicalIndex:
        retriever = bm25s.BM25.load(str(directory), mmap=False, show_progress=False)
        lines = (directory / "docs.jsonl").read_bytes().split(b"\n")
        if lines and not lines[-1]:
            lines.pop()
        docs = LazyDocs(lines)
        fields_path = directory / FIELDS_FILE
        if not fields_path.exists():  # a KB built before the fields were saved
            return cls(retriever, docs)
        with np.load(fields_path, allow_pickle=False) as saved:
            fields = (saved["billable"], saved["chapters"])
        if len(fields[0]) != len(docs):
            raise ValueError(f"{fields_path}: {len(fields[0])} rows for {len(docs)} documents")
        return cls(retriever, docs, fields)

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
