"""The worklist's search and tabs: GET /charts?external_id= keeps the charts whose external
id contains the text in any case (a substring; % and _ are plain characters), and every page
carries `counts`, the charts per status under the same filters but the status filter."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from api.app import create_app
from review.db import transaction
from review.tables import ChartRow
from tests.api.client import Api
from wiring.settings import Settings

TEXT = "Community-acquired pneumonia treated with ceftriaxone. Type 2 diabetes mellitus."
META: dict[str, Any] = {
    "setting": "inpatient",
    "age": 70,
    "sex": "M",
    "discharge_date": "2026-06-30",
}
ZERO = {"new": 0, "coded": 0, "in_review": 0, "committed": 0, "all": 0}


def _chart(api: Api, external_id: str | None, key: str | None = None) -> int:
    body = {"text": TEXT, "meta": META, "external_id": external_id}
    response = api.post("/charts", key, json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _set_status(api: Api, status: str, *chart_ids: int) -> None:
    """Straight in the database: what the counts count is the stored status, however a chart
    reached it (coding, a decision, a commit), and coding here would only cost time."""
    services = api.client.app.state.services
    with transaction(services.sessions) as session:
        session.execute(update(ChartRow).where(ChartRow.id.in_(chart_ids)).values(status=status))


def _page(api: Api, key: str | None = None, **query: Any) -> dict[str, Any]:
    response = api.client.get("/charts", params=query, headers=api.headers(key))
    assert response.status_code == 200, response.text
    return dict(response.json())


def _ids(page: dict[str, Any]) -> list[int]:
    return [c["id"] for c in page["items"]]


def test_external_id_is_a_case_insensitive_substring_match(api: Api) -> None:
    first = _chart(api, "MRN-0042-A")
    second = _chart(api, "mrn-0042-b")
    other = _chart(api, "ACC-9000")
    unnamed = _chart(api, None)

    assert _ids(_page(api, external_id="mrn-0042")) == [second, first]  # newest first
    assert _ids(_page(api, external_id="0042-A")) == [first]
    assert _ids(_page(api, external_id="c-90")) == [other]  # inside, not only a prefix
    assert _ids(_page(api, external_id="nothing like it")) == []
    # Blank is no filter; surrounding spaces are not part of the search.
    assert _ids(_page(api, external_id="  ")) == [unnamed, other, second, first]
    assert _ids(_page(api, external_id=" 0042-b ")) == [second]


def test_like_wildcards_in_the_search_are_plain_characters(api: Api) -> None:
    percent = _chart(api, "LAB%7")
    under = _chart(api, "A_B")
    _chart(api, "LAB17")
    _chart(api, "AXB")
    _chart(api, "a/b")  # the escape character itself

    assert _ids(_page(api, external_id="%")) == [percent]
    assert _ids(_page(api, external_id="_")) == [under]
    assert _ids(_page(api, external_id="a_b")) == [under]
    assert _page(api, external_id="/")["total"] == 1


def test_counts_per_status_ignore_the_status_filter(api: Api) -> None:
    charts = [_chart(api, f"CNT-{n}") for n in range(7)]
    _set_status(api, "coded", charts[0], charts[1])
    _set_status(api, "in_review", charts[2])
    _set_status(api, "committed", charts[3], charts[4], charts[5])
    expected = {"new": 1, "coded": 2, "in_review": 1, "committed": 3, "all": 7}

    everything = _page(api)
    assert everything["counts"] == expected
    assert everything["total"] == 7
    for status in ("new", "coded", "in_review", "committed"):
        page = _page(api, status=status)
        assert page["counts"] == expected, status
        assert page["total"] == expected[status] == len(page["items"])
        assert {c["status"] for c in page["items"]} == {status}


def test_an_empty_worklist_counts_zero_for_every_status(api: Api) -> None:
    page = _page(api)
    assert page["counts"] == ZERO
    assert page["total"] == 0 and page["items"] == []


def test_counts_and_pages_follow_the_search(api: Api) -> None:
    ours = [_chart(api, f"WARD7-{n:02d}") for n in range(5)]
    _chart(api, "WARD8-01")
    _set_status(api, "coded", ours[0], ours[1])

    found = _page(api, external_id="ward7", limit=2)
    assert found["counts"] == {"new": 3, "coded": 2, "in_review": 0, "committed": 0, "all": 5}
    assert found["total"] == 5
    assert _ids(found) == [ours[4], ours[3]]
    assert _ids(_page(api, external_id="ward7", limit=2, offset=4)) == [ours[0]]

    coded = _page(api, external_id="WARD7", status="coded")
    assert coded["total"] == 2 and _ids(coded) == [ours[1], ours[0]]
    assert coded["counts"]["all"] == 5
    assert _page(api)["counts"]["all"] == 6


def test_counts_follow_the_assignee_filter(api: Api) -> None:
    api.user("ann", "coder")
    ids = {u["name"]: u["id"] for u in api.get("/users").json()}
    hers = _chart(api, "ASG-1")
    _chart(api, "ASG-2")
    assigned = api.client.put(
        f"/charts/{hers}/assignee", json={"user_id": ids["ann"]}, headers=api.headers()
    )
    assert assigned.status_code == 200, assigned.text
    _set_status(api, "coded", hers)

    page = _page(api, assigned_to=str(ids["ann"]))
    assert page["counts"] == {"new": 0, "coded": 1, "in_review": 0, "committed": 0, "all": 1}
    assert _page(api, assigned_to="none")["counts"]["all"] == 1


@pytest.fixture
def restricted(api_settings: Settings) -> Iterator[Api]:
    """A server that restricts coders to the charts assigned to them or to no one."""
    app = create_app(api_settings.model_copy(update={"restrict_to_assigned": True}))
    with TestClient(app) as client:
        yield Api.bootstrap(client, app)


def test_a_restricted_coder_counts_only_the_charts_they_may_see(restricted: Api) -> None:
    api = restricted
    ann = api.user("ann", "coder")
    api.user("bob", "coder")
    ids = {u["name"]: u["id"] for u in api.get("/users").json()}
    bobs = _chart(api, "VIS-1")
    _chart(api, "VIS-2")
    assigned = api.client.put(
        f"/charts/{bobs}/assignee", json={"user_id": ids["bob"]}, headers=api.headers()
    )
    assert assigned.status_code == 200, assigned.text

    seen = _page(api, ann, external_id="vis")
    assert seen["counts"]["all"] == 1 and seen["total"] == 1
    assert bobs not in _ids(seen)
    assert _page(api, external_id="vis")["counts"]["all"] == 2  # the lead sees both


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"external_id": "x" * 201}, "query.external_id"),
        ({"external_id": "MRN\x00"}, "query.external_id"),
        ({"status": "open"}, "query.status"),
    ],
)
def test_a_bad_search_is_a_problem_naming_the_field(
    api: Api, query: dict[str, str], field: str
) -> None:
    response = api.client.get("/charts", params=query, headers=api.headers())
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    fields = [e["field"] for e in problem.get("errors", [])] + [problem.get("field")]
    assert field in fields, problem


def test_an_auditor_sees_the_same_counts(api: Api) -> None:
    auditor = api.user("audra", "auditor")
    _set_status(api, "committed", _chart(api, "AUD-1"))
    _chart(api, "AUD-2")
    response: httpx.Response = api.get("/charts?external_id=aud-", auditor)
    assert response.status_code == 200, response.text
    counts = response.json()["counts"]
    assert counts == {"new": 1, "coded": 0, "in_review": 0, "committed": 1, "all": 2}
