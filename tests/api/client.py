"""A thin test client that knows keys, ETags and the chart flow's common steps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI

from review.actors import Actor
from review.db import transaction
from review.users import create_user

WAIT = "wait=300"


@dataclass
class Api:
    client: Any  # TestClient or httpx.Client
    lead_key: str

    @classmethod
    def bootstrap(cls, client: Any, app: FastAPI) -> Api:
        """The first lead comes from the command-line path (no key exists yet)."""
        with transaction(app.state.services.sessions) as session:
            _, key = create_user(
                session, name="lead", role="lead", actor=Actor(None, "cli", "lead")
            )
        return cls(client, key)

    def headers(self, key: str | None = None, **extra: str) -> dict[str, str]:
        # A coder's client that waits for coding runs (RFC 7240; other endpoints ignore it):
        # POST .../coding-runs answers with the run, as a person at the screen expects.
        return {"Authorization": f"Bearer {key or self.lead_key}", "Prefer": WAIT, **extra}

    def user(self, name: str, role: str) -> str:
        response = self.client.post(
            "/users", json={"name": name, "role": role}, headers=self.headers()
        )
        assert response.status_code == 201, response.text
        return str(response.json()["key"])

    def post(self, path: str, key: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = self.headers(key, **kwargs.pop("headers", {}))
        return self.client.post(path, headers=headers, **kwargs)  # type: ignore[no-any-return]

    def get(self, path: str, key: str | None = None, **kwargs: Any) -> httpx.Response:
        return self.client.get(path, headers=self.headers(key), **kwargs)  # type: ignore[no-any-return]

    def chart(self, text: str, key: str | None = None, **meta: Any) -> dict[str, Any]:
        response = self.post("/charts", key, json={"text": text, "meta": meta})
        assert response.status_code == 201, response.text
        return dict(response.json())

    def coded_chart(self, text: str, key: str | None = None, **meta: Any) -> list[dict[str, Any]]:
        """Post and code a chart; its proposals."""
        chart = self.chart(text, key, **meta)
        response = self.post(f"/charts/{chart['id']}/coding-runs", key, json={})
        assert response.status_code == 201, response.text
        return list(response.json()["proposals"])

    def decide(
        self, proposal: dict[str, Any], key: str | None = None, **body: Any
    ) -> httpx.Response:
        headers = {"If-Match": f'"{proposal["version"]}"'}
        return self.post(f"/proposals/{proposal['id']}/decision", key, json=body, headers=headers)
