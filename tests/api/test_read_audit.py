"""PHI read auditing: every request that answers with a chart's content leaves exactly one
row in chart_reads naming the reader, the chart, the endpoint (method and route) and the
request id; the worklist, the read log itself, refused requests and writes leave none; the
database refuses to change or remove a read."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from review.access import record_read
from review.actors import Actor
from review.db import transaction
from tests.api.access_seed import CHART, META, Seeded, coded_with_query, commit
from tests.api.client import Api

# (method, path with {chart}/{query}/{fresh} to fill in, the endpoint the row names)
READS = [
    ("GET", "/charts/{chart}", "GET /charts/{chart_id}"),
    ("GET", "/charts/{chart}/proposals", "GET /charts/{chart_id}/proposals"),
    # What the agent dropped and why (the chart screen): it quotes the chart too.
    ("GET", "/charts/{chart}/coding-runs/latest", "GET /charts/{chart_id}/coding-runs/latest"),
    ("GET", "/charts/{chart}/code-sets", "GET /charts/{chart_id}/code-sets"),
    ("GET", "/charts/{chart}/code-sets/1", "GET /charts/{chart_id}/code-sets/{version}"),
    ("GET", "/charts/{chart}/export", "GET /charts/{chart_id}/export"),
    ("GET", "/charts/{chart}/export?format=csv", "GET /charts/{chart_id}/export"),
    ("GET", "/charts/{chart}/drg", "GET /charts/{chart_id}/drg"),
    ("GET", "/charts/{chart}/cdi", "GET /charts/{chart_id}/cdi"),
    ("GET", "/charts/{chart}/queries", "GET /charts/{chart_id}/queries"),
    ("GET", "/queries/{query}", "GET /queries/{query_id}"),
    ("GET", "/charts/{chart}/audit", "GET /charts/{chart_id}/audit"),
    # Its conversations (GET /conversations/{id} and asking: tests/api/test_chat_api.py).
    ("GET", "/charts/{chart}/conversations", "GET /charts/{chart_id}/conversations"),
    # A run answers with proposals quoting the chart: a read as well as a write.
    ("POST", "/charts/{fresh}/coding-runs", "POST /charts/{chart_id}/coding-runs"),
]


def _reads(api: Api, chart_id: int, after_id: int = 0) -> list[dict[str, Any]]:
    response = api.get(f"/charts/{chart_id}/reads?after_id={after_id}")
    assert response.status_code == 200, response.text
    return list(response.json())


def _last_id(api: Api, chart_id: int) -> int:
    rows = _reads(api, chart_id)
    return rows[-1]["id"] if rows else 0


@pytest.fixture
def seeded(api: Api) -> Seeded:
    found = coded_with_query(api)
    commit(api, found.chart_id)
    return found


@pytest.mark.parametrize(("method", "path", "endpoint"), READS, ids=[r[1] for r in READS])
def test_each_read_writes_one_row_naming_reader_and_endpoint(
    api: Api, seeded: Seeded, method: str, path: str, endpoint: str
) -> None:
    fresh = int(api.chart(CHART, **META)["id"])
    chart_id = fresh if "{fresh}" in path else seeded.chart_id
    url = path.format(chart=seeded.chart_id, query=seeded.query_id, fresh=fresh)
    key = api.user("reading coder", "coder")
    before = _last_id(api, chart_id)
    headers = api.headers(key, **{"X-Request-ID": "read-audit-1"})
    if method == "GET":
        response = api.client.get(url, headers=headers)
    else:
        response = api.client.post(url, headers=headers, json={})
    assert response.status_code in (200, 201), response.text

    rows = _reads(api, chart_id, after_id=before)
    assert len(rows) == 1, rows
    (row,) = rows
    assert row["endpoint"] == endpoint
    assert (row["actor"], row["role"], row["chart_id"]) == ("reading coder", "coder", chart_id)
    assert row["request_id"] == "read-audit-1"
    users = {u["name"]: u["id"] for u in api.get("/users").json()}
    assert row["user_id"] == users["reading coder"]


def test_every_route_that_reads_a_chart_is_in_the_list(api: Api) -> None:
    """A new GET under a chart or a query must be wired to record its reads (or be added
    here as the exception it is)."""
    not_reads = {"GET /charts/{chart_id}/reads"}  # the log itself shows no chart content
    routes = {
        f"GET {path}"
        for path, operations in api.client.app.openapi()["paths"].items()
        if "get" in operations and ("{chart_id}" in path or "{query_id}" in path)
    }
    assert routes - not_reads == {r[2] for r in READS if r[0] == "GET"}


def test_the_worklist_the_read_log_and_refused_requests_record_nothing(
    api: Api, seeded: Seeded
) -> None:
    chart_id = seeded.chart_id
    before = _last_id(api, chart_id)
    auditor = api.user("an auditor", "auditor")
    coder = api.user("a coder", "coder")
    assert api.get("/charts", coder).status_code == 200
    assert api.get(f"/charts/{chart_id}/reads", auditor).status_code == 200
    assert api.get(f"/charts/{chart_id}/reads").status_code == 200
    assert api.get(f"/charts/{chart_id}/code-sets/9", coder).status_code == 404
    assert api.get(f"/charts/{chart_id}/export?format=xml", coder).status_code == 422
    assert api.get(f"/charts/{chart_id}", "not-a-key").status_code == 401
    assert api.get("/charts/999999", coder).status_code == 404
    # A committed chart is not coded again: the refused run shows nothing.
    assert api.post(f"/charts/{chart_id}/coding-runs", coder, json={}).status_code == 409
    assert _reads(api, chart_id, after_id=before) == []
    assert api.get("/charts/999999/reads").status_code == 404


def test_writes_are_audited_not_recorded_as_reads(api: Api) -> None:
    found = coded_with_query(api)
    before = _last_id(api, found.chart_id)
    coder = api.user("a coder", "coder")
    assert api.decide(found.proposal, coder, action="accept").status_code == 200
    cancelled = api.post(f"/queries/{found.query_id}/cancel", coder, json={"reason": "asked"})
    assert cancelled.status_code == 200, cancelled.text
    assert _reads(api, found.chart_id, after_id=before) == []


def test_only_leads_and_auditors_read_the_log_in_pages(api: Api) -> None:
    chart_id = int(api.chart(CHART, **META)["id"])
    coder = api.user("a coder", "coder")
    for _ in range(3):
        assert api.get(f"/charts/{chart_id}", coder).status_code == 200
    assert api.get(f"/charts/{chart_id}/reads", coder).status_code == 403
    auditor = api.user("an auditor", "auditor")
    every = api.get(f"/charts/{chart_id}/reads", auditor).json()
    assert [r["actor"] for r in every] == ["a coder"] * 3
    first = api.get(f"/charts/{chart_id}/reads?limit=2", auditor).json()
    rest = api.get(f"/charts/{chart_id}/reads?after_id={first[-1]['id']}", auditor).json()
    assert [r["id"] for r in first + rest] == [r["id"] for r in every]


def test_the_read_log_cannot_be_changed_or_removed(api: Api) -> None:
    chart_id = int(api.chart(CHART, **META)["id"])
    services = api.client.app.state.services
    with transaction(services.sessions) as session:
        record_read(
            session,
            actor=Actor(1, "lead", "lead", "r-1"),
            chart_id=chart_id,
            endpoint="GET /charts/{chart_id}",
        )
    for statement in (
        "UPDATE chart_reads SET actor = 'someone else'",
        "UPDATE chart_reads SET chart_id = chart_id + 1",
        "DELETE FROM chart_reads",
    ):
        with pytest.raises(DatabaseError, match="append-only"), services.engine.begin() as db:
            db.execute(text(statement))
    assert [r["actor"] for r in _reads(api, chart_id)] == ["lead"]


def test_an_answer_whose_read_cannot_be_recorded_is_not_sent(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    chart_id = int(api.chart(CHART, **META)["id"])

    def database_down(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("database down")

    monkeypatch.setattr("api.access.record_read", database_down)
    client = TestClient(api.client.app, raise_server_exceptions=False)
    response = client.get(f"/charts/{chart_id}", headers=api.headers())
    assert response.status_code == 500
    assert "Discharge" not in response.text
