"""Chat about a chart over HTTP: a coded chart, a conversation, one question of each kind
answered from the chart, its proposals and the knowledge base with citations that check
out; follow-ups through the stored history; the answer streamed as Server-Sent Events;
the limits, roles, chart assignment, PHI read log and audit rows; chat never touching a
proposal; and answers through a configured LLM, with its offline fallback."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from agent.chat import ChatAnswer, ChatContext, Turn
from agent.chat.answerer import FELL_BACK, ChatEvent
from api.app import create_app
from tests.api.client import Api
from tests.llm_server import ScriptedLlmServer
from wiring.settings import Settings

CHART = (
    "Discharge Summary\n"
    "Discharge diagnoses:\n"
    "1. Acute appendicitis.\n"
    "2. Dementia due to Alzheimer's disease.\n"
    "3. Type 2 diabetes mellitus.\n"
    "History of present illness: 81-year-old woman with right lower quadrant pain and fever. "
    "She denies chest pain. No evidence of sepsis. Her mother had breast cancer.\n"
    "Procedures: Laparoscopic appendectomy.\n"
)
META: dict[str, Any] = {
    "setting": "inpatient",
    "age": 81,
    "sex": "F",
    "discharge_date": "2026-06-30",
}
STREAM = {"Accept": "text/event-stream"}


def _coded(api: Api, key: str | None = None) -> tuple[int, list[dict[str, Any]]]:
    chart_id = int(api.chart(CHART, key, **META)["id"])
    run = api.post(f"/charts/{chart_id}/coding-runs", key, json={})
    assert run.status_code == 201, run.text
    return chart_id, list(run.json()["proposals"])


def _conversation(api: Api, chart_id: int, key: str | None = None, **body: Any) -> int:
    created = api.post(f"/charts/{chart_id}/conversations", key, json=body)
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def _ask(api: Api, conversation_id: int, question: str, key: str | None = None) -> dict[str, Any]:
    asked = api.post(f"/conversations/{conversation_id}/messages", key, json={"question": question})
    assert asked.status_code == 201, asked.text
    message = dict(asked.json())
    assert message["question"] == question and message["conversation_id"] == conversation_id
    return message


def _chart_quotes(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The answer's chart citations, each checked against the chart's own text."""
    quotes = [c for c in message["answer"]["citations"] if c["kind"] == "chart"]
    for quote in quotes:
        assert CHART[quote["start"] : quote["end"]] == quote["quote"], quote
    return quotes


def _kb_sources(message: dict[str, Any]) -> set[str]:
    return {c["source_id"] for c in message["answer"]["citations"] if c["kind"] == "kb"}


