"""Vector index in persistent Chroma collections (embedded; a Chroma server later).

One collection per code system, so the system filter is a choice of collection: Chroma's
metadata filters cost ~250 ms a query at this size, an unfiltered query under 1 ms. A hit's
code and citation are encoded in its id, so a query fetches only ids and distances. A fiscal
year after the base year has a small collection per system of the texts it adds (new and
revised titles), searched beside the base collection for that year only: cosine similarities
compare across collections, and the base collections stay exactly as they were.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings

SYSTEMS = ("cm", "pcs")


def _collection_name(system: str, year: int | None = None) -> str:
    # Chroma names need 3+ characters.
    return f"medcoder-{system}" if year is None else f"medcoder-{system}-fy{year}"


_YEAR_COLLECTION = re.compile(r"^medcoder-(cm|pcs)-fy(\d{4})$")


_ADD_BATCH = 4000  # below Chroma's maximum batch size


@dataclass(frozen=True, slots=True)
class VectorDoc:
    """A text that gets a vector, and where a hit on it leads."""

    code: str | None
    source_id: str
    text: str
    system: str
    billable: bool
    chapter: str | None = None

    def metadata(self) -> dict[str, Any]:
        return {
            "code": self.code or "",
            "source_id": self.source_id,
            "billable": self.billable,
            "chapter": self.chapter or "",
        }


@dataclass(frozen=True, slots=True)
class VectorHit:
    code: str | None
    source_id: str
    similarity: float


def _doc_id(doc: VectorDoc, ordinal: int) -> str:
    return f"{doc.code or ''}\t{doc.source_id}\t{ordinal}"


def _decode(doc_id: str) -> tuple[str | None, str]:
    code, source_id, _ = doc_id.split("\t")
    return code or None, source_id


def open_client(directory: Path) -> Any:
    settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    return chromadb.PersistentClient(path=str(directory), settings=settings)


class VectorIndex:
    """Nearest-neighbour search over precomputed, L2-normalised embeddings (cosine space)."""

    def __init__(
        self,
        collections: dict[str, Any],
        year_collections: dict[tuple[str, int], Any] | None = None,
    ) -> None:
        self._collections = collections
        self._year_collections = year_collections or {}

    @classmethod
    def create(cls, directory: Path, years: Sequence[int] = ()) -> VectorIndex:
        client = open_client(directory)

        def make(name: str) -> Any:
            return client.create_collection(
                name, metadata={"hnsw:space": "cosine"}, embedding_function=None
            )

        return cls(
            {system: make(_collection_name(system)) for system in SYSTEMS},
            {
                (system, year): make(_collection_name(system, year))
                for system in SYSTEMS
                for year in years
            },
        )

    @classmethod
    def open(cls, directory: Path) -> VectorIndex:
        client = open_client(directory)
        year_collections = {}
        for listed in client.list_collections():
            name = listed if isinstance(listed, str) else listed.name
            if match := _YEAR_COLLECTION.match(name):
                key = (match.group(1), int(match.group(2)))
                year_collections[key] = client.get_collection(name, embedding_function=None)
        return cls(
            {
                system: client.get_collection(_collection_name(system), embedding_function=None)
                for system in SYSTEMS
            },
            year_collections,
        )

    def years(self) -> list[int]:
        return sorted({year for _, year in self._year_collections})

    def add(self, docs: Sequence[VectorDoc], vectors: np.ndarray, year: int | None = None) -> None:
        """Add to the base collections, or to fiscal `year`'s own."""
        for system in SYSTEMS:
            collection = (
                self._collections[system]
                if year is None
                else self._year_collections[(system, year)]
            )
            rows = [n for n, doc in enumerate(docs) if doc.system == system]
            for start in range(0, len(rows), _ADD_BATCH):
                batch = rows[start : start + _ADD_BATCH]
                collection.add(
                    ids=[_doc_id(docs[n], n) for n in batch],
                    embeddings=vectors[batch],
                    documents=[docs[n].text for n in batch],
                    metadatas=[docs[n].metadata() for n in batch],
                )

    def count(self) -> int:
        collections = [*self._collections.values(), *self._year_collections.values()]
        return sum(int(c.count()) for c in collections)

    def search(
        self, vector: np.ndarray, k: int, system: str | None = None, year: int | None = None
    ) -> list[VectorHit]:
        """The k nearest documents of one system (or of both, merged by similarity); with a
        fiscal `year`, that year's added texts compete too."""
        return self.search_many(vector[None, :], k, [system], year)[0]

    def search_many(
        self,
        vectors: np.ndarray,
        k: int,
        systems: Sequence[str | None],
        year: int | None = None,
    ) -> list[list[VectorHit]]:
        """`search` for each row of `vectors` in its own system, with one Chroma query per
        collection for all of them: a query's fixed cost (~1 ms) is most of a small one's."""
        found: list[list[VectorHit]] = [[] for _ in systems]
        searched = [(name, c, False) for name, c in self._collections.items()]
        searched += [(n, c, True) for (n, y), c in self._year_collections.items() if y == year]
        for name, collection, small in searched:
            rows = [n for n, system in enumerate(systems) if not system or system == name]
            # A year's collection can hold fewer than k texts, which Chroma refuses to ask for.
            size = min(k, int(collection.count())) if small else k
            if size == 0 or not rows:
                continue
            result = collection.query(
                query_embeddings=vectors[rows].tolist(), n_results=size, include=["distances"]
            )
            distances = result["distances"] or []
            for row, ids, far in zip(rows, result["ids"], distances, strict=True):
                for doc_id, distance in zip(ids, far, strict=True):
                    code, source_id = _decode(doc_id)
                    found[row].append(VectorHit(code, source_id, 1.0 - float(distance)))
        for hits in found:
            hits.sort(key=lambda hit: -hit.similarity)
            del hits[k:]
        return found
