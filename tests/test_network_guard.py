"""The test-wide guard: no test reaches a remote host (a real model) by accident."""

from __future__ import annotations

import socket
import time

import pytest


def test_remote_connections_are_refused_at_once() -> None:
    started = time.monotonic()
    with pytest.raises(ConnectionRefusedError, match="not loopback"):
        socket.create_connection(("203.0.113.7", 443), timeout=5)
    with (
        socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock,
        pytest.raises(ConnectionRefusedError, match="not loopback"),
    ):
        sock.connect_ex(("2001:db8::1", 443, 0, 0))
    assert time.monotonic() - started < 1


def test_loopback_connections_are_allowed() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=2):
            pass
