"""The edge refuses before it reads: no key or a wrong key is answered while the body is still
unread, bodies are limited per route as they stream (chunked ones too), and an address that
keeps failing to authenticate is locked out for a while."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, MutableMapping
from datetime import datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from tests.api.client import Api
from wiring.settings import Settings

CHUNK = b"x" * 65_536


class Sender:
    """An ASGI client that offers an endless chunked body and counts what the app pulls."""

    def __init__(self, chunks: int | None = None) -> None:
        self.pulled = 0
        self.chunks = chunks
        self.status: int | None = None
        self.body = b""
        self.headers: dict[bytes, bytes] = {}

    async def receive(self) -> dict[str, Any]:
        self.pulled += 1
        more = self.chunks is None or self.pulled < self.chunks
        return {"type": "http.request", "body": CHUNK, "more_body": more}

    async def send(self, message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = dict(message.get("headers", []))
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")


def call(app: FastAPI, method: str, path: str, headers: list[tuple[bytes, bytes]]) -> Sender:
    sender = Sender()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"transfer-encoding", b"chunked"), *headers],
        "client": ("203.0.113.9", 5000),
        "server": ("testserver", 80),
        "scheme": "http",
        "root_path": "",
    }
    asyncio.run(app(scope, sender.receive, sender.send))
    return sender


@pytest.mark.parametrize(
    "headers",
    [[], [(b"authorization", b"Bearer mck_wrong")], [(b"x-api-key", b"\xff\xfe")]],
    ids=["no key", "wrong key", "undecodable key"],
)
def test_an_unauthenticated_body_is_never_read(api: Api, headers: list[Any]) -> None:
    answered = call(api.client.app, "POST", "/charts", headers)
    assert answered.status == 401, answered.body
    assert answered.pulled == 0  # the endless body was not touched
    assert answered.headers[b"content-type"] == b"application/problem+json"
    assert answered.headers[b"www-authenticate"] == b"Bearer"


def test_a_chunked_body_is_cut_at_the_route_limit(api: Api) -> None:
    key = f"Bearer {api.lead_key}".encode()
    answered = call(api.client.app, "POST", "/charts", [(b"authorization", key)])
    assert answered.status == 413, answered.body
    assert b"problem+json" in answered.headers[b"content-type"]
    limit = api.client.app.state.services.settings.max_chart_bytes * 2 + 65_536
    assert answered.pulled * len(CHUNK) <= limit + len(CHUNK)  # stopped at the limit
    # Routes that take small JSON stop far sooner than the chart route.
    small = call(api.client.app, "POST", "/charts/1/commit", [(b"authorization", key)])
    assert small.status == 413 and small.pulled * len(CHUNK) <= 262_144 + len(CHUNK)


def test_content_length_over_the_route_limit_is_refused_unread(api: Api) -> None:
    too_big = api.post(
        "/queries/1/answer",
        headers={"Content-Type": "application/json", "Content-Length": "300000"},
        content=b"{}" + b" " * 299_998,
    )
    assert too_big.status_code == 413
    assert "262,144" in too_big.json()["detail"]
    # The chart route takes more: a 400 KB chart is fine there.
    chart = api.chart("Essential hypertension. " * 16_000, setting="outpatient")
    assert len(chart["text"]) > 300_000


def test_docs_and_health_need_no_key_and_serve_everything_locally(api: Api) -> None:
    page = api.client.get("/docs")
    assert page.status_code == 200
    assert "/docs-assets/swagger-ui-bundle.js" in page.text and "https://" not in page.text
    assert "'self'" in page.headers["content-security-policy"]
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js"):
        assert api.client.get(f"/docs-assets/{asset}").status_code == 200
    redoc = api.client.get("/redoc")
    assert redoc.status_code == 200 and "https://" not in redoc.text


def test_openapi_declares_the_key_schemes_on_every_protected_operation(api: Api) -> None:
    schema = api.client.get("/openapi.json").json()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["bearerKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "Authorization: Bearer <API key>",
    }
    assert schemes["apiKey"]["in"] == "header" and schemes["apiKey"]["name"] == "X-API-Key"
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if path == "/health":
                assert "security" not in operation
                continue
            assert {"bearerKey": []} in operation.get("security", []), (method, path)


@pytest.fixture
def strict(api_settings: Settings) -> Iterator[tuple[TestClient, Api]]:
    settings = api_settings.model_copy(update={"auth_max_failures": 3, "auth_lockout_s": 60.0})
    app = create_app(settings)
    with TestClient(app) as client:
        yield client, Api.bootstrap(client, app)


def test_an_address_that_keeps_failing_is_locked_out_and_logged_without_keys(
    strict: tuple[TestClient, Api], caplog: pytest.LogCaptureFixture
) -> None:
    client, api = strict
    caplog.set_level(logging.WARNING, logger="medcoder.auth")
    for attempt in range(3):
        wrong = client.get("/charts", headers={"Authorization": f"Bearer mck_guess{attempt}"})
        assert wrong.status_code == 401
    locked = client.get("/charts", headers=api.headers())  # even the right key, for a while
    assert locked.status_code == 429
    assert 1 <= int(locked.headers["retry-after"]) <= 61
    assert locked.json()["title"] == "Too many requests"
    failures = [r.getMessage() for r in caplog.records if r.name == "medcoder.auth"]
    assert len(failures) == 3 and all("testclient" in line for line in failures)
    assert not any("mck_guess" in line or api.lead_key in line for line in failures)


def test_an_expired_key_stops_and_says_so(api: Api) -> None:
    created = api.post("/users", json={"name": "temp", "role": "coder", "expires_in_days": 1})
    assert created.status_code == 201
    key, user = created.json()["key"], created.json()["user"]
    assert user["key_expires_at"] is not None
    assert api.get("/charts", key).status_code == 200
    engine = api.client.app.state.services.engine
    with engine.begin() as connection:  # a day passes
        connection.exec_driver_sql(
            "UPDATE users SET key_expires_at = created_at WHERE name = 'temp'"
        )
    api.client.app.state.services.forget_keys()
    expired = api.get("/charts", key)
    assert expired.status_code == 401 and "expired" in expired.json()["detail"]
    rotated = api.post(f"/users/{user['id']}/rotate-key?expires_in_days=30")
    assert rotated.status_code == 200 and rotated.json()["user"]["key_expires_at"]
    assert api.get("/charts", rotated.json()["key"]).status_code == 200
    assert (
        api.post("/users", json={"name": "t2", "role": "coder", "expires_in_days": 0}).status_code
        == 422
    )


def test_the_server_default_key_lifetime_applies(api_settings: Settings) -> None:
    app = create_app(api_settings.model_copy(update={"key_days": 7}))
    with TestClient(app) as client:
        api = Api.bootstrap(client, app)
        user = api.post("/users", json={"name": "week", "role": "coder"}).json()["user"]
    assert user["key_expires_at"] is not None
    lifetime = datetime.fromisoformat(user["key_expires_at"]) - datetime.fromisoformat(
        user["created_at"]
    )
    assert lifetime.days in (6, 7)


def test_answers_over_https_carry_hsts_and_plain_ones_do_not(api: Api) -> None:
    plain = api.client.get("/health")
    assert "strict-transport-security" not in plain.headers
    secure = TestClient(api.client.app, base_url="https://testserver").get("/health")
    assert secure.headers["strict-transport-security"].startswith("max-age=63072000")
