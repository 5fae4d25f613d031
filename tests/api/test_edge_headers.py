"""The edge: request ids are taken only when well formed, and every answer says not to cache
or sniff it (PHI), with a content security policy outside the interactive docs."""

from __future__ import annotations

import logging
import re

import pytest

from tests.api.client import Api


def test_a_well_formed_request_id_is_echoed_and_any_other_replaced(api: Api) -> None:
    kept = api.client.get("/health", headers={"X-Request-ID": "batch-7_a1"})
    assert kept.headers["x-request-id"] == "batch-7_a1"
    for given in ("lead1 approved by compliance", "x" * 65, "id;drop"):
        answered = api.client.get("/health", headers={"X-Request-ID": given})
        assert answered.status_code == 200
        assert re.fullmatch(r"[0-9a-f]{32}", answered.headers["x-request-id"])
    raw = api.client.get("/health", headers=[(b"X-Request-ID", b"\xed\xa0\x80")])
    assert raw.status_code == 200 and re.fullmatch(r"[0-9a-f]{32}", raw.headers["x-request-id"])


def test_every_answer_is_marked_no_store_and_nosniff(api: Api) -> None:
    chart = api.chart("Essential hypertension.", setting="outpatient")
    for response in (api.get(f"/charts/{chart['id']}"), api.client.get("/health")):
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "default-src 'none'" in response.headers["content-security-policy"]
    docs = api.client.get("/docs").headers["content-security-policy"]  # its own files only
    assert "default-src 'self'" in docs and "https:" not in docs


def test_a_lone_surrogate_in_a_chart_is_a_422_naming_it(api: Api) -> None:
    body = '{"text": "Fever \\ud800 and cough.", "meta": {}}'  # the JSON escape, as sent
    refused = api.post("/charts", content=body, headers={"Content-Type": "application/json"})
    assert refused.status_code == 422
    assert "surrogate" in refused.json()["detail"] and "offset 6" in refused.json()["detail"]
    assert api.get("/charts").json()["total"] == 0  # nothing half-saved


def test_an_empty_text_is_reported_against_the_text(api: Api) -> None:
    empty = api.post("/charts", json={"text": "", "meta": {}})
    assert empty.status_code == 422 and empty.json()["field"] == "body.text"
    assert "empty" in empty.json()["detail"]


def test_a_body_that_is_not_json_says_so_and_where(api: Api) -> None:
    broken = api.post(
        "/charts", content='{"text": "Fever", ', headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 422
    assert "not valid JSON at character" in broken.json()["detail"]
    binary = api.post(
        "/charts", content=b"\x00\x01binary", headers={"Content-Type": "application/octet-stream"}
    )
    assert binary.status_code == 422 and "JSON object" in binary.json()["detail"]


def test_an_unexpected_error_is_a_500_problem_logged_without_its_message(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    def boom() -> None:
        raise ValueError("Jane Roe, MRN 4471, HIV positive")  # as if a message quoted a chart

    api.client.app.router.add_api_route("/boom", boom)
    caplog.set_level(logging.INFO)
    # raise_server_exceptions is on: an error escaping the app would fail here.
    answer = api.client.get("/boom", headers=api.headers(**{"X-Request-ID": "boom-1"}))
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/problem+json"
    assert "Jane" not in answer.text and answer.headers["x-request-id"] == "boom-1"
    logged = [r for r in caplog.records if "ValueError" in r.getMessage()]
    assert [r.getMessage() for r in logged] == ["unhandled ValueError in request boom-1"]
    assert all("Jane" not in r.getMessage() and r.exc_info is None for r in caplog.records)
