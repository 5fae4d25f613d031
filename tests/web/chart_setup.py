"""Set-up for the chart review tests: a realistic inpatient note coded through the API by the
LLM proposer against the scripted server (so the proposals do not depend on what the offline
ranker learned), deciding through the API, and ending every browser session."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import update

from review.db import make_engine, sessions, transaction
from review.tables import WebSessionRow
from tests.web.conftest import Workspace

NOTE = """DISCHARGE SUMMARY

ADMISSION DIAGNOSIS: Community-acquired pneumonia.

HISTORY OF PRESENT ILLNESS: 71-year-old man with type 2 diabetes mellitus and essential \
hypertension who presented with three days of fever, productive cough and shortness of breath. \
Chest X-ray showed right lower lobe consolidation. Blood glucose on admission was 412 mg/dL.

HOSPITAL COURSE: Treated for right lower lobe pneumonia with intravenous ceftriaxone and \
azithromycin. Type 2 diabetes mellitus with hyperglycemia managed with insulin sliding scale, \
then basal insulin. Hypertension controlled on lisinopril. Bronchoscopy with bronchoalveolar \
lavage of the right lower lobe was performed on hospital day 2; cultures grew Streptococcus \
pneumoniae. No evidence of sepsis. History of appendectomy. Chronic kidney disease stage 3a \
noted on labs, stable.

DISCHARGE DIAGNOSES:
1. Pneumonia due to Streptococcus pneumoniae, right lower lobe.
2. Type 2 diabetes mellitus with hyperglycemia.
3. Essential hypertension.

PROCEDURES: Bronchoscopy with bronchoalveolar lavage, right lower lobe.

DISPOSITION: Discharged home in stable condition. Follow up with primary care in one week.
"""
META: dict[str, Any] = {
    "setting": "inpatient",
    "age": 71,
    "sex": "M",
    "admission_date": "2026-03-02",
    "discharge_date": "2026-03-06",
}
# The lead's client waits for the coding run and gets it back (RFC 7240), as tests/api does.
WAIT = {"Prefer": "wait=120"}


def _span(words: str) -> dict[str, Any]:
    start = NOTE.index(words)
    return {"quote": words, "start": start, "end": start + len(words)}


# What the scripted model answers for NOTE: the codes a coder would expect, one wrong code to
# reject (A93.1), a pneumonia of unspecified organism holding the principal (J18.0: the agent
# itself drops J18.9 beside J13, whose organism is named), two procedures whose
# evidence overlaps, and a code that does not exist (the agent drops it). The agent checks and
# cites them as it does a real model's answer; the screen is then tested on a known set.
SCRIPTED_CODES: list[tuple[str, str, float]] = [
    ("J18.0", "Community-acquired pneumonia", 0.9),
    ("J13", "Pneumonia due to Streptococcus pneumoniae", 0.85),
    ("E11.65", "Type 2 diabetes mellitus with hyperglycemia", 0.9),
    ("I12.9", "essential hypertension", 0.7),
    ("N18.31", "Chronic kidney disease stage 3a", 0.8),
    ("A93.1", "fever", 0.3),
    ("Z79.4", "basal insulin", 0.6),
    ("0B960ZZ", "Bronchoscopy with bronchoalveolar lavage", 0.6),
    ("0BJ08ZZ", "Bronchoscopy", 0.5),
    ("BW03ZZZ", "Chest X-ray", 0.5),
    ("J18.99", "right lower lobe pneumonia", 0.5),
]
DROPPED = "J18.99"


def scripted_answer() -> dict[str, Any]:
    return {
        "codes": [
            {
                "code": code,
                "evidence": [_span(words)],
                "confidence": confidence,
                "principal": code == "J18.0",
            }
            for code, words, confidence in SCRIPTED_CODES
        ]
    }


def coded_chart(workspace: Workspace, external_id: str) -> tuple[dict[str, Any], list[Any]]:
    """NOTE posted and coded by the lead through the LLM proposer, answered by the
    workspace's scripted server: the chart and its proposals."""
    assert workspace.llm is not None, "the workspace needs the scripted LLM server"
    with workspace.api("lena") as client:
        posted = client.post(
            "/charts", json={"text": NOTE, "external_id": external_id, "meta": META}
        )
        assert posted.status_code == 201, posted.text
        chart = posted.json()
        workspace.llm.enqueue_json(scripted_answer())
        run = client.post(
            f"/charts/{chart['id']}/coding-runs", json={"proposer": "llm"}, headers=WAIT
        )
        assert run.status_code == 201, run.text
        assert run.json()["proposer"] == "llm", run.json()["proposer"]
        proposals = client.get(f"/charts/{chart['id']}/proposals").json()
    assert {p["code"] for p in proposals} == {c for c, _, _ in SCRIPTED_CODES} - {DROPPED}
    return chart, proposals


def proposals_of(client: httpx.Client, chart_id: int) -> dict[str, dict[str, Any]]:
    """The chart's proposals by code."""
    answer = client.get(f"/charts/{chart_id}/proposals")
    assert answer.status_code == 200, answer.text
    return {p["code"]: p for p in answer.json()}


def decide(client: httpx.Client, proposal: dict[str, Any], **body: Any) -> dict[str, Any]:
    answer = client.post(
        f"/proposals/{proposal['id']}/decision",
        json=body,
        headers={"If-Match": f'"{proposal["version"]}"'},
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def expire_sessions(database_url: str) -> None:
    """Every browser session ends now (as if its time had run out)."""
    engine = make_engine(database_url)
    try:
        with transaction(sessions(engine)) as session:
            session.execute(update(WebSessionRow).values(expires_at=WebSessionRow.created_at))
    finally:
        engine.dispose()
