"""Shared fixtures: where the reference data lives, and a guard against real model calls."""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def _shared_data_dir() -> Path:
    configured = os.environ.get("MEDCODER_DATA_DIR")
    return Path(configured) if configured else REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The read-only reference files (../shared/data). Without them a test that needs them
    skips on a developer machine and fails in CI (CI=true), where they must be present."""
    path = _shared_data_dir()
    if not path.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"reference data not found at {path} (CI must have ../shared/data)")
        pytest.skip(f"reference data not found at {path}")
    return path


# Shared by every test package: the session knowledge base (built once from the real files)
# and the review database on SQLite and on PostgreSQL.
from tests.api.databases import database_url, postgres  # noqa: E402, F401
from tests.cli_fixtures import run  # noqa: E402, F401
from tests.kb_fixtures import built_kb, kb_settings, searcher, trained_settings  # noqa: E402, F401

# Tests never reach a network model (or any other remote host): every connection that is not
# to this machine fails at once, whichever client library makes it.
LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


def _is_loopback(address: object) -> bool:
    if not isinstance(address, tuple) or not address:
        return True  # AF_UNIX paths and other local families
    host = str(address[0]).split("%", 1)[0]
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def _no_remote_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def refuse(address: object) -> None:
        if not _is_loopback(address):
            raise ConnectionRefusedError(f"tests may not connect to {address!r} (not loopback)")

    def connect(self: socket.socket, address: Any) -> None:
        refuse(address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        refuse(address)
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
