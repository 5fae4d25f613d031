"""Vector index in persistent Chroma collections (embedded; a Chroma server later).

One collection per code system, so the system filter is a choice of collection: Chroma's
metadata filters cost ~250 ms a query at this size, an unfiltered query under 1 ms. A hit's
code and citation are encoded in its id, so a query fetches only ids and distances.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings

SYSTEMS = ("cm", "pcs")


def _collection_name(system: str) -> str:
    return f"medcoder-{system}"  # Chroma names need 3+ characters


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

    def __init__(self, collections: dict[str, Any]) -> None:
        self._collections = collections

    @classmethod
    def create(cls, directory: Path) -> VectorIndex:
        client = open_client(directory)
        return cls(
            {
                system: client.create_collection(
                    _collection_name(system),
                    metadata={"hnsw:space": "cosine"},
                    embedding_function=None,
                )
                for system in SYSTEMS
            }
        )

    @classmethod
    def open(cls, directory: Path) -> VectorIndex:
        client = open_client(directory)
        return cls(
            {
                system: client.get_collection(_collection_name(system), embedding_function=None)
                for system in SYSTEMS
            }
        )

    def add(self, docs: Sequence[VectorDoc], vectors: np.ndarray) -> None:
        for system, collection in self._collections.items():
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
        return sum(int(c.count()) for c in self._collections.values())

    def search(self, vector: np.ndarray, k: int, system: str | None = None) -> list[VectorHit]:
        """The k nearest documents of one system (or of both, merged by similarity)."""
        hits: list[VectorHit] = []
        for name, collection in self._collections.items():
            if system and name != system:
                continue
            result = collection.query(
                query_embeddings=[vector.tolist()], n_results=k, include=["distances"]
            )
            for doc_id, distance in zip(result["ids"][0], result["distances"][0], strict=True):
                code, source_id = _decode(doc_id)
                hits.append(VectorHit(code, source_id, 1.0 - float(distance)))
        hits.sort(key=lambda hit: -hit.similarity)
        return hits[:k]
