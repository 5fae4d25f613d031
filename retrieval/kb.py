"""Open the current knowledge-base version for searching."""

from __future__ import annotations

from pathlib import Path

from retrieval.embeddings import Embedder
from retrieval.errors import KnowledgeBaseError
from retrieval.layout import KBLayout
from retrieval.lexical import LexicalIndex
from retrieval.search import HybridSearcher
from retrieval.store import KnowledgeStore
from retrieval.vectors import VectorIndex


def open_searcher(home: Path, embedder: Embedder | None) -> HybridSearcher:
    """A searcher over `<home>/kb/current`; without an embedder, search is lexical only."""
    layout = KBLayout(home)
    version = layout.current()
    manifest = layout.manifest()
    if embedder is not None and manifest["embedder"] != embedder.name:
        raise KnowledgeBaseError(
            f"the knowledge base was built with embedder {manifest['embedder']!r} but "
            f"{embedder.name!r} is configured; rebuild with `medcoder kb build`"
        )
    lexical = {
        system.name: LexicalIndex.load(system)
        for system in sorted((version / "lexical").iterdir())
        if system.is_dir()
    }
    vectors = VectorIndex.open(version / "chroma") if embedder is not None else None
    return HybridSearcher(KnowledgeStore(version / "kb.sqlite"), lexical, vectors, embedder)
