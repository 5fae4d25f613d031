"""A coder's whole review through the pages, on PostgreSQL with the offline agent: a wrong
password, sign in, upload a chart and code it from the worklist, principal / reject with a
reason / modify through the search / add a code from selected text / accept the rest with the
keys, a chat question whose citation marks the chart,
sign out; the lead commits (refused first while codes were undecided), the audit timeline, both
exports downloaded.

The agent's proposals depend on what its ranker learned, so every choice below is made from
what the API says the chart holds (the first diagnosis, the next one, ...), never from a list
of codes written here."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from retrieval.build import BuildReport
from tests.api.databases import PostgresDatabases
from tests.web.conftest import PASSWORD, Workspace, screenshot, sign_in, start_workspace
from wiring.settings import Settings

# Written for this test: a short inpatient stay with several diagnoses and a procedure, and a
# history the offline agent does not code (the coder adds it from the text).
NOTE = """DISCHARGE SUMMARY

HISTORY: 64-year-old woman admitted with acute cholecystitis. She has type 2 diabetes mellitus
with diabetic chronic kidney disease stage 3b and essential hypertension. History of
appendectomy.

HOSPITAL COURSE: Laparoscopic cholecystectomy was performed on hospital day 1 without
complication. Blood glucose was managed with insulin. Renal function stayed at baseline.

