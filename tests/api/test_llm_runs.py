"""Coding runs through the LLM proposer over real HTTP to the scripted server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.api.client import Api
from tests.llm_server import ScriptedLlmServer
from wiring.settings import Settings

TEXT = "Discharge diagnoses:\n1. Acute appendicitis.\n"


@pytest.fixture
def llm_api(
    api_settings: Settings, llm_server: ScriptedLlmServer, tiktoken_ready: Path
) -> Iterator[Api]:
    settings = api_settings.model_copy(
        update={"llm_base_url": llm_server.base_url, "llm_model": "scripted-model"}
    )
    app = create_app(settings)
    with TestClient(app) as client:
        yield Api.bootstrap(client, app)


def test_llm_run_records_model_and_prompt_and_drops_invented_codes(
    llm_api: Api, llm_server: ScriptedLlmServer
) -> None:
    start = TEXT.index("Acute appendicitis")
    evidence = [{"quote": "Acute appendicitis", "start": start, "end": start + 18}]
    llm_server.enqueue_json(
        {
            "codes": [
                {"code": "K35.80", "evidence": evidence, "confidence": 0.9, "principal": True},
                {"code": "K99.12", "evidence": evidence, "confidence": 0.8},
            ]
        }
    )
    chart = llm_api.chart(TEXT)
    run = llm_api.post(f"/charts/{chart['id']}/coding-runs", json={"proposer": "llm"})
    assert run.status_code == 201, run.text
    body = run.json()
    assert body["proposer"] == "llm" and body["model"] == "scripted-model"
    assert body["prompt_version"] and body["usage"]["model_calls"] == 1
    assert [p["code"] for p in body["proposals"]] == ["K35.80"]
    assert any(d["code"] == "K99.12" for d in body["dropped"])
    event = llm_api.get(f"/charts/{chart['id']}/audit").json()[1]
    assert event["action"] == "coding_run.create"
    assert event["model"] == "scripted-model" and event["prompt_version"] == body["prompt_version"]


def test_garbage_from_the_llm_falls_back_to_offline(
    llm_api: Api, llm_server: ScriptedLlmServer
) -> None:
    llm_server.enqueue("not json at all")
    llm_server.enqueue("still not json")
    chart = llm_api.chart(TEXT)
    run = llm_api.post(f"/charts/{chart['id']}/coding-runs", json={"proposer": "llm"})
    assert run.status_code == 201, run.text
    assert run.json()["proposer"] == "offline"
    assert "K35.80" in [p["code"] for p in run.json()["proposals"]]


def test_llm_refused_when_the_server_has_none(api: Api) -> None:
    chart = api.chart(TEXT)
    refused = api.post(f"/charts/{chart['id']}/coding-runs", json={"proposer": "llm"})
    assert refused.status_code == 422 and refused.json()["field"] == "body.proposer"
