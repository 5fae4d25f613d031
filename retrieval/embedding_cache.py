"""Embeddings keyed by (embedder, sha256(text)), so a yearly rebuild re-embeds only new text."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from retrieval.embeddings import Embedder

# Texts per embedder call: enough for the embedder to batch and parallelise well, few enough
# that progress moves about every second.
BATCH = 512


def _key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class EmbeddingCache:
    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS vectors (embedder TEXT, text_hash TEXT, vector BLOB, "
            "PRIMARY KEY (embedder, text_hash))"
        )

    def embed(
        self,
        embedder: Embedder,
        texts: Sequence[str],
        on_progress: Callable[[int, int], None] | None = None,
    ) -> np.ndarray:
        """Vectors for `texts` in order; only texts not seen before reach the embedder, and
        `on_progress(done, total)` counts those."""
        keys = [_key(t) for t in texts]
        known = self._known(embedder.name, set(keys))
        todo = sorted(
            {k: t for k, t in zip(keys, texts, strict=True) if k not in known}.items(),
            key=lambda item: len(item[1]),
        )  # similar lengths batch with little padding
        if on_progress:
            on_progress(0, len(todo))  # the size of the work, before the first batch is done
        # Calls alternate between the shortest and the longest texts left, so that texts
        # embedded per second (and the time left shown from it) stay steady throughout.
        starts = list(range(0, len(todo), BATCH))
        order = [starts[n // 2] if n % 2 == 0 else starts[-1 - n // 2] for n in range(len(starts))]
        done = 0
        for start in order:
            batch = todo[start : start + BATCH]
            vectors = embedder.embed([text for _, text in batch])
            rows = [
                (embedder.name, k, v.astype(np.float32).tobytes())
                for (k, _), v in zip(batch, vectors, strict=True)
            ]
            self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?,?,?)", rows)
            known.update(
                {k: v.astype(np.float32) for (k, _), v in zip(batch, vectors, strict=True)}
            )
            done += len(batch)
            if on_progress:
                on_progress(done, len(todo))
        self._db.commit()
        out = np.zeros((len(texts), embedder.dimension), dtype=np.float32)
        for row, key in enumerate(keys):
            out[row] = known[key]
        return out

    def _known(self, embedder_name: str, keys: set[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for text_hash, blob in self._db.execute(
            "SELECT text_hash, vector FROM vectors WHERE embedder = ?", (embedder_name,)
        ):
            if text_hash in keys:
                found[text_hash] = np.frombuffer(blob, dtype=np.float32)
        return found

    def close(self) -> None:
        self._db.close()
