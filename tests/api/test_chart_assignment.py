"""Chart assignment: a lead assigns a chart to an active coder or lead (audited, a new chart
version); with MEDCODER_RESTRICT_TO_ASSIGNED a coder sees and works only charts assigned to
them or to no one, every other chart answering 404 as if it did not exist; leads and
auditors see every chart."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.api.access_seed import CHART, META, Seeded, coded_with_query
from tests.api.client import Api
from wiring.settings import Settings


@pytest.fixture
def restricted(api_settings: Settings) -> Iterator[Api]:
    """A client for a server that restricts coders to their charts."""
    app = create_app(api_settings.model_copy(update={"restrict_to_assigned": True}))
    with TestClient(app) as client:
        yield Api.bootstrap(client, app)


def _ids(api: Api) -> dict[str, int]:
    return {u["name"]: u["id"] for u in api.get("/users").json()}


def _assign(api: Api, chart_id: int, user_id: int | None, **headers: str) -> httpx.Response:
    return api.client.put(  # type: ignore[no-any-return]
        f"/charts/{chart_id}/assignee",
        json={"user_id": user_id},
        headers=api.headers(None, **headers),
    )


def _reads(chart: int, query: int) -> list[str]:
    return [
        f"/charts/{chart}",
        f"/charts/{chart}/proposals",
        f"/charts/{chart}/code-sets",
        f"/charts/{chart}/export",
        f"/charts/{chart}/drg",
        f"/charts/{chart}/cdi",
        f"/charts/{chart}/queries",
        f"/charts/{chart}/audit",
        f"/queries/{query}",
    ]


def _writes(seeded: Seeded) -> list[tuple[str, str, dict[str, Any]]]:
    chart, query = seeded.chart_id, seeded.query_id
    at = CHART.index("pneumonia.")
    return [
        ("POST", f"/charts/{chart}/coding-runs", {}),
        (
            "POST",
            f"/charts/{chart}/codes",
            {"code": "J18.9", "evidence": [{"start": at, "end": at + 9}]},
        ),
        ("POST", f"/proposals/{seeded.proposal['id']}/decision", {"action": "accept"}),
        ("POST", f"/charts/{chart}/queries", {}),
        ("PUT", f"/queries/{query}", {}),
        ("POST", f"/queries/{query}/send", {}),
        ("POST", f"/queries/{query}/answer", {"answer": "acute on chronic diastolic"}),
        ("POST", f"/queries/{query}/cancel", {"reason": "no longer needed"}),
    ]


def _send(api: Api, key: str, method: str, path: str, body: dict[str, Any]) -> httpx.Response:
    headers = api.headers(key, **{"If-Match": '"1"'})
    return api.client.request(method, path, json=body, headers=headers)  # type: ignore[no-any-return]


def test_a_coder_sees_only_own_and_unassigned_charts(restricted: Api) -> None:
    api = restricted
    ann, bob = api.user("ann", "coder"), api.user("bob", "coder")
    ids = _ids(api)
    others = coded_with_query(api)  # assigned to bob below
    own = coded_with_query(api)  # assigned to ann
    free = int(api.chart(CHART, **META)["id"])  # assigned to no one
    assert _assign(api, others.chart_id, ids["bob"]).status_code == 200
    assert _assign(api, own.chart_id, ids["ann"]).status_code == 200

    listed = api.get("/charts", ann).json()
    assert {c["id"] for c in listed["items"]} == {own.chart_id, free}
    assert listed["total"] == 2
    assert {c["id"] for c in api.get("/charts", bob).json()["items"]} == {others.chart_id, free}

    absent = api.get("/charts/999999", ann).json()["detail"]
    hidden = api.get(f"/charts/{others.chart_id}", ann)
    assert hidden.status_code == 404
    # Worded as for a chart that does not exist: the id is not confirmed.
    assert hidden.json()["detail"] == absent.replace("999999", str(others.chart_id))
    for path in _reads(others.chart_id, others.query_id):
        assert api.get(path, ann).status_code == 404, path
    for path in _reads(own.chart_id, own.query_id):
        assert api.get(path, ann).status_code != 404, path
    assert api.get(f"/charts/{free}", ann).status_code == 200
    for method, path, body in _writes(others):
        refused = _send(api, ann, method, path, body)
        assert refused.status_code == 404, (method, path, refused.text)
    # Nothing of bob's chart changed, and no read of it was recorded for ann.
    assert api.get(f"/charts/{others.chart_id}/queries").json()[0]["status"] == "open"
    reads = api.get(f"/charts/{others.chart_id}/reads").json()
    assert "ann" not in {r["actor"] for r in reads}

    # Unassigned and own charts are worked as before.
    accepted = api.decide(own.proposal, ann, action="accept")
    assert accepted.status_code == 200, accepted.text
    assert api.post(f"/charts/{free}/coding-runs", ann, json={}).status_code == 201


def test_leads_and_auditors_see_every_chart(restricted: Api) -> None:
    api = restricted
    api.user("ann", "coder")
    auditor = api.user("audrey", "auditor")
    other_lead = api.user("lena", "lead")
    chart_id = int(api.chart(CHART, **META)["id"])
    assert _assign(api, chart_id, _ids(api)["ann"]).status_code == 200
    for key in (auditor, other_lead, None):
        assert api.get(f"/charts/{chart_id}", key).status_code == 200
        assert api.get("/charts", key).json()["total"] == 1


def test_without_the_setting_a_coder_sees_every_chart(api: Api) -> None:
    ann = api.user("ann", "coder")
    api.user("bob", "coder")
    chart_id = int(api.chart(CHART, **META)["id"])
    assert _assign(api, chart_id, _ids(api)["bob"]).status_code == 200
    assert api.get(f"/charts/{chart_id}", ann).status_code == 200
    assert api.get("/charts", ann).json()["total"] == 1


def test_assignment_is_validated_versioned_and_audited(api: Api) -> None:
    coder = api.user("ann", "coder")
    api.user("audrey", "auditor")
    api.user("gone", "coder")
    ids = _ids(api)
    assert api.post(f"/users/{ids['gone']}/deactivate", json={}).status_code == 200
    chart = api.chart(CHART, **META)
    chart_id = chart["id"]
    assert chart["assigned_to"] is None

    for user_id in (ids["audrey"], ids["gone"], 999999):
        refused = _assign(api, chart_id, user_id)
        assert refused.status_code == 422, refused.text
        assert refused.json()["field"] == "body.user_id"
    empty = api.client.put(f"/charts/{chart_id}/assignee", json={}, headers=api.headers())
    assert empty.status_code == 422
    by_coder = api.client.put(
        f"/charts/{chart_id}/assignee", json={"user_id": ids["ann"]}, headers=api.headers(coder)
    )
    assert by_coder.status_code == 403
    assert _assign(api, 999999, ids["ann"]).status_code == 404
    stale = _assign(api, chart_id, ids["ann"], **{"If-Match": '"7"'})
    assert stale.status_code == 409

    assigned = _assign(api, chart_id, ids["ann"], **{"If-Match": f'"{chart["version"]}"'})
    assert assigned.status_code == 200, assigned.text
    body = assigned.json()
    assert body["assigned_to"] == {"id": ids["ann"], "name": "ann"}
    assert body["version"] == chart["version"] + 1
    assert assigned.headers["ETag"] == f'"{body["version"]}"'
    shown = api.get(f"/charts/{chart_id}")
    assert shown.json()["assigned_to"] == {"id": ids["ann"], "name": "ann"}
    assert shown.headers["ETag"] == assigned.headers["ETag"]
    assert api.get("/charts").json()["items"][0]["assigned_to"]["name"] == "ann"

    # The same assignment again changes nothing; taking it away is a change.
    assert _assign(api, chart_id, ids["ann"]).json()["version"] == body["version"]
    unassigned = _assign(api, chart_id, None)
    assert unassigned.status_code == 200
    assert unassigned.json()["assigned_to"] is None

    events = [
        e for e in api.get(f"/charts/{chart_id}/audit").json() if e["action"] == "chart.assign"
    ]
    assert len(events) == 2
    first, second = events
    assert first["before"]["assigned_to"] is None
    assert first["after"]["assigned_to"] == {"user_id": ids["ann"], "name": "ann"}
    assert second["before"]["assigned_to"] == {"user_id": ids["ann"], "name": "ann"}
    assert second["after"]["assigned_to"] is None
    assert first["actor"] == "lead" and first["role"] == "lead"


def test_the_worklist_filters_by_assignee(api: Api) -> None:
    api.user("ann", "coder")
    ids = _ids(api)
    mine, anns, nobodys = (int(api.chart(CHART, **META)["id"]) for _ in range(3))
    assert _assign(api, mine, ids["lead"]).status_code == 200
    assert _assign(api, anns, ids["ann"]).status_code == 200

    def listed(value: str) -> set[int]:
        response = api.get(f"/charts?assigned_to={value}")
        assert response.status_code == 200, response.text
        return {c["id"] for c in response.json()["items"]}

    assert listed("me") == {mine}
    assert listed(str(ids["ann"])) == {anns}
    assert listed("none") == {nobodys}
    assert api.get("/charts?assigned_to=someone").status_code == 422
    assert api.get("/charts?assigned_to=9999999999").status_code == 422
