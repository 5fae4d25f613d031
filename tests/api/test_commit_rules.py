"""Commit over HTTP with classified problems, on SQLite and PostgreSQL: a multi-problem
inpatient chart commits with its conditional notes as warnings; a manifestation without its
underlying condition blocks until a lead overrides it with a reason; a coder cannot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.api.client import Api

CHART = (Path(__file__).parent / "charts" / "heart_failure_effusion.txt").read_text()
EVIDENCE = {
    "I50.23": "Acute on chronic systolic (congestive) heart failure",
    "J91.8": "Pleural effusion due to heart failure",
    "Z85.46": "Personal history of prostate cancer",
    "Z87.891": "History of nicotine dependence",
}


def _span(words: str) -> dict[str, int]:
    start = CHART.index(words)
    return {"start": start, "end": start + len(words)}


def _code_only(api: Api, chart_id: int, wanted: dict[str, bool]) -> None:
    """Decide every proposal so that the code set is exactly `wanted` (code -> principal):
    accept what the agent proposed of it, reject the rest, add what it missed."""
    proposals = api.get(f"/charts/{chart_id}/proposals").json()
    for proposal in proposals:
        if proposal["code"] in wanted:
            body: dict[str, Any] = {"action": "accept", "principal": wanted[proposal["code"]]}
        else:
            body = {"action": "reject", "reason": "not_documented"}
        decided = api.decide(proposal, **body)
        assert decided.status_code == 200, decided.text
    proposed = {p["code"] for p in proposals}
    for code, principal in wanted.items():
        if code in proposed:
            continue
        body = {"code": code, "evidence": [_span(EVIDENCE[code])], "principal": principal}
        added = api.post(f"/charts/{chart_id}/codes", json=body)
        assert added.status_code == 201, added.text


def _coded(api: Api) -> int:
    chart = api.chart(CHART, setting="inpatient", age=74, sex="M")
    run = api.post(f"/charts/{chart['id']}/coding-runs", json={})
    assert run.status_code == 201, run.text
    return int(chart["id"])


def test_a_multi_problem_chart_commits_with_its_conditional_notes_as_warnings(api: Api) -> None:
    chart_id = _coded(api)
    wanted = {"I50.23": True, "J91.8": False, "Z85.46": False, "Z87.891": False}
    _code_only(api, chart_id, wanted)

    committed = api.post(f"/charts/{chart_id}/commit", json={})
    assert committed.status_code == 201, committed.text
    body = committed.json()
    codes = [c["code"] for c in body["codes"]]
    assert codes[0] == "I50.23" and body["codes"][0]["principal"] is True
    assert sorted(codes) == sorted(wanted)  # J91.8, Z85.46 and Z87.891 all kept
    assert body["overridden"] == [] and body["override_reason"] is None
    # Z85 and Z87 say "code first any follow-up examination (Z08 / Z09)": only on a
    # follow-up visit, so a warning citing the follow-up guideline, never a blocker.
    by_code = {w["codes"][0]: w for w in body["warnings"]}
    for code in ("Z85.46", "Z87.891"):
        assert by_code[code]["severity"] == "warning", body["warnings"]
        assert by_code[code]["rule"] == "I.C.21.c.8"
        assert "follow-up" in by_code[code]["message"]
    # J91.8's "code first underlying disease, such as ..." is met by the heart failure.
    assert "J91.8" not in by_code
    assert all(w["severity"] == "warning" for w in body["warnings"])

    commit = api.get(f"/charts/{chart_id}/audit").json()[-1]
    assert commit["action"] == "chart.commit" and commit["reason"] is None
    assert commit["after"]["warnings"] == body["warnings"]
    assert commit["after"]["overridden"] == []


def test_a_manifestation_without_its_underlying_condition_blocks_until_a_lead_overrides(
    api: Api,
) -> None:
    coder = api.user("coder-cy", "coder")
    chart_id = _coded(api)
    # An undecided proposal is a blocker no override passes.
    pending = api.post(f"/charts/{chart_id}/commit", json={"override_reason": "billing deadline"})
    assert pending.status_code == 409, pending.text
    assert pending.json()["overridable"] is False
    undecided = [b for b in pending.json()["blockers"] if b["rule"] == "review.undecided"]
    assert undecided and not any(b["overridable"] for b in undecided)

    _code_only(api, chart_id, {"J91.8": True, "Z87.891": False})
    refused = api.post(f"/charts/{chart_id}/commit", json={})
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert problem["overridable"] is True
    rules = {b["rule"] for b in problem["blockers"]}
    assert "I.A.13" in rules, problem["blockers"]  # code first the underlying disease
    assert any(r.startswith("II") for r in rules)  # a manifestation cannot be principal
    assert all(b["severity"] == "blocker" and b["overridable"] for b in problem["blockers"])
    assert all("ICD-10-CM Official Guidelines" in b["message"] for b in problem["blockers"])
    assert not any("Z87.891" in b["codes"] for b in problem["blockers"])
    assert problem["problems"] == [b["message"] for b in problem["blockers"]]

    # A coder may not commit, with or without an override reason.
    override = {"override_reason": "physician query sent; effusion etiology pending"}
    assert api.post(f"/charts/{chart_id}/commit", coder, json=override).status_code == 403
    assert api.get(f"/charts/{chart_id}").json()["status"] != "committed"
    blank = api.post(f"/charts/{chart_id}/commit", json={"override_reason": "   "})
    assert blank.status_code == 422

    committed = api.post(f"/charts/{chart_id}/commit", json=override)
    assert committed.status_code == 201, committed.text
    body = committed.json()
    assert body["override_reason"] == override["override_reason"]
    assert {o["rule"] for o in body["overridden"]} == rules
    assert sorted(c["code"] for c in body["codes"]) == ["J91.8", "Z87.891"]

    commit = api.get(f"/charts/{chart_id}/audit").json()[-1]
    assert commit["action"] == "chart.commit" and commit["role"] == "lead"
    assert commit["reason"] == override["override_reason"]
    assert commit["after"]["overridden"] == body["overridden"]
    assert api.get(f"/charts/{chart_id}").json()["status"] == "committed"
