"""The one place that knows which adapters the settings select, and builds them."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

from api.settings import EMBEDDING_MODEL_NAME, Settings
from retrieval.embeddings import Embedder, OnnxMiniLMEmbedder, OpenAIEmbedder
from retrieval.kb import open_searcher
from retrieval.layout import KBLayout
from retrieval.search import HybridSearcher

# tiktoken looks files up by sha1(download URL); these are the names of its two encodings.
TIKTOKEN_FILES = {
    "cl100k_base.tiktoken.gz": "9b5ad71b2ce5302211f9c61530b329a4922fc6a4",
    "o200k_base.tiktoken.gz": "fb374d419588a4632f3f557e76b4b70aebbca790",
}


def model_dir(settings: Settings) -> Path:
    """The embedding model: as configured, else beside the reference data, else the one the
    current knowledge base was built with, else under MEDCODER_HOME."""
    if settings.embedding_model_dir is not None:
        return settings.embedding_model_dir
    if settings.data_dir is not None:
        candidate = settings.data_dir / "models" / EMBEDDING_MODEL_NAME
        if candidate.is_dir():
            return candidate
    layout = KBLayout(settings.home)
    if layout.current_link.exists():
        built_with = layout.manifest().get("embedding_model_dir")
        if built_with and Path(built_with).is_dir():
            return Path(built_with)
    return settings.home / "models" / EMBEDDING_MODEL_NAME


def make_embedder(settings: Settings) -> Embedder:
    if settings.embedder == "openai":
        return OpenAIEmbedder(
            settings.openai_embedding_model,
            settings.openai_embedding_dimension,
            settings.llm_base_url,
        )
    return OnnxMiniLMEmbedder(model_dir(settings))


def make_searcher(settings: Settings) -> HybridSearcher:
    """The searcher over the current KB, embedding queries with the model it was built with."""
    return open_searcher(settings.home, make_embedder(settings))


def prepare_tiktoken(settings: Settings) -> Path | None:
    """Point tiktoken at local BPE files so it never downloads (it fails offline)."""
    if settings.tiktoken_cache_dir is not None:
        os.environ["TIKTOKEN_CACHE_DIR"] = str(settings.tiktoken_cache_dir)
        return settings.tiktoken_cache_dir
    source = settings.data_dir / "tiktoken" if settings.data_dir else None
    if source is None or not source.is_dir():
        return None
    cache = settings.home / "tiktoken"
    cache.mkdir(parents=True, exist_ok=True)
    for name, hashed in TIKTOKEN_FILES.items():
        target, packed = cache / hashed, source / name
        if packed.is_file() and not target.is_file():
            partial = target.with_suffix(".partial")
            partial.write_bytes(gzip.decompress(packed.read_bytes()))
            partial.replace(target)
    os.environ["TIKTOKEN_CACHE_DIR"] = str(cache)
    return cache
