"""Charts for the chart-access tests: one coded, with a physician query sent from its CDI
draft, and committed, so that every kind of chart read (text, proposals, code sets, export,
DRG, CDI, queries, audit) has something to answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.api.client import Api
from tests.api.test_cdi_queries import CHART  # heart failure the notes leave unspecific

META: dict[str, Any] = {
    "setting": "inpatient",
    "age": 78,
    "sex": "F",
    "discharge_date": "2026-06-30",
}


@dataclass(frozen=True)
class Seeded:
    chart_id: int
    proposal: dict[str, Any]  # one of its proposals, as GET /charts/{id}/proposals shows it
    query_id: int


def coded_with_query(api: Api) -> Seeded:
    """A chart coded (by the lead) with an open query drafted from its heart-failure gap."""
    chart_id = int(api.chart(CHART, **META)["id"])
    run = api.post(f"/charts/{chart_id}/coding-runs", json={})
    assert run.status_code == 201, run.text
    gaps = [g for g in api.get(f"/charts/{chart_id}/cdi").json() if g["code"] == "I50.9"]
    assert gaps, "the chart's heart failure should be a CDI gap"
    gap = gaps[0]
    body = {
        "kind": gap["kind"],
        "topic": gap["topic"],
        "question": gap["question"],
        "options": gap["options"],
        "indicators": [
            {"what": i["what"], "start": i["start"], "end": i["end"]} for i in gap["indicators"]
        ],
        "code": gap["code"],
        "proposal_id": gap["proposal_id"],
    }
    created = api.post(f"/charts/{chart_id}/queries", json=body)
    assert created.status_code == 201, created.text
    proposals = api.get(f"/charts/{chart_id}/proposals").json()
    return Seeded(chart_id, proposals[0], int(created.json()["id"]))


def commit(api: Api, chart_id: int) -> None:
    """Decide every proposal (pneumonia the principal, the rest rejected) and commit."""
    proposals = api.get(f"/charts/{chart_id}/proposals").json()
    codes = {p["code"] for p in proposals}
    for proposal in proposals:
        if proposal["code"] == "J18.9":
            decided = api.decide(proposal, action="accept", principal=True)
        else:
            decided = api.decide(proposal, action="reject", reason="not_documented")
        assert decided.status_code == 200, decided.text
    if "J18.9" not in codes:
        at = CHART.index("pneumonia.")
        added = {"code": "J18.9", "evidence": [{"start": at, "end": at + 9}], "principal": True}
        assert api.post(f"/charts/{chart_id}/codes", json=added).status_code == 201
    committed = api.post(f"/charts/{chart_id}/commit", json={})
    assert committed.status_code == 201, committed.text
