"""Keys and roles: every endpoint but /health needs a key; roles limit what a key may do."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from tests.api.client import Api


def test_health_needs_no_key_and_everything_else_does(api: Api) -> None:
    assert api.client.get("/health").json()["database"] == "ok"
    for method, path in [
        ("get", "/charts"),
        ("post", "/charts"),
        ("get", "/charts/1"),
        ("post", "/proposals/1/decision"),
        ("post", "/charts/1/commit"),
        ("get", "/charts/1/audit"),
        ("get", "/codes/E11.9"),
        ("get", "/metrics"),
        ("get", "/users"),
    ]:
        response = getattr(api.client, method)(path)
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    wrong = api.client.get("/charts", headers={"Authorization": "Bearer mck_not-a-key"})
    assert wrong.status_code == 401 and "unknown" in wrong.json()["detail"]


def test_roles(api: Api) -> None:
    coder = api.user("cody", "coder")
    auditor = api.user("audrey", "auditor")
    assert api.post("/users", coder, json={"name": "x", "role": "lead"}).status_code == 403
    assert api.get("/users", auditor).status_code == 403
    chart = api.chart("Essential hypertension.", coder)
    denied = api.post("/charts", auditor, json={"text": "Asthma."})
    assert denied.status_code == 403 and "auditor" in denied.json()["detail"]
    assert api.get(f"/charts/{chart['id']}", auditor).status_code == 200
    assert api.post(f"/charts/{chart['id']}/coding-runs", auditor, json={}).status_code == 403
    assert api.post(f"/charts/{chart['id']}/commit", coder).status_code == 403
    assert api.get("/metrics", auditor).text.startswith("# HELP")
    users = api.get("/users").json()
    assert {u["name"]: u["role"] for u in users} == {
        "lead": "lead",
        "cody": "coder",
        "audrey": "auditor",
    }
    assert all("key" not in u and len(u["key_prefix"]) == 8 for u in users)
    duplicate = api.post("/users", json={"name": "cody", "role": "coder"})
    assert duplicate.status_code == 409


def test_keys_are_stored_hashed(api: Api, api_settings) -> None:  # type: ignore[no-untyped-def]
    key = api.user("hash-check", "coder")
    engine = create_engine(api_settings.review_database_url)
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT key_hash FROM users")).scalars().all()
    engine.dispose()
    assert key not in stored and all(len(h) == 64 for h in stored)
