"""Shared fixtures: where the reference data lives, and a guard against real model calls."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def _shared_data_dir() -> Path:
    configured = os.environ.get("MEDCODER_DATA_DIR")
    return Path(configured) if configured else REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The read-only reference files (../shared/data); tests that need them skip without."""
    path = _shared_data_dir()
    if not path.is_dir():
        pytest.skip(f"reference data not found at {path}")
    return path


# The session knowledge base (built once from the real files) is shared by every test package.
from tests.kb_fixtures import built_kb, kb_settings, searcher  # noqa: E402, F401
