"""Vector index in a persistent Chroma collection (embedded; a Chroma server later)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings

COLLECTION = "medcoder"
_ADD_BATCH = 4000  # below Chroma's maximum batch size


@dataclass(frozen=True, slots=True)
class VectorDoc:
    """A text that gets a vector, and where a hit on it leads."""

    doc_id: str
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
            "system": self.system,
            "billable": self.billable,
            "chapter": self.chapter or "",
        }


def open_client(directory: Path) -> Any:
    settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    return chromadb.PersistentClient(path=str(directory), settings=settings)


class VectorIndex:
    """Nearest-neighbour search over precomputed, L2-normalised embeddings (cosine space)."""

    def __init__(self, collection: Any) -> None:
        self._collection = collection

    @classmethod
    def create(cls, directory: Path) -> VectorIndex:
        client = open_client(directory)
        collection = client.create_collection(
            COLLECTION, metadata={"hnsw:space": "cosine"}, embedding_function=None
        )
        return cls(collection)

    @classmethod
    def open(cls, directory: Path) -> VectorIndex:
        client = open_client(directory)
        return cls(client.get_collection(COLLECTION, embedding_function=None))

    def add(self, docs: Sequence[VectorDoc], vectors: np.ndarray) -> None:
        for start in range(0, len(docs), _ADD_BATCH):
            batch = docs[start : start + _ADD_BATCH]
            self._collection.add(
                ids=[d.doc_id for d in batch],
                embeddings=vectors[start : start + _ADD_BATCH],
                documents=[d.text for d in batch],
                metadatas=[d.metadata() for d in batch],
            )

    def count(self) -> int:
        return int(self._collection.count())

    def search(
        self,
        vector: np.ndarray,
        k: int,
        system: str | None = None,
        billable_only: bool = False,
        chapters: Sequence[str] | None = None,
    ) -> list[tuple[dict[str, Any], str, float]]:
        """(metadata, text, cosine similarity) for the k nearest documents passing the filters."""
        clauses: list[dict[str, Any]] = []
        if system:
            clauses.append({"system": system})
        if billable_only:
            clauses.append({"billable": True})
        if chapters:
            clauses.append({"chapter": {"$in": list(chapters)}})
        where: dict[str, Any] | None = None
        if len(clauses) == 1:
            where = clauses[0]
        elif clauses:
            where = {"$and": clauses}
        result = self._collection.query(
            query_embeddings=[vector.tolist()],
            n_results=k,
            where=where,
            include=["metadatas", "documents", "distances"],
        )
        return [
            (meta, text, 1.0 - float(distance))
            for meta, text, distance in zip(
                result["metadatas"][0],
                result["documents"][0],
                result["distances"][0],
                strict=True,
            )
        ]
