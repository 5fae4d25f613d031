"""API tests run against both review databases: SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from retrieval.build import BuildReport
from tests.agent.conftest import llm_server, tiktoken_ready  # noqa: F401  (shared fixtures)
from tests.api.client import Api
from tests.api.databases import PostgresDatabases, postgres_databases, sqlite_url


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresDatabases]:
    with postgres_databases() as databases:
        yield databases


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return sqlite_url(tmp_path)
    databases: PostgresDatabases = request.getfixturevalue("postgres")
    return databases.fresh()


@pytest.fixture
def api_settings(kb_settings: Settings, built_kb: BuildReport, database_url: str) -> Settings:
    return kb_settings.model_copy(
        update={"database_url": database_url, "llm_base_url": None, "llm_model": None}
    )


@pytest.fixture
def api(api_settings: Settings) -> Iterator[Api]:
    """A client for a fresh app on a fresh database, holding a lead's key."""
    app = create_app(api_settings)
    with TestClient(app) as client:
        yield Api.bootstrap(client, app)
