"""Fixtures for agent tests: the KB store, the scripted LLM server and offline tiktoken."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.lexicon import Lexicon
from agent.pipeline import CodingAgent
from agent.proposers.llm_prompt import reset_tokenizer
from agent.proposers.offline import OfflineProposer
from retrieval.build import BuildReport
from retrieval.search import HybridSearcher
from retrieval.store import KnowledgeStore
from tests.llm_server import ScriptedLlmServer
from wiring.adapters import prepare_tiktoken
from wiring.settings import Settings


@pytest.fixture(scope="module")
def store(built_kb: BuildReport) -> Iterator[KnowledgeStore]:
    """The session KB's structured store (the vector index is not needed here)."""
    opened = KnowledgeStore(built_kb.version_dir / "kb.sqlite")
    yield opened
    opened.close()


@pytest.fixture
def llm_server() -> Iterator[ScriptedLlmServer]:
    """A fresh scripted OpenAI-compatible server per test (`.base_url`, `.enqueue`,
    `.requests`)."""
    server = ScriptedLlmServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def tiktoken_ready(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """tiktoken reading the BPE files from the reference data (it cannot download here)."""
    before = os.environ.get("TIKTOKEN_CACHE_DIR")
    home = tmp_path_factory.mktemp("tiktoken-home")
    cache = prepare_tiktoken(Settings(home=home, data_dir=shared_data))
    if cache is None:
        pytest.skip("no tiktoken files in the reference data")
    reset_tokenizer()
    yield cache
    if before is None:
        os.environ.pop("TIKTOKEN_CACHE_DIR", None)
    else:
        os.environ["TIKTOKEN_CACHE_DIR"] = before


@pytest.fixture(scope="module")
def agent(searcher: HybridSearcher) -> CodingAgent:
    """The offline agent without a ranker or history: hand-set scores, as the tests expect."""
    return CodingAgent(
        searcher=searcher,
        lexicon=Lexicon.from_store(searcher.store),
        proposer=OfflineProposer(searcher.store),
    )
