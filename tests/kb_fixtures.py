"""A knowledge base built once per test session from the real reference files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli.main import app
from retrieval.build import BuildReport, build_knowledge_base
from retrieval.discover import discover_sources
from retrieval.layout import KBLayout
from retrieval.search import HybridSearcher
from wiring.adapters import make_embedder, make_searcher
from wiring.settings import Settings


@pytest.fixture(scope="session")
def kb_settings(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A home of its own; with MEDCODER_TEST_KB_HOME, it reads that home's knowledge base
    and nothing else there: a developer's home also holds learned history and a trained
    ranker, which the tests (written for the untrained agent, as CI runs it) must not see."""
    home = tmp_path_factory.mktemp("medcoder-home")
    prebuilt = os.environ.get("MEDCODER_TEST_KB_HOME")
    if prebuilt:
        (home / "kb").symlink_to((Path(prebuilt) / "kb").resolve())
    return Settings(home=home, data_dir=shared_data)


@pytest.fixture(scope="session")
def built_kb(kb_settings: Settings) -> BuildReport:
    """The full build (tabular, index, tables, PCS) with the real ONNX embedder (~4 min).

    MEDCODER_TEST_KB_HOME reuses a home someone already built there (a local shortcut while
    iterating; CI never sets it, so CI always builds)."""
    prebuilt = os.environ.get("MEDCODER_TEST_KB_HOME")
    if prebuilt:
        layout = KBLayout(kb_settings.home)
        manifest = layout.manifest()
        return BuildReport(
            layout.current(),
            manifest["counts"],
            manifest["sources"],
            manifest["skipped"],
            manifest["build_seconds"],
        )
    sources = discover_sources(kb_settings.data_dir)
    return build_knowledge_base(kb_settings.home, sources, make_embedder(kb_settings))


@pytest.fixture(scope="session")
def searcher(built_kb: BuildReport, kb_settings: Settings) -> HybridSearcher:
    return make_searcher(kb_settings)


@pytest.fixture(scope="session")
def trained_settings(
    built_kb: BuildReport,
    kb_settings: Settings,
    shared_data: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Settings:
    """A home over the session's knowledge base with history learned and the ranker trained
    by `medcoder learn` on CodiEsp train (~4 min). Its own home, so the other tests keep
    coding with the untrained agent they were written for.

    MEDCODER_TEST_TRAINED_HOME reuses a home where `medcoder learn` already ran (local
    iteration only; CI never sets it, so CI always trains)."""
    prebuilt = os.environ.get("MEDCODER_TEST_TRAINED_HOME")
    if prebuilt:
        return Settings(home=Path(prebuilt), data_dir=shared_data)
    home = tmp_path_factory.mktemp("medcoder-trained")
    (home / "kb").symlink_to((kb_settings.home / "kb").resolve())
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MEDCODER_HOME", str(home))
        patch.setenv("MEDCODER_DATA_DIR", str(shared_data))
        result = CliRunner().invoke(
            app, ["learn", "--codiesp", str(shared_data / "codiesp" / "train")]
        )
    assert result.exit_code == 0, result.output
    return Settings(home=home, data_dir=shared_data)
