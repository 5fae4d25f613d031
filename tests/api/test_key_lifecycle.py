"""Key lifecycle over HTTP: a lead deactivates a key or rotates it, and the old key stops
working at once in this server; nobody else may do it."""

from __future__ import annotations

import time

import pytest

from api import auth
from tests.api.client import Api


def test_a_deactivated_or_rotated_key_stops_working_at_once(api: Api) -> None:
    coder_key = api.user("ana", "coder")
    assert api.get("/charts", coder_key).status_code == 200  # cached as valid now
    users = {u["name"]: u for u in api.get("/users").json()}
    ana = users["ana"]
    assert api.post(f"/users/{ana['id']}/deactivate", coder_key).status_code == 403
    done = api.post(f"/users/{ana['id']}/deactivate")
    assert done.status_code == 200 and done.json()["active"] is False
    assert api.get("/charts", coder_key).status_code == 401

    rotated = api.post(f"/users/{ana['id']}/rotate-key")
    assert rotated.status_code == 200
    new_key = rotated.json()["key"]
    assert rotated.json()["user"]["active"] is True and new_key != coder_key
    assert api.get("/charts", new_key).status_code == 200
    assert api.get("/charts", coder_key).status_code == 401
    assert api.post("/users/999999/rotate-key").status_code == 404
    # A lead cannot lock themself out.
    assert api.post(f"/users/{users['lead']['id']}/deactivate").status_code == 409


def test_a_key_deactivated_from_the_shell_stops_within_the_short_cache(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert auth.KEY_CACHE_SECONDS <= 2  # the server's own delay, for any other process
    monkeypatch.setattr(auth, "KEY_CACHE_SECONDS", 0.2)
    key = api.user("sam", "coder")
    assert api.get("/charts", key).status_code == 200  # now cached
    engine = api.client.app.state.services.engine
    with engine.begin() as connection:  # what `medcoder users deactivate` does, elsewhere
        connection.exec_driver_sql("UPDATE users SET active = false WHERE name = 'sam'")
    time.sleep(0.3)
    assert api.get("/charts", key).status_code == 401
