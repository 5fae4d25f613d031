"""GET /charts/{id}/coding-runs/latest, what the chart screen shows beside the proposals: the
newest run's dropped candidates with their reasons and its warnings; null before any run."""

from __future__ import annotations

from pathlib import Path

from tests.api.client import Api

CHART = (Path(__file__).parents[1] / "agent" / "charts" / "appendicitis_diabetes.txt").read_text()


def test_the_latest_run_of_a_chart(api: Api) -> None:
    coder = api.user("coder-vi", "coder")
    auditor = api.user("auditor-vi", "auditor")
    chart = api.chart(CHART, coder, setting="inpatient", age=58, sex="F")
    path = f"/charts/{chart['id']}/coding-runs/latest"

    never = api.get(path, coder)
    assert never.status_code == 200 and never.json() is None, never.text

    first = api.post(f"/charts/{chart['id']}/coding-runs", coder, json={})
    assert first.status_code == 201, first.text
    second = api.post(f"/charts/{chart['id']}/coding-runs", coder, json={})
    assert second.status_code == 201, second.text

    latest = api.get(path, auditor)  # read-only roles read it too
    assert latest.status_code == 200, latest.text
    run = latest.json()
    assert run["id"] == second.json()["id"] != first.json()["id"]
    assert run["chart_id"] == chart["id"]
    assert run["dropped"] == second.json()["dropped"]
    assert all(item.get("reason") for item in run["dropped"]), run["dropped"]
    assert "proposals" not in run  # GET /charts/{id}/proposals serves those

    missing = api.get("/charts/999999/coding-runs/latest", coder)
    assert missing.status_code == 404, missing.text
    refused = api.client.get(path)
    assert refused.status_code == 401