DISCHARGE DIAGNOSES:
1. Acute cholecystitis.
2. Type 2 diabetes mellitus with diabetic chronic kidney disease, stage 3b.
3. Hypertension.
"""
MISSED_WORDS = "History of\nappendectomy"
MISSED_CODE = "Z90.49"
ICD_SYSTEMS = {"http://hl7.org/fhir/sid/icd-10-cm", "http://www.cms.gov/Medicare/Coding/ICD10"}


@pytest.fixture(scope="module")
def workspace(
    kb_settings: Settings,
    built_kb: BuildReport,
    tmp_path_factory: pytest.TempPathFactory,
    postgres: PostgresDatabases,
) -> Iterator[Workspace]:
    folder = tmp_path_factory.mktemp("workspace-journey")
    settings = kb_settings.model_copy(
        update={"database_url": postgres.fresh(), "llm_base_url": None, "llm_model": None}
    )
    started = start_workspace(settings, folder)
    try:
        yield started
    finally:
        started.server.stop()


def _get(client: httpx.Client, path: str) -> Any:
    answer = client.get(path)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _row(page: Any, proposal: dict[str, Any]) -> Any:
    return page.locator(f"#proposal-{proposal['id']}")


def _select(page: Any, proposal: dict[str, Any]) -> Any:
    row = _row(page, proposal)
    row.locator(".p-title").click()
    expect(row).to_have_attribute("aria-selected", "true")
    return row


def _select_text(page: Any, start: int, end: int) -> None:
    """Selects chart text [start, end) as a mouse would."""
    page.evaluate(
        """([start, end]) => {
            const body = document.getElementById('chart-text');
            const walker = document.createTreeWalker(body, NodeFilter.SHOW_TEXT);
            const range = document.createRange();
            let seen = 0;
            for (let node = walker.nextNode(); node; node = walker.nextNode()) {
              const next = seen + node.textContent.length;
              if (start >= seen && start <= next) range.setStart(node, start - seen);
              if (end >= seen && end <= next) { range.setEnd(node, end - seen); break; }
              seen = next;
            }
            document.getSelection().removeAllRanges();
            document.getSelection().addRange(range);
        }""",
        [start, end],
    )


def _icd_codes(node: Any) -> set[str]:
    """The ICD-10-CM and -PCS codings anywhere in a FHIR resource."""
    if isinstance(node, list):
        return set().union(*(_icd_codes(item) for item in node)) if node else set()
    if not isinstance(node, dict):
        return set()
    own = {node["code"]} if str(node.get("system", "")) in ICD_SYSTEMS else set()
    return own.union(*(_icd_codes(value) for value in node.values()))


def test_a_coder_reviews_and_commits_a_chart_from_upload_to_export(
    page_for: Any, workspace: Workspace
) -> None:
    page = page_for()
    # A wrong password is refused and said; the right one lets the coder in.
    page.watch.expect_console_error("401")
    page.goto(workspace.url + "/")
    page.get_by_label("User name").fill("cody")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Wrong user name or password")
    sign_in(page, workspace.url, "cody", PASSWORD)
    page.wait_for_url(workspace.url + "/")

    # Upload the chart and code it from the worklist; follow the job to its review link.
    page.get_by_role("button", name="Upload chart").click()
    dialog = page.get_by_role("dialog", name="Upload a chart")
    dialog.get_by_label("Chart text").fill(NOTE)
    dialog.get_by_label("External id").fill("JOURNEY-0001")
    dialog.get_by_label("Setting").select_option("inpatient")
    dialog.get_by_label("Age").fill("64")
    dialog.get_by_label("Sex").select_option("F")
    dialog.get_by_label("Admission date").fill("2026-05-11")
    dialog.get_by_label("Discharge date").fill("2026-05-14")
    dialog.get_by_role("button", name="Upload and code").click()
    row = page.locator("#rows tr[data-chart-id]").filter(has_text="JOURNEY-0001")
    review = row.get_by_role("link", name=re.compile("^Review chart"))
    expect(review).to_be_visible(timeout=60_000)
    chart_id = int(row.get_attribute("data-chart-id"))
    review.click()
    page.wait_for_url(f"{workspace.url}/ui/charts/{chart_id}")
    expect(page.locator("#chart-page")).to_have_attribute("data-ready", "true")
    with workspace.api("lena") as client:
        chart = _get(client, f"/charts/{chart_id}")
        proposals = _get(client, f"/charts/{chart_id}/proposals")
    assert chart["text"] == NOTE and chart["created_by"] == "cody"
    diagnoses = [p for p in proposals if p["system"] == "cm"]
    assert len(diagnoses) >= 3, [p["code"] for p in proposals]
    expect(page.locator("#proposal-list li.proposal")).to_have_count(len(proposals))
    screenshot(page, "20-journey-coded")

    # The lead, in a browser of her own, commits too early: refused, the problems listed.
    lead = page_for()
    sign_in(lead, workspace.url, "lena", path=f"/ui/charts/{chart_id}")
    expect(lead.locator("#chart-page")).to_have_attribute("data-ready", "true")
    lead.watch.expect_console_error("409")
    lead.get_by_role("button", name="Commit").click()
    problems = lead.locator("#commit-problems")
    expect(problems).to_contain_text(f"{len(proposals)} proposals have no decision yet")
    screenshot(lead, "21-journey-commit-refused")
    problems.get_by_role("button", name="Dismiss").click()

    # p makes a diagnosis the agent did not choose principal (p on the principal would
    # toggle it off); the one that held it loses it.
    principal = next(d for d in diagnoses if not d["principal"])
    others = [d for d in diagnoses if d is not principal]
    # Modified: one with siblings in its category (a code longer than its category).
    modified = next((d for d in others if len(d["code"]) > 4), others[-1])
    rejected = next(d for d in others if d is not modified)
    _select(page, principal)
    page.keyboard.press("p")
    expect(_row(page, principal).locator(".badge.principal")).to_be_visible()
    expect(page.locator("#proposal-list .badge.principal")).to_have_count(1)

    _select(page, rejected)
    page.keyboard.press("r")
    dialog = page.get_by_role("dialog", name=f"Reject {rejected['code']}")
    dialog.get_by_label("Not documented").check()
    dialog.get_by_role("button", name="Reject").click()
    expect(_row(page, rejected).locator(".badge.rejected")).to_be_visible()

    # Modify to another code of the same category, picked from the search's own suggestions.
    _select(page, modified)
    page.keyboard.press("m")
    dialog = page.get_by_role("dialog", name=f"Modify {modified['code']}")
    search = dialog.get_by_role("combobox", name="Replacement code")
    search.press_sequentially(modified["code"][:3], delay=20)
    options = dialog.get_by_role("option")
    expect(options.first).to_be_visible()
    texts = options.all_inner_texts()
    siblings = [
        i
        for i, text in enumerate(texts)
        if text.startswith(modified["code"][:3]) and not text.startswith(modified["code"])
    ]
    assert siblings, texts
    replacement = texts[siblings[0]].split()[0]
    screenshot(page, "22-journey-modify")
    options.nth(siblings[0]).click()
    expect(dialog.locator(".chosen")).to_contain_text(replacement)
    dialog.get_by_label("Reason").select_option("more_specific_code")
    dialog.get_by_role("button", name="Modify").click()
    expect(_row(page, modified).locator(".badge.modified")).to_be_visible()

    # Add the missed history code from the words in the chart text.
    start = NOTE.index(MISSED_WORDS)
    _select_text(page, start, start + len(MISSED_WORDS))
    page.get_by_role("button", name="Add code from selection").click()
    dialog = page.get_by_role("dialog", name="Add a code from the selected text")
    search = dialog.get_by_role("combobox", name="Code")
    search.fill("")
    search.press_sequentially(MISSED_CODE, delay=20)
    dialog.get_by_role("option").filter(has_text=MISSED_CODE).first.click()
    dialog.get_by_role("button", name="Add code").click()
    expect(dialog).to_be_hidden()
    expect(
        page.locator(f'#proposal-list li[data-code="{MISSED_CODE}"] .badge.added')
    ).to_be_visible()

    # The rest accepted with the keys.
    for proposal in proposals:
        if proposal["id"] in (principal["id"], rejected["id"], modified["id"]):
            continue
        _select(page, proposal)
        page.keyboard.press("a")
        expect(_row(page, proposal).locator(".badge.accepted")).to_be_visible()
    expect(page.locator("#decided-count")).to_have_text(
        f"{len(proposals) + 1} of {len(proposals) + 1} decided"
    )

    # A chat question about the principal; its chart citation marks those words.
    chat = page.locator("#panel-chat")
    chat.get_by_label("Your question").fill(f"Why {principal['code']}?")
    chat.get_by_role("button", name="Ask").click()
    answer = chat.locator(".chat-turn").last.locator(".chat-answer")
    expect(answer).not_to_have_attribute("aria-busy", "true", timeout=30_000)
    with workspace.api("lena") as client:
        (conversation,) = _get(client, f"/charts/{chart_id}/conversations")
        (message,) = _get(client, f"/conversations/{conversation['id']}")["messages"]
    cited = [c for c in message["answer"]["citations"] if c["kind"] == "chart"]
    assert cited, message["answer"]
    answer.get_by_role("button", name=f"Show in the chart text: {cited[0]['quote']}").click()
    marked = page.locator("#chart-text mark.cited")
    expect(marked.first).to_be_visible()
    assert "".join(marked.all_inner_texts()) == NOTE[cited[0]["start"] : cited[0]["end"]]

    # The coder is done and signs out: the chart is out of reach until they sign in again.
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r".*/sign-in.*"))
    page.goto(f"{workspace.url}/ui/charts/{chart_id}")
    page.wait_for_url(re.compile(r".*/sign-in\?next=.*"))

    # The lead reloads, sees every code decided, and commits: done and read-only.
    page = lead
    page.reload()
    expect(page.locator("#chart-page")).to_have_attribute("data-ready", "true")
    expect(page.locator("#decided-count")).to_have_text(
        f"{len(proposals) + 1} of {len(proposals) + 1} decided"
    )
    page.get_by_role("button", name="Commit").click()
    expect(page.locator("#chart-status")).to_have_text("Committed")
    expect(page.locator("#proposal-list .p-actions")).to_have_count(0)
    screenshot(page, "23-journey-committed")
    with workspace.api("lena") as client:
        (code_set,) = _get(client, f"/charts/{chart_id}/code-sets")
        audit = _get(client, f"/charts/{chart_id}/audit")
    committed = {entry["code"] for entry in code_set["codes"]}
    assert committed == (
        {p["code"] for p in proposals} - {rejected["code"], modified["code"]}
        | {replacement, MISSED_CODE}
    )

    # The audit timeline shows what the API recorded, newest first.
    timeline = page.locator("#panel-audit .audit-row")
    expect(timeline.first).to_have_attribute("data-action", "chart.commit")
    newest = [str(event["id"]) for event in reversed(audit)][: timeline.count()]
    assert [timeline.nth(i).get_attribute("data-id") for i in range(len(newest))] == newest
    actions = {event["action"] for event in audit}
    assert {"chart.create", "coding_run.create", "code.add", "chart.commit"} <= actions

    # Both exports download the committed codes.
    with page.expect_download() as fhir_download:
        page.get_by_role("button", name="Export FHIR").click()
    fhir = json.loads(fhir_download.value.path().read_text())
    assert fhir["resourceType"] == "Bundle"
    assert _icd_codes(fhir) == committed
    with page.expect_download() as csv_download:
        page.get_by_role("button", name="Export CSV").click()
    rows = list(csv.DictReader(io.StringIO(csv_download.value.path().read_text())))
    exported = {value for row in rows for value in row.values()}
    assert committed <= exported
