"""The one place that knows which adapters the settings select, and builds them."""

from __future__ import annotations

import contextlib
import gzip
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from agent.history import HistoryStore, LearnedHistory
from agent.lexicon import Lexicon, LexiconFileError
from agent.pipeline import CodingAgent
from agent.proposers.base import Proposer
from agent.proposers.offline import OfflineProposer
from agent.ranker import Ranker, RankerError
from retrieval.embeddings import Embedder, OnnxMiniLMEmbedder, OpenAIEmbedder
from retrieval.errors import KnowledgeBaseError
from retrieval.kb import open_searcher
from retrieval.layout import KBLayout
from retrieval.search import HybridSearcher
from retrieval.store import KnowledgeStore
from wiring.settings import EMBEDDING_MODEL_NAME, Settings

if TYPE_CHECKING:
    from langchain_openai import ChatOpenAI

    from agent.chat.answerer import Answerer

# The LLM's client, its prompts and de-identification are imported where an LLM is used:
# an offline process (the default, and every CLI start) never pays for them.

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
    return open_searcher(settings.home, make_embedder(settings), settings.chroma_url)


_SEARCHERS: dict[tuple[Path, str, str | None], HybridSearcher] = {}
_SEARCHERS_LOCK = threading.Lock()


def shared_searcher(settings: Settings) -> HybridSearcher:
    """One searcher per KB version per process: opening one loads BM25 and Chroma (~3 s),
    and the API builds agents for several proposers and apps over the same version."""
    layout = KBLayout(settings.home)
    if not layout.current_link.exists():
        return make_searcher(settings)  # raises the clear "no knowledge base" error
    key = (layout.current().resolve(), settings.embedder, settings.chroma_url)
    with _SEARCHERS_LOCK:
        if key not in _SEARCHERS:
            _SEARCHERS[key] = make_searcher(settings)
        return _SEARCHERS[key]


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


def history_path(settings: Settings) -> Path:
    return settings.home / "history.sqlite"


def ranker_dir(settings: Settings) -> Path:
    """The ranker is filed under the knowledge-base version it was trained against (its
    features are what that version's index and search find); a new build needs a new
    `medcoder learn`."""
    return settings.home / "models" / KBLayout(settings.home).current().name


_HISTORIES: dict[tuple[Path, float], LearnedHistory] = {}
_RANKERS: dict[tuple[Path, float], Ranker] = {}


def load_history(settings: Settings) -> LearnedHistory | None:
    """The learned history (None before the first `medcoder learn`), once per file change."""
    path = history_path(settings)
    if not path.exists():
        return None
    key = (path, path.stat().st_mtime)
    if key not in _HISTORIES:
        store = HistoryStore(path)
        try:
            _HISTORIES[key] = store.load()
        finally:
            store.close()
    return _HISTORIES[key]


def load_ranker(settings: Settings) -> Ranker | None:
    """The ranker of the current KB version; None when none was trained for it yet. A file
    that is there but unusable is an error, not a silent fall back to hand-set scores."""
    directory = ranker_dir(settings)
    model = directory / "ranker.pkl"
    if not model.exists():
        return None
    key = (model, model.stat().st_mtime)
    if key not in _RANKERS:
        try:
            _RANKERS[key] = Ranker.load(directory)
        except RankerError as error:
            raise KnowledgeBaseError(str(error)) from None
    return _RANKERS[key]


def make_agent(settings: Settings, proposer: str | None = None) -> CodingAgent:
    """The coding agent the settings describe; `proposer` overrides the configured mode."""
    searcher = shared_searcher(settings)
    history = load_history(settings)
    offline = OfflineProposer(searcher.store, load_ranker(settings), history)
    mode = proposer or settings.llm_mode
    chosen: Proposer = offline
    fallback: Proposer | None = None
    if mode == "llm":
        chosen = make_llm_proposer(settings, searcher, history)
        fallback = offline if settings.llm_fallback == "offline" else None
    return CodingAgent(
        searcher=searcher,
        lexicon=cached_lexicon(searcher),
        proposer=chosen,
        fallback=fallback,
    )


