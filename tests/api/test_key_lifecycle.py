"""Key lifecycle over HTTP: a lead deactivates a key or rotates it, and the old key stops
working at once in this server; nobody else may do it."""

from __future__ import annotations

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