def test_one_question_of_each_kind_is_answered_with_verified_citations(api: Api) -> None:
    chart_id, proposals = _coded(api)
    assert proposals[0]["code"] == "K35.80"  # the principal: appendicitis
    conversation_id = _conversation(api, chart_id, title="appendicitis work-up")

    why = _ask(api, conversation_id, "Why K35.80?")
    assert why["kind"] == "why" and not why["refused"]
    assert why["answer"]["codes"] == ["K35.80"]
    assert "K35.80 Unspecified acute appendicitis" in why["answer"]["text"]
    assert "principal" in why["answer"]["text"]
    # The evidence is cited as its whole sentence.
    assert [q["quote"] for q in _chart_quotes(why)] == ["1. Acute appendicitis."]
    assert "tabular:K35.80" in _kb_sources(why)
    assert why["answer"]["unverified"] == 0

    sepsis = _ask(api, conversation_id, "Is sepsis mentioned?")
    assert sepsis["kind"] == "find_in_chart"
    (quote,) = _chart_quotes(sepsis)
    assert quote["quote"] == "No evidence of sepsis." and quote["flags"] == ["negated"]
    assert "only as negated" in sepsis["answer"]["text"]

    code = _ask(api, conversation_id, "code for diabetic gastroparesis")
    assert code["kind"] == "find_code" and code["answer"]["phrase"] == "diabetic gastroparesis"
    assert "E11.43" in code["answer"]["codes"]
    assert "tabular:E11.43" in _kb_sources(code)

    rules = _ask(api, conversation_id, "Excludes1 notes for K35")
    assert rules["kind"] == "code_rules" and rules["answer"]["codes"] == ["K35"]
    assert "K35 Acute appendicitis" in rules["answer"]["text"]
    assert "tabular:K35" in _kb_sources(rules)

    guideline = _ask(api, conversation_id, "What does the guideline say about uncertain diagnoses?")
    assert guideline["kind"] == "guideline"
    sections = {c["section_id"] for c in guideline["answer"]["citations"] if c["kind"] == "rule"}
    assert "II.H" in sections and "II.H" in guideline["answer"]["text"]

    summary = _ask(api, conversation_id, "Summarize the hospital course")
    assert summary["kind"] == "open" and summary["refused"] is True
    assert summary["answer"]["citations"] == [] and "language model" in summary["answer"]["text"]

    # Stored as shown, in order, with what produced each answer.
    stored = api.get(f"/conversations/{conversation_id}")
    assert stored.status_code == 200, stored.text
    detail = stored.json()
    assert detail["chart_id"] == chart_id and detail["title"] == "appendicitis work-up"
    assert detail["message_count"] == 6
    kinds = [m["kind"] for m in detail["messages"]]
    assert kinds == ["why", "find_in_chart", "find_code", "code_rules", "guideline", "open"]
    assert detail["messages"][0]["answer"] == why["answer"]
    for message in detail["messages"]:
        assert message["answerer"] == "offline" and message["fiscal_year"] == 2026
        assert message["asked_by"] == "lead" and "FY2026" in message["kb_release"]
    listed = api.get(f"/charts/{chart_id}/conversations").json()
    assert [(c["id"], c["message_count"]) for c in listed] == [(conversation_id, 6)]


def test_a_follow_up_refers_back_through_the_stored_history(api: Api) -> None:
    chart_id, _ = _coded(api)
    conversation_id = _conversation(api, chart_id)
    first = _ask(api, conversation_id, "Excludes1 notes for F02.80")
    assert first["answer"]["codes"] == ["F02.80"]
    assert "Excludes1" in first["answer"]["text"] and "Code first" not in first["answer"]["text"]

    follow = _ask(api, conversation_id, "and its code-first note?")
    assert follow["kind"] == "code_rules" and follow["answer"]["codes"] == ["F02.80"]
    text = follow["answer"]["text"]
    assert "Code first (inherited from F02)" in text and "Alzheimer's (G30.-)" in text
    assert "Excludes1" not in text
    assert {"tabular:F02.80", "tabular:F02"} <= _kb_sources(follow)

    # The same words opening another conversation have nothing to refer back to.
    alone = _ask(api, _conversation(api, chart_id), "and its code-first note?")
    assert "F02.80" not in alone["answer"]["codes"]