_LEXICONS: dict[Path, Lexicon] = {}
_LEXICONS_LOCK = threading.Lock()
# The lexicon saved beside the KB version's kb.sqlite (one per version, like the indexes).
LEXICON_FILE = "lexicon.json"


def prepare_lexicon(settings: Settings) -> Path:
    """Build and save the current KB version's lexicon unless a usable file is there; its
    path. `medcoder kb build` calls it, so no process has to build the lexicon (~1 s)."""
    version = KBLayout(settings.home).current()
    path = version / LEXICON_FILE
    try:
        Lexicon.load(path)
    except (OSError, LexiconFileError):
        Lexicon.from_store(KnowledgeStore(version / "kb.sqlite")).save(path)
    return path


def cached_lexicon(searcher: HybridSearcher) -> Lexicon:
    """One lexicon per KB version per process: read from the file saved in the version's
    folder, else built from the index (and saved there for the next process when the folder
    is writable; a read-only KB is still served, built in memory)."""
    key = searcher.store.path
    with _LEXICONS_LOCK:
        if key not in _LEXICONS:
            _LEXICONS[key] = _saved_or_built_lexicon(searcher.store)
        return _LEXICONS[key]


def _saved_or_built_lexicon(store: KnowledgeStore) -> Lexicon:
    path = store.path.parent / LEXICON_FILE
    try:
        return Lexicon.load(path)
    except (OSError, LexiconFileError):
        pass  # none yet (a KB built before lexicon files), stale or damaged: build it
    lexicon = Lexicon.from_store(store)
    with contextlib.suppress(OSError):  # a read-only KB folder: keep the one built here
        lexicon.save(path)
    return lexicon


def _llm_chat_model(settings: Settings, who: str) -> tuple[ChatOpenAI, str]:
    from agent.proposers.llm import make_chat_model

    """The configured chat model and its name, for the proposer and the chat alike."""
    if not settings.llm_model:
        raise KnowledgeBaseError(f"the llm {who} needs MEDCODER_LLM_MODEL (and a base URL or key)")
    prepare_tiktoken(settings)
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
    chat_model = make_chat_model(
        settings.llm_base_url,
        settings.llm_model,
        key,
        settings.llm_timeout_s,
        settings.llm_max_retries,
    )
    return chat_model, settings.llm_model


def make_llm_proposer(
    settings: Settings, searcher: HybridSearcher, history: LearnedHistory | None
) -> Proposer:
    from agent.deid import deidentify
    from agent.proposers.llm import LlmProposer

    chat_model, model_name = _llm_chat_model(settings, "proposer")
    return LlmProposer(
        chat_model,
        searcher,
        model_name=model_name,
        context_tokens=settings.llm_context_tokens,
        max_tool_rounds=settings.llm_max_tool_rounds,
        price_per_1k=(settings.llm_price_input_per_1k, settings.llm_price_output_per_1k),
        examples_for=history.examples if history is not None else None,
        deidentifier=deidentify if settings.llm_deidentify else None,
    )


def make_chat_answerer(settings: Settings) -> Answerer:
    """Who answers chat questions: the LLM answerer when an LLM is configured (the same
    model, limits and de-identification as the proposer), answered offline instead when it
    fails and settings.llm_fallback says so; else the offline answerer."""
    from agent.chat.answerer import FallbackAnswerer, OfflineAnswerer

    offline = OfflineAnswerer()
    if settings.llm_mode != "llm":
        return offline
    from agent.chat.llm import LlmAnswerer
    from agent.deid import deidentify

    chat_model, model_name = _llm_chat_model(settings, "chat")
    llm = LlmAnswerer(
        chat_model,
        model_name=model_name,
        max_tool_rounds=settings.llm_max_tool_rounds,
        # The same context window the proposer's prompts are sized to.
        max_prompt_tokens=settings.llm_context_tokens,
        price_per_1k=(settings.llm_price_input_per_1k, settings.llm_price_output_per_1k),
        deidentifier=deidentify if settings.llm_deidentify else None,
    )
    return FallbackAnswerer(llm, offline) if settings.llm_fallback == "offline" else llm
