"""Open the current knowledge-base version for searching."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from pathlib import Path

from retrieval.embeddings import Embedder
from retrieval.errors import KnowledgeBaseError
from retrieval.layout import KBLayout, year_lexical_dir
from retrieval.lexical import LexicalIndex
from retrieval.search import HybridSearcher
from retrieval.store import KnowledgeStore
from retrieval.vectors import VectorIndex


def _load_lexical(directory: Path) -> dict[str, LexicalIndex]:
    return {
        system.name: LexicalIndex.load(system)
        for system in sorted(directory.iterdir())
        if system.is_dir()
    }


class YearLexicalIndexes(Mapping[int, dict[str, LexicalIndex]]):
    """The lexical indexes of each later fiscal year, loaded the first time a search asks
    for that year (a process that searches FY2026 only never pays for them)."""

    def __init__(self, version_dir: Path, years: list[int]) -> None:
        self._dirs = {
            year: year_lexical_dir(version_dir, year)
            for year in years
            if year_lexical_dir(version_dir, year).is_dir()
        }
        self._loaded: dict[int, dict[str, LexicalIndex]] = {}
        self._lock = threading.Lock()

    def __getitem__(self, year: int) -> dict[str, LexicalIndex]:
        if year not in self._dirs:
            raise KeyError(year)
        with self._lock:
            if year not in self._loaded:
                self._loaded[year] = _load_lexical(self._dirs[year])
            return self._loaded[year]

    def __iter__(self) -> Iterator[int]:
        return iter(self._dirs)

    def __len__(self) -> int:
        return len(self._dirs)


def open_searcher(
    home: Path, embedder: Embedder | None, chroma_url: str | None = None
) -> HybridSearcher:
    """A searcher over `<home>/kb/current`; without an embedder, search is lexical only.
    With `chroma_url` the vectors come from that Chroma server, where the current version
    must have been published (`medcoder kb publish-vectors`), not from the version folder."""
    layout = KBLayout(home)
    version = layout.current()
    manifest = layout.manifest()
    if embedder is not None and manifest["embedder"] != embedder.name:
        raise KnowledgeBaseError(
            f"the knowledge base was built with embedder {manifest['embedder']!r} but "
            f"{embedder.name!r} is configured; rebuild with `medcoder kb build`"
        )
    lexical = _load_lexical(version / "lexical")
    vectors = None
    if embedder is not None:
        vectors = (
            VectorIndex.open_server(chroma_url, version.name)
            if chroma_url
            else VectorIndex.open(version / "chroma")
        )
    store = KnowledgeStore(version / "kb.sqlite")
    later = YearLexicalIndexes(version, [y for y in store.years() if y != store.base_year])
    return HybridSearcher(store, lexical, vectors, embedder, year_lexical=later)
