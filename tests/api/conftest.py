"""API tests run against both review databases: SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from retrieval.build import BuildReport
from tests.agent.conftest import llm_server, tiktoken_ready  # noqa: F401  (shared fixtures)
from tests.api.client import Api
from wiring.settings import Settings


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
