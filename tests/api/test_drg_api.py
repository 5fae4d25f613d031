"""GET /charts/{id}/drg over HTTP: the working code set's MS-DRG and, for each undecided
proposal, the DRG with it accepted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from api.app import create_app
from tests.api.client import Api
from wiring.settings import Settings

CHART = (Path(__file__).parent / "charts" / "heart_failure_effusion.txt").read_text()
META: dict[str, Any] = {
    "setting": "inpatient",
    "age": 74,
    "sex": "M",
    "admission_date": "2026-03-11",
    "discharge_date": "2026-03-15",
}


def _span(words: str) -> dict[str, int]:
    start = CHART.index(words)
    return {"start": start, "end": start + len(words)}


def _add(api: Api, chart_id: int, text: str, *codes: tuple[str, str, bool]) -> None:
    """Codes a coder adds, each (code, the chart's words for it, principal)."""
    for code, words, principal in codes:
        start = text.index(words)
        span = {"start": start, "end": start + len(words)}
        body = {"code": code, "evidence": [span], "principal": principal}
        assert api.post(f"/charts/{chart_id}/codes", json=body).status_code == 201


def test_the_working_set_groups_and_each_pending_proposal_shows_its_effect(api: Api) -> None:
    chart = api.chart(CHART, **META)
    chart_id = chart["id"]
    nothing = api.get(f"/charts/{chart_id}/drg")
    assert nothing.status_code == 409 and "principal" in nothing.json()["detail"]

    run = api.post(f"/charts/{chart_id}/coding-runs", json={})
    assert run.status_code == 201, run.text
    proposals = run.json()["proposals"]
    # Heart failure is the principal; the effusion stays undecided; the rest are rejected.
    for proposal in proposals:
        body: dict[str, Any]
        if proposal["code"] == "I50.23":
            body = {"action": "accept", "principal": True}
        elif proposal["code"] == "J91.8":
            continue
        else:
            body = {"action": "reject", "reason": "not_documented"}
        assert api.decide(proposal, **body).status_code == 200
    codes = {p["code"] for p in proposals}
    if "I50.23" not in codes:
        words = _span("Acute on chronic systolic (congestive) heart failure")
        added = {"code": "I50.23", "evidence": [words], "principal": True}
        assert api.post(f"/charts/{chart_id}/codes", json=added).status_code == 201
    if "J91.8" not in codes:
        added = {"code": "J91.8", "evidence": [_span("Pleural effusion due to heart failure")]}
        assert api.post(f"/charts/{chart_id}/codes", json=added).status_code == 201

    found = api.get(f"/charts/{chart_id}/drg")
    assert found.status_code == 200, found.text
    drg = found.json()
    assert drg["grouper_version"] == 430  # MS-DRG v43 for a March 2026 discharge
    assert drg["weight"] is None  # no Table 5 file configured: no weight, never a guess
    assert drg["principal"] == "I50.23" and drg["mdc"] == 5
    pending = {p["code"]: p for p in drg["pending"]}
    assert set(pending) == {p["code"] for p in proposals if p["code"] == "J91.8"}
    if "J91.8" in pending:
        # Heart failure alone is DRG 293; the effusion, a CC, would move it to 292.
        assert drg["drg"] == 293 and drg["severity"] == "NONE"
        effect = pending["J91.8"]
        assert (effect["drg_without"], effect["drg_with"], effect["severity"]) == (293, 292, "CC")
        assert effect["message"] == "adding J91.8 moves DRG 293 -> 292 (J91.8 is a CC here)"
    else:
        assert drg["drg"] == 292 and drg["secondary"] == ["J91.8"]
    assert any("discharge status" in note for note in drg["notes"])


def test_an_outpatient_chart_has_no_drg(api: Api) -> None:
    chart = api.chart("Office visit. Essential hypertension.", setting="outpatient")
    refused = api.get(f"/charts/{chart['id']}/drg")
    assert refused.status_code == 422 and "inpatient" in refused.json()["detail"]
    assert api.get("/charts/999999/drg").status_code == 404


def test_the_discharge_status_is_grouped(api: Api) -> None:
    # An acute MI: DRG 282 discharged alive, 285 when the patient expired (status 20).
    text = "Discharge diagnosis: acute ST elevation myocardial infarction of anterior wall."
    words = "acute ST elevation myocardial infarction of anterior wall"
    start = text.index(words)
    drgs = []
    for status in (1, 20):
        chart = api.chart(text, **{**META, "discharge_status": status})
        assert chart["discharge_status"] == status
        added = {
            "code": "I21.09",
            "evidence": [{"start": start, "end": start + len(words)}],
            "principal": True,
        }
        assert api.post(f"/charts/{chart['id']}/codes", json=added).status_code == 201
        found = api.get(f"/charts/{chart['id']}/drg").json()
        assert not any("discharge status" in note for note in found["notes"])
        drgs.append(found["drg"])
    assert drgs == [282, 285]
    bad = api.post("/charts", json={"text": text, "meta": {**META, "discharge_status": 0}})
    assert bad.status_code == 422


def test_a_hospital_acquired_condition_does_not_make_the_set_ungroupable(api: Api) -> None:
    # POA is not recorded: a stage 4 pressure ulcer (a HAC) still groups, HAC rules aside.
    text = "Discharge diagnoses: acute MI of the anterior wall. Sacral pressure ulcer, stage 4."
    chart = api.chart(text, **META)
    _add(
        api,
        chart["id"],
        text,
        ("I21.09", "acute MI of the anterior wall", True),
        ("L89.154", "Sacral pressure ulcer, stage 4", False),
    )
    found = api.get(f"/charts/{chart['id']}/drg").json()
    assert (found["drg"], found["ungroupable"], found["severity"]) == (280, False, "MCC")
    assert any("present-on-admission" in note for note in found["notes"])


def test_what_ifs_add_and_remove_codes_from_the_working_set(api: Api) -> None:
    text = "Discharge diagnosis: acute MI of the anterior wall, acute kidney injury."
    chart = api.chart(text, **META)
    _add(
        api,
        chart["id"],
        text,
        ("I21.09", "acute MI of the anterior wall", True),
        ("N17.9", "acute kidney injury", False),
    )
    path = f"/charts/{chart['id']}/drg"
    assert api.get(path).json()["drg"] == 281
    assert api.get(path, params={"without": "N17.9"}).json()["drg"] == 282
    both = api.get(path, params=[("with", "I50.23"), ("with", "E11.9")]).json()
    assert both["drg"] == 280 and any(note.startswith("what-if") for note in both["notes"])
    unknown = api.get(path, params={"with": "N17.X"})
    assert unknown.status_code == 422 and "N17.X" in unknown.json()["detail"]
    assert api.get(path, params={"with": "not a code"}).status_code == 422


def test_the_weight_comes_from_the_configured_table_5_file(
    api_settings: Settings, tmp_path: Path
) -> None:
    # A Table-5-shaped file (weights invented for the test): shown when configured.
    table = tmp_path / "table5.csv"
    table.write_text("MS-DRG,MDC,TYPE,MS-DRG Title,Weights\n282,05,MED,AMI,0.9000\n")
    text = "Discharge diagnosis: acute MI of the anterior wall."
    words = "acute MI of the anterior wall"
    start = text.index(words)
    span = {"start": start, "end": start + len(words)}
    added = {"code": "I21.09", "evidence": [span], "principal": True}
    app = create_app(api_settings.model_copy(update={"drg_weights_file": table}))
    with TestClient(app) as client:
        api = Api.bootstrap(client, app)
        chart = api.chart(text, **META)
        assert api.post(f"/charts/{chart['id']}/codes", json=added).status_code == 201
        found = api.get(f"/charts/{chart['id']}/drg").json()
        assert (found["drg"], found["weight"]) == (282, 0.9)