def _events(api: Api, conversation_id: int, question: str) -> list[tuple[str, Any]]:
    """The stream's events in order, (event name, parsed data); keep-alive comments skipped."""
    events: list[tuple[str, Any]] = []
    with api.client.stream(
        "POST",
        f"/conversations/{conversation_id}/messages",
        json={"question": question},
        headers=api.headers(None, **STREAM),
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-store"
        name, data = "message", []
        for line in response.iter_lines():
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
            elif not line and data:
                events.append((name, json.loads("\n".join(data))))
                name, data = "message", []
    return events


def test_the_answer_streams_as_tokens_then_one_verified_final(api: Api) -> None:
    chart_id, _ = _coded(api)
    conversation_id = _conversation(api, chart_id)
    events = _events(api, conversation_id, "Why K35.80?")
    names = [name for name, _ in events]
    assert names[-1] == "final" and names.count("final") == 1
    assert len(names) >= 3 and set(names[:-1]) == {"token"}, names
    final = events[-1][1]
    # The tokens are the final answer's text, in order.
    assert "".join(data["text"] for _, data in events[:-1]) == final["answer"]["text"]
    assert final["kind"] == "why" and final["answer"]["codes"] == ["K35.80"]
    assert [q["quote"] for q in _chart_quotes(final)] == ["1. Acute appendicitis."]
    # The final event is the stored message.
    stored = api.get(f"/conversations/{conversation_id}").json()["messages"]
    assert [m["id"] for m in stored] == [final["id"]] and stored[0]["answer"] == final["answer"]
    # A streamed answer is history for the next question, as a whole one is.
    follow = _events(api, conversation_id, "and its code-first note?")[-1]
    assert follow[0] == "final" and follow[1]["answer"]["codes"] == ["K35.80"]


class _Failing:
    """An answerer that breaks after its first token (a model that drops the connection)."""

    name = "failing"

    def answer(self, question: str, context: ChatContext, history: list[Turn]) -> ChatAnswer:
        raise RuntimeError(f"lost the model while answering {question!r}")

    def stream(
        self, question: str, context: ChatContext, history: list[Turn]
    ) -> Iterator[ChatEvent]:
        yield ChatEvent.token("Partly ")
        raise RuntimeError(f"lost the model while answering {question!r}")


def test_a_stream_that_fails_ends_with_an_error_event_and_stores_nothing(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    chart_id, _ = _coded(api)
    conversation_id = _conversation(api, chart_id)
    api.client.app.state.services._answerer = _Failing()
    question = "Is sepsis mentioned in the secret note?"
    with caplog.at_level(logging.DEBUG):
        events = _events(api, conversation_id, question)
    assert [name for name, _ in events] == ["token", "error"]
    problem = events[1][1]
    assert problem["status"] == 500 and problem["title"] == "Internal error"
    assert problem["instance"] == f"/conversations/{conversation_id}/messages"
    assert "secret" not in json.dumps(problem)
    assert api.get(f"/conversations/{conversation_id}").json()["messages"] == []
    # Logged as the error's type only: never the question (or an answer).
    assert any("RuntimeError" in r.getMessage() for r in caplog.records)
    assert not any("secret" in r.getMessage() for r in caplog.records)


def test_neither_question_nor_answer_is_logged(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    chart_id, _ = _coded(api)
    conversation_id = _conversation(api, chart_id)
    with caplog.at_level(logging.DEBUG):
        message = _ask(api, conversation_id, "Is sepsis mentioned?")
        _events(api, conversation_id, "Why K35.80?")
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for text in ("sepsis", "K35.80", "No evidence", message["answer"]["text"][:30]):
        assert text not in logged


@pytest.fixture
def limited(api_settings: Settings) -> Iterator[Api]:
    settings = api_settings.model_copy(
        update={"chat_question_max_chars": 60, "chat_messages_max": 2}
    )
    app = create_app(settings)
    with TestClient(app) as client:
        yield Api.bootstrap(client, app)


def test_a_question_too_long_and_a_full_conversation_are_refused(limited: Api) -> None:
    api = limited
    chart_id, _ = _coded(api)
    conversation_id = _conversation(api, chart_id)
    url = f"/conversations/{conversation_id}/messages"
    long = api.post(url, json={"question": "Is sepsis mentioned " + "again " * 10})
    assert long.status_code == 422, long.text
    assert long.headers["content-type"] == "application/problem+json"
    assert long.json()["field"] == "body.question" and "at most 60" in long.json()["detail"]
    blank = api.post(url, json={"question": "   "})
    assert blank.status_code == 422 and blank.json()["field"] == "body.question"
    nul = api.post(url, json={"question": "sepsis\u0000"})
    assert nul.status_code == 422 and "body.question" in nul.text
    # Refused before streaming begins: a problem, not a stream.
    streamed = api.post(url, json={"question": "x" * 61}, headers=STREAM)
    assert streamed.status_code == 422 and streamed.json()["field"] == "body.question"

    _ask(api, conversation_id, "Why K35.80?")
    _ask(api, conversation_id, "Is sepsis mentioned?")
    for headers in ({}, STREAM):
        full = api.post(url, json={"question": "Is fever mentioned?"}, headers=headers)
        assert full.status_code == 409, full.text
        assert "full" in full.json()["detail"] and "new conversation" in full.json()["detail"]
    assert len(api.get(f"/conversations/{conversation_id}").json()["messages"]) == 2
    _ask(api, _conversation(api, chart_id), "Is fever mentioned?")


def test_roles_an_auditor_reads_but_cannot_ask(api: Api) -> None:
    chart_id, _ = _coded(api)
    coder = api.user("a coder", "coder")
    auditor = api.user("an auditor", "auditor")
    conversation_id = _conversation(api, chart_id, coder)
    _ask(api, conversation_id, "Why K35.80?", coder)

    url = f"/conversations/{conversation_id}/messages"
    refused = api.post(url, auditor, json={"question": "Why G30.9?"})
    assert refused.status_code == 403 and "auditor" in refused.json()["detail"]
    assert (
        api.post(url, auditor, json={"question": "Why G30.9?"}, headers=STREAM).status_code == 403
    )
    assert api.post(f"/charts/{chart_id}/conversations", auditor, json={}).status_code == 403
    read = api.get(f"/conversations/{conversation_id}", auditor)
    assert read.status_code == 200 and len(read.json()["messages"]) == 1
    assert read.json()["created_by"] == "a coder"
    assert api.get(f"/charts/{chart_id}/conversations", auditor).status_code == 200
    assert api.get("/conversations/999999", auditor).status_code == 404
    assert (
        api.post("/conversations/999999/messages", coder, json={"question": "x"}).status_code == 404
    )
    assert api.post("/charts/999999/conversations", coder, json={}).status_code == 404


def _reads(api: Api, chart_id: int) -> list[dict[str, Any]]:
    response = api.get(f"/charts/{chart_id}/reads")
    assert response.status_code == 200, response.text
    return list(response.json())


def test_reading_or_asking_records_a_phi_read_and_each_message_an_audit_row(api: Api) -> None:
    chart_id, _ = _coded(api)
    coder = api.user("a coder", "coder")
    conversation_id = _conversation(api, chart_id, coder)
    before = len(_reads(api, chart_id))
    asked = _ask(api, conversation_id, "Is sepsis mentioned?", coder)
    _events(api, conversation_id, "Summarize the hospital course")
    response = api.client.get(
        f"/conversations/{conversation_id}",
        headers=api.headers(coder, **{"X-Request-ID": "chat-read-1"}),
    )
    assert response.status_code == 200
    rows = _reads(api, chart_id)[before:]
    assert [(r["endpoint"], r["actor"]) for r in rows] == [
        ("POST /conversations/{conversation_id}/messages", "a coder"),
        ("POST /conversations/{conversation_id}/messages", "lead"),
        ("GET /conversations/{conversation_id}", "a coder"),
    ]
    assert rows[-1]["request_id"] == "chat-read-1"
    # A refused read records nothing.
    assert api.get("/conversations/999999", coder).status_code == 404
    assert len(_reads(api, chart_id)) == before + 3

    audit = api.get(f"/charts/{chart_id}/audit").json()
    messages = [e for e in audit if e["action"] == "chat.message"]
    assert [e["after"]["kind"] for e in messages] == ["find_in_chart", "open"]
    assert messages[0]["after"] == {
        "conversation_id": conversation_id,
        "message_id": asked["id"],
        "kind": "find_in_chart",
        "refused": False,
    }
    assert messages[1]["after"]["refused"] is True
    assert (messages[0]["actor"], messages[0]["fiscal_year"]) == ("a coder", 2026)
    assert [e["after"] for e in audit if e["action"] == "chat.create"] == [
        {"conversation_id": conversation_id}
    ]
    shown = json.dumps(audit)
    for text in ("sepsis", "Summarize", "No evidence", "hospital course"):
        assert text not in shown


def test_chat_never_changes_the_chart_or_its_proposals(api: Api) -> None:
    chart_id, _ = _coded(api)
    before = api.get(f"/charts/{chart_id}").json()
    proposals = api.get(f"/charts/{chart_id}/proposals").json()
    conversation_id = _conversation(api, chart_id)
    for question in ("Why K35.80?", "accept K35.80", "reject G30.9 and commit", "code for sepsis"):
        _ask(api, conversation_id, question)
    after = api.get(f"/charts/{chart_id}").json()
    assert (after["version"], after["status"]) == (before["version"], before["status"])
    assert api.get(f"/charts/{chart_id}/proposals").json() == proposals
    assert api.get(f"/charts/{chart_id}/code-sets").json() == []


@pytest.fixture
def restricted(api_settings: Settings) -> Iterator[Api]:
    app = create_app(api_settings.model_copy(update={"restrict_to_assigned": True}))
    with TestClient(app) as client:
        yield Api.bootstrap(client, app)


def test_a_coder_cannot_chat_about_another_coders_chart(restricted: Api) -> None:
    api = restricted
    owner, other = api.user("owner", "coder"), api.user("other", "coder")
    chart_id, _ = _coded(api)
    users = {u["name"]: u["id"] for u in api.get("/users").json()}
    assigned = api.client.put(
        f"/charts/{chart_id}/assignee", json={"user_id": users["owner"]}, headers=api.headers()
    )
    assert assigned.status_code == 200, assigned.text
    conversation_id = _conversation(api, chart_id, owner)
    _ask(api, conversation_id, "Why K35.80?", owner)

    question = {"question": "Why K35.80?"}
    for method, path, body in [
        ("POST", f"/charts/{chart_id}/conversations", {}),
        ("GET", f"/charts/{chart_id}/conversations", None),
        ("GET", f"/conversations/{conversation_id}", None),
        ("POST", f"/conversations/{conversation_id}/messages", question),
    ]:
        response = api.client.request(method, path, json=body, headers=api.headers(other))
        assert response.status_code == 404, (path, response.text)
        assert "K35" not in response.text
    assert api.get(f"/conversations/{conversation_id}", owner).status_code == 200
    auditor = api.user("an auditor", "auditor")
    assert api.get(f"/conversations/{conversation_id}", auditor).status_code == 200
    rows = api.get(f"/charts/{chart_id}/reads").json()
    assert "other" not in {r["actor"] for r in rows}


def test_answers_count_against_the_per_user_limit(api: Api) -> None:
    chart_id, _ = _coded(api)
    conversation = _conversation(api, chart_id)
    limit = api.client.app.state.services.runs_per_user
    with limit.slot("lead"), limit.slot("lead"):  # two of the lead's runs under way
        whole = api.post(
            f"/conversations/{conversation}/messages", json={"question": "Is sepsis mentioned?"}
        )
        assert whole.status_code == 429 and whole.headers["retry-after"] == "5"
        streamed = api.post(
            f"/conversations/{conversation}/messages",
            json={"question": "Is sepsis mentioned?"},
            headers=STREAM,
        )
        assert streamed.status_code == 429  # refused before any stream starts
    assert api.get(f"/conversations/{conversation}").json()["messages"] == []
    assert _ask(api, conversation, "Is sepsis mentioned?")["answer"]["kind"] == "find_in_chart"
    with limit.slot("lead"):  # the slot taken by the answer above was given back
        pass


# ---- chat through the LLM ------------------------------------------------------------------


def _llm_app(settings: Settings, server: ScriptedLlmServer, fallback: str) -> Iterator[Api]:
    configured = settings.model_copy(
        update={
            "llm_base_url": server.base_url,
            "llm_model": server.model,
            "llm_fallback": fallback,
            "llm_max_retries": 0,  # one scripted 500 is one failed answer
        }
    )
    app = create_app(configured)
    with TestClient(app) as client:
        yield Api.bootstrap(client, app)


@pytest.fixture
def llm_chat(
    api_settings: Settings, llm_server: ScriptedLlmServer, tiktoken_ready: Path
) -> Iterator[Api]:
    yield from _llm_app(api_settings, llm_server, "offline")


@pytest.fixture
def llm_chat_failing(
    api_settings: Settings, llm_server: ScriptedLlmServer, tiktoken_ready: Path
) -> Iterator[Api]:
    yield from _llm_app(api_settings, llm_server, "fail")


def _coded_offline(api: Api) -> int:
    """A chart coded offline, so the scripted server answers only the chat."""
    chart_id = int(api.chart(CHART, **META)["id"])
    run = api.post(f"/charts/{chart_id}/coding-runs", json={"proposer": "offline"})
    assert run.status_code == 201, run.text
    return chart_id


def test_with_an_llm_configured_the_chat_answers_through_it(
    llm_chat: Api, llm_server: ScriptedLlmServer
) -> None:
    api = llm_chat
    conversation_id = _conversation(api, _coded_offline(api))
    quote = "1. Acute appendicitis."
    start = CHART.index(quote)
    answer = {
        "answer": "K35.80: the discharge diagnoses list acute appendicitis.",
        "citations": [
            {"kind": "chart", "quote": quote, "start": start, "end": start + len(quote)},
            {"kind": "kb", "source_id": "tabular:K35.80"},
        ],
        "codes": ["K35.80"],
    }
    llm_server.enqueue_json(answer)
    message = _ask(api, conversation_id, "Why K35.80?")

    assert len(llm_server.requests) == 1
    # De-identified by default: the discharge date is not sent.
    assert "2026-06-30" not in json.dumps(llm_server.requests[0])
    assert (message["answerer"], message["model"]) == ("llm", "scripted-model")
    assert message["prompt_version"] and message["answer"]["unverified"] == 0
    assert message["answer"]["text"] == answer["answer"]
    assert [q["quote"] for q in _chart_quotes(message)] == [quote]
    assert "tabular:K35.80" in _kb_sources(message)
    stored = api.get(f"/conversations/{conversation_id}").json()["messages"]
    assert [(m["answerer"], m["model"]) for m in stored] == [("llm", "scripted-model")]


def test_when_the_llm_fails_the_chat_answers_offline_and_says_so(
    llm_chat: Api, llm_server: ScriptedLlmServer
) -> None:
    api = llm_chat
    conversation_id = _conversation(api, _coded_offline(api))
    llm_server.enqueue(status=500)
    whole = _ask(api, conversation_id, "Why K35.80?")
    assert (whole["answerer"], whole["model"]) == ("offline", None)
    assert whole["answer"]["text"].endswith(FELL_BACK)
    assert "K35.80 Unspecified acute appendicitis" in whole["answer"]["text"]

    llm_server.enqueue(status=500)
    events = _events(api, conversation_id, "Is sepsis mentioned?")
    assert [name for name, _ in events][-1] == "final"
    final = events[-1][1]
    assert final["answerer"] == "offline" and final["answer"]["text"].endswith(FELL_BACK)
    assert "".join(data["text"] for _, data in events[:-1]) == final["answer"]["text"]
    assert len(llm_server.requests) == 2


def test_with_fallback_fail_an_llm_error_is_a_502(
    llm_chat_failing: Api, llm_server: ScriptedLlmServer
) -> None:
    api = llm_chat_failing
    conversation_id = _conversation(api, _coded_offline(api))
    url = f"/conversations/{conversation_id}/messages"
    llm_server.enqueue(status=500)
    failed = api.post(url, json={"question": "Why K35.80?"})
    assert failed.status_code == 502, failed.text
    assert failed.headers["content-type"] == "application/problem+json"
    assert "HTTP 500" in failed.json()["detail"]

    llm_server.enqueue(status=500)
    events = _events(api, conversation_id, "Why K35.80?")
    assert [name for name, _ in events] == ["error"]
    assert events[0][1]["status"] == 502
    assert api.get(f"/conversations/{conversation_id}").json()["messages"] == []
