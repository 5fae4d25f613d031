"""The chart page's side panels in a real browser: the MS-DRG and what each pending code would
do to it, CDI gaps and physician queries (draft, edit, send, cancel), the audit timeline, and
the chat about the chart answered by a scripted OpenAI-compatible server (never a network
model) that streams its answer; the auditor's read-only view; accessibility at both sizes.

One server for the module, with the scripted LLM configured for the chat only (every chart
here is coded offline); each test codes a chart of its own."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from fastapi.responses import StreamingResponse
from playwright.sync_api import expect

from retrieval.build import BuildReport
from tests.agent.conftest import tiktoken_ready  # noqa: F401  (a shared session fixture)
from tests.api.databases import sqlite_url
from tests.llm_server import ScriptedLlmServer
from tests.web.accessibility import audit, focus_is_visible
from tests.web.chart_setup import META, NOTE, WAIT, decide, proposals_of
from tests.web.conftest import Workspace, screenshot, sign_in, start_workspace
from wiring.settings import Settings

MODEL = "scripted-model"
PIECE = 6  # characters per streamed piece
PIECE_DELAY_S = 0.12  # so the page shows the answer growing
# A note that says only "heart failure" while it holds the indicators of its type and acuity:
# a documentation gap (tests/api/test_cdi_queries.py).
HF_NOTE = (
    "Discharge Summary\n"
    "78F admitted with fever, productive cough and a right lower lobe infiltrate on chest x-ray.\n"
    "Also dyspnea with orthopnea and bilateral leg edema. BNP 1,900. Echo: EF 60%.\n"
    "Treated with ceftriaxone and azithromycin, and IV furosemide.\n"
    "Discharge diagnoses: pneumonia. Heart failure."
)
HF_META = {**META, "age": 78, "sex": "F"}


class SlowStreamingLlmServer(ScriptedLlmServer):
    """The scripted server that answers `"stream": true` requests as server-sent events, a
    few characters at a time with a pause between pieces, as a real model streams."""

    def _app(self) -> FastAPI:
        app = super()._app()

        @app.middleware("http")
        async def as_events(
            request: Request, call_next: Callable[[Request], Awaitable[Response]]
        ) -> Response:
            body = await request.body()
            streamed = bool(body) and json.loads(body).get("stream") is True
            response = await call_next(request)
            if not streamed or response.status_code != 200:
                return response
            raw = b"".join([chunk async for chunk in response.body_iterator])  # type: ignore[attr-defined]
            return StreamingResponse(_slow_events(json.loads(raw)), media_type="text/event-stream")

        return app


async def _slow_events(completion: dict[str, Any]) -> AsyncIterator[str]:
    message = completion["choices"][0]["message"]
    frame = {k: completion[k] for k in ("id", "created", "model")}

    def event(delta: dict[str, Any], finish: str | None = None) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        chunk = {**frame, "object": "chat.completion.chunk", "choices": [choice]}
        return f"data: {json.dumps(chunk)}\n\n"

    yield event({"role": "assistant", "content": ""})
    content = message.get("content") or ""
    for start in range(0, len(content), PIECE):
        await asyncio.sleep(PIECE_DELAY_S)
        yield event({"content": content[start : start + PIECE]})
    yield event({}, completion["choices"][0]["finish_reason"])
    yield "data: [DONE]\n\n"


@pytest.fixture(scope="module")
def llm() -> Iterator[SlowStreamingLlmServer]:
    server = SlowStreamingLlmServer(MODEL)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def workspace(
    kb_settings: Settings,
    built_kb: BuildReport,
    tmp_path_factory: pytest.TempPathFactory,
    llm: SlowStreamingLlmServer,
    tiktoken_ready: Path,  # noqa: F811
) -> Iterator[Workspace]:
    """One server for the module, its chat answered by the scripted server (an answer not
    queued fails, and the page must say so: no fallback to the offline answerer)."""
    folder = tmp_path_factory.mktemp("workspace-panels")
    settings = kb_settings.model_copy(
        update={"database_url": sqlite_url(folder), "llm_base_url": None, "llm_model": None}
    )
    env = {
        "MEDCODER_LLM_BASE_URL": llm.base_url,
        "MEDCODER_LLM_MODEL": MODEL,
        "MEDCODER_LLM_FALLBACK": "fail",
        "MEDCODER_LLM_MAX_RETRIES": "0",
        "MEDCODER_TIKTOKEN_CACHE_DIR": str(tiktoken_ready),
    }
    started = start_workspace(settings, folder, env=env)
    try:
        yield started
    finally:
        started.server.stop()


def _coded(
    workspace: Workspace, external_id: str, text: str = NOTE, meta: dict[str, Any] = META
) -> tuple[dict[str, Any], list[Any]]:
    """A note posted and coded offline by the lead (the scripted server answers the chat
    only)."""
    with workspace.api("lena") as client:
        posted = client.post(
            "/charts", json={"text": text, "external_id": external_id, "meta": meta}
        )
        assert posted.status_code == 201, posted.text
        chart = posted.json()
        run = client.post(
            f"/charts/{chart['id']}/coding-runs", json={"proposer": "offline"}, headers=WAIT
        )
        assert run.status_code == 201, run.text
        proposals = client.get(f"/charts/{chart['id']}/proposals").json()
    assert len(proposals) >= 2, proposals
    return chart, proposals


def _open(page: Any, workspace: Workspace, chart_id: int, name: str = "cody") -> None:
    sign_in(page, workspace.url, name, path=f"/ui/charts/{chart_id}")
    page.wait_for_url(f"{workspace.url}/ui/charts/{chart_id}")
    expect(page.locator("#chart-page")).to_have_attribute("data-ready", "true")
    expect(page.locator("#side-panels")).to_have_attribute("data-ready", "true")


def _get(client: httpx.Client, path: str) -> Any:
    answer = client.get(path)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _proposals_changed(page: Any, client: httpx.Client, chart_id: int) -> None:
    """What the chart page tells the panels when the proposals change, with the API's
    current chart and proposals (a decision made elsewhere, here through the API)."""
    detail = {
        "chart": _get(client, f"/charts/{chart_id}"),
        "proposals": _get(client, f"/charts/{chart_id}/proposals"),
    }
    page.evaluate(
        """(detail) => document.dispatchEvent(
             new CustomEvent('medcoder:proposals-changed', {detail}))""",
        detail,
    )


def _shown_ids(rows: Any) -> list[int]:
    """The audit ids the timeline shows, top to bottom."""
    return [int(i) for i in rows.evaluate_all("(rows) => rows.map((r) => r.dataset.id)")]


def _expect_drg(page: Any, drg: dict[str, Any]) -> None:
    panel = page.locator("#panel-drg")
    number = "—" if drg["drg"] is None else f"{drg['drg']:03d}"
    expect(panel.locator("#drg-number")).to_have_text(number)
    expect(panel.locator("#drg-title")).to_have_text(drg["title"])
    pending = panel.locator("#drg-pending li")
    expect(pending).to_have_count(len(drg["pending"]))
    for impact in drg["pending"]:
        row = panel.locator(f'#drg-pending li[data-proposal-id="{impact["proposal_id"]}"]')
        expect(row).to_contain_text(impact["code"])
        if impact["changes_drg"]:
            expect(row).to_contain_text(
                f"DRG {impact['drg_without']:03d} → {impact['drg_with']:03d}"
            )
        else:
            expect(row).to_contain_text("no change")


def test_the_drg_panel_shows_the_apis_drg_and_follows_decisions(
    page: Any, workspace: Workspace
) -> None:
    chart, proposals = _coded(workspace, "SP-DRG-1")
    with workspace.api("lena") as client:
        drg = _get(client, f"/charts/{chart['id']}/drg")
    assert drg["pending"], drg
    _open(page, workspace, chart["id"])
    _expect_drg(page, drg)
    severity = {"MCC": "MCC", "CC": "CC", "NONE": "no CC/MCC"}[drg["severity"]]
    expect(page.locator("#drg-severity")).to_have_text(severity)
    weight = "not configured" if drg["weight"] is None else f"{drg['weight']:.4f}"
    expect(page.locator("#drg-weight")).to_have_text(weight)
    page.locator("#panel-drg").scroll_into_view_if_needed()
    screenshot(page, "14-drg")

    # A pending code accepted elsewhere (the API): the panel follows the page's event.
    chosen = next((p for p in drg["pending"] if p["changes_drg"]), drg["pending"][0])
    with workspace.api("lena") as client:
        proposal = next(p for p in proposals if p["id"] == chosen["proposal_id"])
        decide(client, proposal, action="accept")
        after = _get(client, f"/charts/{chart['id']}/drg")
        assert chosen["proposal_id"] not in [p["proposal_id"] for p in after["pending"]]
        _proposals_changed(page, client, chart["id"])
    _expect_drg(page, after)
    if chosen["changes_drg"]:
        assert after["drg"] == chosen["drg_with"]


def test_cdi_gaps_are_shown_and_a_query_is_drafted_edited_sent_and_cancelled(
    page: Any, workspace: Workspace
) -> None:
    chart, _ = _coded(workspace, "SP-CDI-1", HF_NOTE, HF_META)
    chart_id = chart["id"]
    with workspace.api("lena") as client:
        gaps = _get(client, f"/charts/{chart_id}/cdi")
    assert gaps, "the discharge summary leaves something unspecific"
    gap = gaps[0]
    _open(page, workspace, chart_id)
    panel = page.locator("#panel-cdi")
    expect(panel.locator("li.gap")).to_have_count(len(gaps))
    item = panel.locator(f'li.gap[data-proposal-id="{gap["proposal_id"]}"]').first
    expect(item).to_contain_text(gap["code"])
    expect(item).to_contain_text(gap["question"])

    # An indicator is a button that marks its span in the chart text.
    indicator = gap["indicators"][0]
    item.locator("button.cite-span").first.click()
    cited = page.locator("#chart-text mark.cited")
    expect(cited.first).to_be_visible()
    assert "".join(cited.all_inner_texts()) == indicator["quote"]
    page.locator("#panel-cdi").scroll_into_view_if_needed()
    screenshot(page, "15-cdi")

    # Drafted in the panel: a draft of the API's, as the gap proposed it.
    item.get_by_role("button", name=f"Draft a query about {gap['code']}").click()
    dialog = page.get_by_role("dialog", name=f"Query about {gap['code']}")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Question to the physician")).to_have_value(gap["question"])
    dialog.get_by_role("button", name="Save query").click()
    expect(dialog).to_be_hidden()
    with workspace.api("lena") as client:
        (query,) = _get(client, f"/charts/{chart_id}/queries")
    assert (query["status"], query["proposal_id"], query["kind"]) == (
        "draft",
        gap["proposal_id"],
        gap["kind"],
    )
    assert query["question"] == gap["question"] and query["options"] == gap["options"]
    assert [(i["start"], i["end"]) for i in query["indicators"]] == [
        (i["start"], i["end"]) for i in gap["indicators"]
    ]
    row = page.locator(f'#query-list li[data-query-id="{query["id"]}"]')
    expect(row).to_have_attribute("data-status", "draft")
    expect(item).to_contain_text(f"Query {query['id']} is a draft")

    # Edited: the new question is the API's.
    row.get_by_role("button", name=f"Edit query {query['id']}").click()
    dialog = page.get_by_role("dialog", name=f"Edit query {query['id']}")
    question = "Based on the clinical indicators, can the heart failure be further specified?"
    dialog.get_by_label("Question to the physician").fill(question)
    dialog.get_by_role("button", name="Save draft").click()
    expect(dialog).to_be_hidden()
    expect(row).to_contain_text(question)
    with workspace.api("lena") as client:
        assert _get(client, f"/queries/{query['id']}")["question"] == question

    # Sent, then cancelled with a reason.
    row.get_by_role("button", name=f"Send query {query['id']}").click()
    expect(row).to_have_attribute("data-status", "open")
    with workspace.api("lena") as client:
        assert _get(client, f"/queries/{query['id']}")["status"] == "open"
    row.get_by_role("button", name=f"Cancel query {query['id']}").click()
    dialog = page.get_by_role("dialog", name=f"Cancel query {query['id']}")
    dialog.get_by_label("Why cancel it?").fill("Answered in a progress note.")
    dialog.get_by_role("button", name="Cancel query").click()
    expect(row).to_have_attribute("data-status", "cancelled")
    expect(row.get_by_role("button")).not_to_have_count(0)  # its indicators stay clickable
    expect(row.locator(".side-actions")).to_have_count(0)
    with workspace.api("lena") as client:
        cancelled = _get(client, f"/queries/{query['id']}")
    assert (cancelled["status"], cancelled["reason"]) == (
        "cancelled",
        "Answered in a progress note.",
    )
    # The audit timeline names each step, newest first.
    audit_rows = page.locator("#audit-list li.audit-row")
    expect(audit_rows.first).to_have_attribute("data-action", "query.cancel")
    for action in ("query.create", "query.edit", "query.send"):
        expect(page.locator(f'#audit-list li[data-action="{action}"]')).to_have_count(1)


def test_the_physicians_answer_is_recorded_and_joins_the_chart_text(
    page: Any, workspace: Workspace
) -> None:
    chart, _ = _coded(workspace, "SP-ANSWER-1", HF_NOTE, HF_META)
    chart_id = chart["id"]
    with workspace.api("lena") as client:
        (gap, *_) = _get(client, f"/charts/{chart_id}/cdi")
        body = {
            "proposal_id": gap["proposal_id"],
            "kind": gap["kind"],
            "topic": gap["topic"],
            "question": gap["question"],
            "options": gap["options"],
            "code": gap["code"],
            "indicators": [{k: i[k] for k in ("what", "start", "end")} for i in gap["indicators"]],
            "send": True,
        }
        sent = client.post(f"/charts/{chart_id}/queries", json=body)
        assert sent.status_code == 201, sent.text
    query = sent.json()
    assert query["status"] == "open" and query["options"], query
    _open(page, workspace, chart_id)
    row = page.locator(f'#query-list li[data-query-id="{query["id"]}"]')
    name = f"query {query['id']} ({query['code']})" if query["code"] else f"query {query['id']}"
    row.get_by_role("button", name=f"Record the answer to {name}").click()
    dialog = page.get_by_role("dialog", name=f"Answer to query {query['id']}")
    dialog.get_by_role("button", name="Record answer").click()  # nothing chosen: said so
    expect(dialog).to_contain_text("Choose the physician's answer")
    chosen = query["options"][0]
    dialog.get_by_label(chosen).check()
    dialog.get_by_label("What the physician documented").fill("Per cardiology note.")
    page.evaluate("() => { window.sameDocument = true; }")  # gone if the page reloads
    dialog.get_by_role("button", name="Record answer").click()
    # The page reads the chart again in place: the addendum is in its text, the query
    # answered, the audit timeline has the answer; the document is the same one.
    expect(page.locator("#chart-text")).to_contain_text(f"{chosen}. Per cardiology note.")
    row = page.locator(f'#query-list li[data-query-id="{query["id"]}"]')
    expect(row).to_have_attribute("data-status", "answered")
    expect(page.locator('#audit-list li[data-action="query.answer"]')).to_have_count(1)
    with workspace.api("lena") as client:
        trail = _get(client, f"/charts/{chart_id}/audit")
    expect(page.locator("#audit-list li.audit-row")).to_have_count(len(trail))
    assert page.evaluate("() => window.sameDocument === true")
    # The evidence highlights are still there, over the longer text.
    expect(page.locator("#chart-text mark").first).to_be_visible()
    with workspace.api("lena") as client:
        answered = _get(client, f"/queries/{query['id']}")
        text = _get(client, f"/charts/{chart_id}")["text"]
    assert (answered["status"], answered["answer"]) == (
        "answered",
        f"{chosen}. Per cardiology note.",
    )
    assert text.endswith(f"{chosen}. Per cardiology note.\n")


def test_the_audit_timeline_is_newest_first_and_follows_decisions(
    page: Any, workspace: Workspace
) -> None:
    chart, proposals = _coded(workspace, "SP-AUDIT-1")
    chart_id = chart["id"]
    with workspace.api("lena") as client:
        events = _get(client, f"/charts/{chart_id}/audit")
    _open(page, workspace, chart_id)
    rows = page.locator("#audit-list li.audit-row")
    expect(rows).to_have_count(len(events))
    assert _shown_ids(rows) == sorted((e["id"] for e in events), reverse=True)

    # A decision in the page: its row comes first, naming who and what.
    target = proposals[0]
    code = target["code"]
    row = page.locator(f'#proposal-list li[data-code="{code}"]')
    row.locator(".p-title").click()
    page.keyboard.press("a")
    expect(row.locator(".badge.accepted")).to_have_text("Accepted")
    first = rows.first
    expect(first).to_have_attribute("data-action", "proposal.accept")
    expect(first).to_contain_text(f"Accepted {code}")
    expect(first).to_contain_text("cody")
    # One decided elsewhere arrives with the page's next change event.
    with workspace.api("lena") as client:
        other = proposals_of(client, chart_id)[proposals[1]["code"]]
        decide(client, other, action="reject", reason="not_documented")
        _proposals_changed(page, client, chart_id)
        expected = len(_get(client, f"/charts/{chart_id}/audit"))
    expect(first).to_contain_text(f"Rejected {other['code']}")
    expect(first).to_contain_text("lena")
    expect(first).to_contain_text("Reason: Not documented")
    expect(rows).to_have_count(expected)
    page.locator("#panel-audit").scroll_into_view_if_needed()
    screenshot(page, "16-audit")


def test_a_long_audit_trail_shows_the_newest_first_and_pages_back(
    page: Any, workspace: Workspace
) -> None:
    """The panel reads the newest page, not the whole trail; "Show older" pages back."""
    chart, proposals = _coded(workspace, "SP-AUDIT-LONG")
    chart_id = chart["id"]
    with workspace.api("lena") as client:
        current = proposals[0]
        for _ in range(35):  # a coder changing their mind: two audit rows each time
            current = decide(client, current, action="accept")
            current = decide(client, current, action="reject", reason="not_documented")
        events = _get(client, f"/charts/{chart_id}/audit?limit=1000")
    newest_first = [e["id"] for e in reversed(events)]
    assert len(newest_first) > 60
    _open(page, workspace, chart_id)
    rows = page.locator("#audit-list li.audit-row")
    expect(rows).to_have_count(60)
    assert _shown_ids(rows) == newest_first[:60]
    older = page.get_by_role("button", name="Show older events")
    older.click()
    expect(rows).to_have_count(len(events))
    assert _shown_ids(rows) == newest_first
    expect(older).to_be_hidden()
    expect(rows.last).to_have_attribute("data-action", "chart.create")


def test_the_chat_streams_an_answer_whose_citation_marks_the_chart(
    page: Any, workspace: Workspace, llm: SlowStreamingLlmServer
) -> None:
    chart, _ = _coded(workspace, "SP-CHAT-1")
    chart_id = chart["id"]
    quote = "Blood glucose on admission was 412 mg/dL."
    start = NOTE.index(quote)
    text = (
        "E11.65 is supported: the note documents type 2 diabetes with hyperglycemia, "
        "and the admission glucose was 412 mg/dL."
    )
    llm.enqueue_json(
        {
            "answer": text,
            "citations": [
                {"kind": "chart", "quote": quote, "start": start, "end": start + len(quote)},
                {"kind": "kb", "source_id": "tabular:E11.65"},
            ],
            "codes": ["E11.65"],
        }
    )
    _open(page, workspace, chart_id)
    looked_up: list[str] = []  # the answer carries its codes' titles: no lookup per code
    page.on("request", lambda r: looked_up.append(r.url) if "/codes/" in r.url else None)
    panel = page.locator("#panel-chat")
    panel.get_by_label("Your question").fill("Why E11.65?")
    panel.get_by_role("button", name="Ask").click()
    # The answer grows while it streams, then is whole with its sources.
    answer = panel.locator(".chat-turn").last.locator(".chat-answer")
    page.wait_for_function(
        """(full) => { const a = [...document.querySelectorAll('#chat-log .chat-answer')].pop();
             const shown = a && a.querySelector('.chat-text').textContent;
             return a && a.getAttribute('aria-busy') === 'true' && shown.length > 0
               && shown.length < full.length && full.startsWith(shown); }""",
        arg=text,
    )
    expect(answer).not_to_have_attribute("aria-busy", "true", timeout=30_000)
    expect(answer.locator(".chat-text")).to_have_text(text)
    assert llm.pending == 0 and llm.requests[-1].get("stream") is True
    citation = answer.get_by_role("button", name=f"Show in the chart text: {quote}")
    expect(citation).to_be_visible()
    code = answer.locator('.cite-code[data-code="E11.65"]')
    expect(code).to_contain_text("Type 2 diabetes mellitus with hyperglycemia")
    assert looked_up == []
    citation.click()
    cited = page.locator("#chart-text mark.cited")
    expect(cited.first).to_be_visible()
    assert "".join(cited.all_inner_texts()) == quote
    screenshot(page, "13-chat")

    # Stored: the API has the message; a new visit shows the conversation.
    with workspace.api("lena") as client:
        (conversation,) = _get(client, f"/charts/{chart_id}/conversations")
        stored = _get(client, f"/conversations/{conversation['id']}")["messages"]
    assert [(m["question"], m["answer"]["text"], m["answerer"]) for m in stored] == [
        ("Why E11.65?", text, "llm")
    ]
    page.reload()
    expect(page.locator("#side-panels")).to_have_attribute("data-ready", "true")
    expect(panel.locator(".chat-turn")).to_have_count(1)
    expect(panel.locator(".chat-turn .chat-text")).to_have_text(text)
    expect(panel.get_by_label("Conversation")).to_have_value(str(conversation["id"]))

    # The model failing (nothing queued, no fallback here) is said in the panel, plainly.
    panel.get_by_label("Your question").fill("Is sepsis mentioned?")
    panel.get_by_role("button", name="Ask").click()
    failed = panel.locator(".chat-turn").last.get_by_role("alert")
    expect(failed).to_contain_text("No answer:", timeout=30_000)
    expect(panel.get_by_role("button", name="Ask")).to_be_enabled()


def test_an_auditor_reads_the_panels_without_changing_anything(
    page: Any, workspace: Workspace
) -> None:
    chart, _ = _coded(workspace, "SP-AUDITOR-1", HF_NOTE, HF_META)
    chart_id = chart["id"]
    with workspace.api("cody") as client:
        gaps = _get(client, f"/charts/{chart_id}/cdi")
        gap = gaps[0]
        made = client.post(
            f"/charts/{chart_id}/queries",
            json={
                "kind": gap["kind"],
                "topic": gap["topic"],
                "question": gap["question"],
                "options": gap["options"],
                "indicators": [
                    {"what": i["what"], "start": i["start"], "end": i["end"]}
                    for i in gap["indicators"]
                ],
                "code": gap["code"],
                "proposal_id": gap["proposal_id"],
                "send": False,
            },
        )
        assert made.status_code == 201, made.text
        conversation = client.post(f"/charts/{chart_id}/conversations", json={"title": "Sepsis"})
        assert conversation.status_code == 201, conversation.text
    _open(page, workspace, chart_id, name="audrey")
    expect(page.locator("#panel-cdi li.gap")).to_have_count(len(gaps))
    expect(page.locator(f'#query-list li[data-query-id="{made.json()["id"]}"]')).to_be_visible()
    expect(page.locator("#drg-number")).not_to_have_text("")
    expect(page.locator("#audit-list li.audit-row").first).to_be_visible()
    expect(page.get_by_label("Conversation")).to_have_value(str(conversation.json()["id"]))
    side = page.locator("#side-panels")
    for name in ("Draft query", "Send", "Edit", "Cancel query", "Ask"):
        expect(side.get_by_role("button", name=name, exact=True)).to_have_count(0)
    expect(side.locator("textarea")).to_have_count(0)
    expect(side).to_contain_text("coders and leads ask")


def test_an_outpatient_chart_has_no_drg_and_the_panel_says_why(
    page: Any, workspace: Workspace
) -> None:
    meta = {"setting": "outpatient", "age": 71, "sex": "M", "encounter_date": "2026-03-02"}
    chart, _ = _coded(workspace, "SP-OUT-1", NOTE, meta)
    with workspace.api("lena") as client:
        assert client.get(f"/charts/{chart['id']}/drg").status_code == 422
    _open(page, workspace, chart["id"])
    # Said in the panel without a refused request (which would be a console error).
    expect(page.locator("#panel-drg .drg-unavailable")).to_contain_text("inpatient stays")
    expect(page.locator("#drg-number")).to_have_count(0)
    expect(page.locator("#audit-list li.audit-row").first).to_be_visible()


@pytest.mark.parametrize("viewport", [(1280, 800), (1920, 1080)])
def test_the_panels_are_accessible_and_fit(
    page_for: Any, workspace: Workspace, viewport: tuple[int, int]
) -> None:
    chart, _ = _coded(workspace, f"SP-A11Y-{viewport[0]}", HF_NOTE, HF_META)
    page = page_for(viewport)
    _open(page, workspace, chart["id"])
    expect(page.locator("#drg-number")).not_to_have_text("")
    expect(page.locator("#panel-cdi li.gap").first).to_be_visible()
    expect(page.locator("#audit-list li.audit-row").first).to_be_visible()
    for section in page.locator("#side-panels details.side-panel").all():
        assert section.get_attribute("open") is not None
    found = audit(page)
    assert found["low"] == [], found["low"]
    assert found["unnamed"] == [], found["unnamed"]
    # Nothing wider than its column: no sideways scrolling in any panel.
    wide = page.evaluate(
        """() => {
             const column = document.getElementById('side-panels');
             const right = column.getBoundingClientRect().right + 1;
             return [column, ...column.querySelectorAll('*')]
               .filter((n) => !n.closest('.visually-hidden'))
               .filter((n) => (n.scrollWidth > n.clientWidth + 1
                                && getComputedStyle(n).overflowX !== 'visible')
                              || n.getBoundingClientRect().right > right)
               .map((n) => `${n.tagName}.${n.className}`);
           }"""
    )
    assert wide == [], wide
    # A panel opens and closes from the keyboard.
    summary = page.locator("#panel-audit > summary")
    summary.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#panel-audit")).not_to_have_attribute("open", "")
    page.keyboard.press("Enter")
    expect(page.locator("#panel-audit")).to_have_attribute("open", "")
    assert page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement); "
        "return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2; }"
    )
    page.locator("#panel-chat > summary").focus()
    assert focus_is_visible(page)  # Tab on: the conversation picker, ringed
    assert page.evaluate("document.activeElement.id") == "chat-conversation"
    screenshot(page, f"17-chart-panels-{viewport[0]}")
