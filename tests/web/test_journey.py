"""A coder's whole day through the pages, on PostgreSQL with the offline agent and the offline
chat answerer.

Cody signs in (a wrong password first), pastes a discharge summary into the upload form with
its setting, age, sex and dates, codes it from the worklist and follows the job to the review
link. On the chart page he moves through the proposals with j / k, makes one diagnosis the
principal (p), rejects one with a reason (r), modifies one to a code of the same system picked
from the type-ahead's own suggestions (m), adds a code the agent missed from words selected in
the chart text, and accepts the rest (a). Meanwhile the lead presses Commit too early and is
refused with the undecided codes listed; once everything is decided she commits, and Cody's
page turns read-only. He asks the chat about the chart and follows a citation into the chart
text, reads the audit timeline, downloads both exports, and signs out.

The agent's proposals depend on what its ranker learned, so every choice below is made from
what the API says the chart holds (a diagnosis that is not the principal, one with siblings in
its category, ...), never from a list of codes written here. The API is used only to read what
the pages did, never to do it for them."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from retrieval.build import BuildReport
from tests.api.databases import PostgresDatabases
from tests.web.conftest import PASSWORD, Workspace, screenshot, sign_in, start_workspace
from wiring.settings import Settings

# Written for this test (no dataset's): a short inpatient stay with several diagnoses, one
# procedure, and history / status words the agent may leave uncoded (the coder adds one).
NOTE = """DISCHARGE SUMMARY

ADMISSION DIAGNOSIS: Right upper quadrant pain.

HISTORY OF PRESENT ILLNESS: 64-year-old woman admitted with two days of right upper quadrant \
pain, fever and vomiting. Ultrasound showed a distended gallbladder with gallstones and wall \
thickening. She has type 2 diabetes mellitus with diabetic chronic kidney disease stage 3b and \
essential hypertension. Long-term use of insulin. History of appendectomy.

HOSPITAL COURSE: Acute cholecystitis with cholelithiasis. Laparoscopic cholecystectomy was \
performed on hospital day 1 without complication. Blood glucose was managed with basal insulin. \
Renal function stayed at baseline. Blood pressure controlled on amlodipine.

DISCHARGE DIAGNOSES:
1. Acute cholecystitis with cholelithiasis.
2. Type 2 diabetes mellitus with diabetic chronic kidney disease, stage 3b.
3. Hypertension.

PROCEDURES: Laparoscopic cholecystectomy.

DISPOSITION: Discharged home in stable condition.
"""
EXTERNAL_ID = "JOURNEY-0001"
# Words in NOTE and the code a coder reports for them, in order of preference: the test adds
# the first the agent did not propose itself.
MISSED = [("History of appendectomy", "Z90.49"), ("Long-term use of insulin", "Z79.4")]
FHIR_SYSTEMS = {
    "http://hl7.org/fhir/sid/icd-10-cm": "cm",
    "http://www.cms.gov/Medicare/Coding/ICD10": "pcs",
}


@pytest.fixture(scope="module")
def workspace(
    kb_settings: Settings,
    built_kb: BuildReport,
    tmp_path_factory: pytest.TempPathFactory,
    postgres: PostgresDatabases,
) -> Iterator[Workspace]:
    """One server on a fresh PostgreSQL database; no LLM, so the chat answers offline."""
    folder = tmp_path_factory.mktemp("workspace-journey")
    settings = kb_settings.model_copy(
        update={"database_url": postgres.fresh(), "llm_base_url": None, "llm_model": None}
    )
    started = start_workspace(settings, folder)
    try:
        yield started
    finally:
        started.server.stop()


@dataclass
class Plan:
    """Which proposal gets which decision, chosen by role from what the agent proposed."""

    principal: dict[str, Any]  # a diagnosis the agent did not make principal
    rejected: dict[str, Any]
    modified: dict[str, Any]  # a diagnosis with siblings in its category
    missed_words: str
    missed_code: str


def _get(client: httpx.Client, path: str) -> Any:
    answer = client.get(path)
    assert answer.status_code == 200, f"{path}: {answer.status_code} {answer.text}"
    return answer.json()


def _api(workspace: Workspace, path: str) -> Any:
    with workspace.api("lena") as client:
        return _get(client, path)


def _row(page: Any, proposal: dict[str, Any]) -> Any:
    return page.locator(f"#proposal-{proposal['id']}")


def _select(page: Any, proposal: dict[str, Any]) -> Any:
    row = _row(page, proposal)
    row.locator(".p-title").click()
    expect(row).to_have_attribute("aria-selected", "true")
    return row


def _select_text(page: Any, start: int, end: int) -> None:
    """Selects chart text [start, end) as a mouse would: a Range over the text nodes of
    #chart-text (the evidence marks cut the text into several)."""
    page.evaluate(
        """([start, end]) => {
            const body = document.getElementById('chart-text');
            const walker = document.createTreeWalker(body, NodeFilter.SHOW_TEXT);
            const range = document.createRange();
            let seen = 0;
            for (let node = walker.nextNode(); node; node = walker.nextNode()) {
              const next = seen + node.textContent.length;
              if (start >= seen && start < next) range.setStart(node, start - seen);
              if (end > seen && end <= next) { range.setEnd(node, end - seen); break; }
              seen = next;
            }
            document.getSelection().removeAllRanges();
            document.getSelection().addRange(range);
        }""",
        [start, end],
    )


def _plan(proposals: list[dict[str, Any]]) -> Plan:
    diagnoses = [p for p in proposals if p["system"] == "cm"]
    assert len(diagnoses) >= 3, [p["code"] for p in proposals]
    # Principal: a condition (not a status Z code) the agent did not choose; p on the current
    # principal would take it away.
    principal = next(
        (d for d in diagnoses if not d["principal"] and not d["code"].startswith("Z")),
        next(d for d in diagnoses if not d["principal"]),
    )
    others = [d for d in diagnoses if d is not principal and not d["principal"]]
    others = others or [d for d in diagnoses if d is not principal]
    # Modified: a condition's subcategory code (longer than its category), so the search has
    # siblings to offer; rejected: preferably a status code (Z), else any other diagnosis.
    modified = next(
        (d for d in others if len(d["code"]) > 4 and not d["code"].startswith("Z")),
        next((d for d in others if len(d["code"]) > 4), others[-1]),
    )
    rest = [d for d in [*others, *diagnoses] if d is not modified and d is not principal]
    rejected = next((d for d in rest if d["code"].startswith("Z")), rest[0])
    proposed = {p["code"] for p in proposals}
    words, code = next((w, c) for w, c in MISSED if c not in proposed)
    return Plan(principal, rejected, modified, words, code)


def test_a_coders_day_from_sign_in_to_export(page_for: Any, workspace: Workspace) -> None:
    assert workspace.database_url.startswith("postgresql"), workspace.database_url
    page = page_for()

    # --- 1. A wrong password is refused and said; the right one lets Cody in. -------------
    page.watch.expect_console_error("401")  # the browser logs the refused sign-in post
    sign_in(page, workspace.url, "cody", password="not the password")
    expect(page.get_by_role("alert")).to_have_text("Wrong user name or password.")
    assert page.url.startswith(workspace.url + "/sign-in")
    sign_in(page, workspace.url, "cody", PASSWORD)
    page.wait_for_url(workspace.url + "/")
    expect(page.locator("#charts")).to_have_attribute("aria-busy", "false")

    # --- 2. Upload the pasted chart with its metadata, code it, follow the job. -----------
    page.get_by_role("button", name="Upload chart").click()
    dialog = page.get_by_role("dialog", name="Upload a chart")
    dialog.get_by_label("Chart text").fill(NOTE)
    dialog.get_by_label("External id").fill(EXTERNAL_ID)
    dialog.get_by_label("Setting").select_option("inpatient")
    dialog.get_by_label("Age").fill("64")
    dialog.get_by_label("Sex").select_option("F")
    dialog.get_by_label("Admission date").fill("2026-05-11")
    dialog.get_by_label("Discharge date").fill("2026-05-14")
    dialog.get_by_role("button", name="Upload and code").click()
    expect(dialog).to_be_hidden()
    row = page.locator("#rows tr[data-chart-id]").filter(has_text=EXTERNAL_ID)
    review = row.get_by_role("link", name=re.compile(f"^Review chart .*{EXTERNAL_ID}"))
    expect(review).to_be_visible(timeout=90_000)
    expect(row.locator(".badge")).to_have_text("Coded")
    chart_id = int(row.get_attribute("data-chart-id"))
    review.click()
    page.wait_for_url(f"{workspace.url}/ui/charts/{chart_id}")
    expect(page.locator("#chart-page")).to_have_attribute("data-ready", "true")
    expect(page.locator("#side-panels")).to_have_attribute("data-ready", "true")

    chart = _api(workspace, f"/charts/{chart_id}")
    proposals: list[dict[str, Any]] = _api(workspace, f"/charts/{chart_id}/proposals")
    assert chart["text"] == NOTE and chart["created_by"] == "cody"
    assert (chart["setting"], chart["age"], chart["sex"]) == ("inpatient", 64, "F")
    assert (chart["admission_date"], chart["discharge_date"]) == ("2026-05-11", "2026-05-14")
    assert chart["status"] == "coded"
    assert all(p["status"] == "pending" and p["origin"] == "agent" for p in proposals)
    plan = _plan(proposals)
    expect(page.locator("#drg-number")).not_to_have_text("")
    screenshot(page, "20-journey-coded")

    # --- 3. Decide every proposal through the page. -----------------------------------------
    rows = page.locator("#proposal-list li.proposal")
    expect(rows).to_have_count(len(proposals))
    expect(page.locator("#decided-count")).to_have_text(f"0 of {len(proposals)} decided")
    # j / k move the selection down and up the list; the first row starts selected.
    expect(_row(page, proposals[0])).to_have_attribute("aria-selected", "true")
    page.keyboard.press("j")
    expect(_row(page, proposals[1])).to_have_attribute("aria-selected", "true")
    expect(_row(page, proposals[0])).to_have_attribute("aria-selected", "false")
    page.keyboard.press("j")
    page.keyboard.press("k")
    expect(_row(page, proposals[1])).to_have_attribute("aria-selected", "true")
    page.keyboard.press("k")
    page.keyboard.press("k")  # stays on the first
    expect(_row(page, proposals[0])).to_have_attribute("aria-selected", "true")

    # p: another diagnosis becomes the principal (an undecided one is accepted as principal);
    # the one the agent chose loses it.
    _select(page, plan.principal)
    page.keyboard.press("p")
    expect(_row(page, plan.principal)).to_have_attribute("data-status", "accepted")
    expect(_row(page, plan.principal).locator(".badge.principal")).to_be_visible()
    expect(page.locator("#proposal-list .badge.principal")).to_have_count(1)
    for proposal in proposals:
        if proposal["principal"]:  # the agent's choice: still pending, no longer principal
            expect(_row(page, proposal)).to_have_attribute("data-status", "pending")
            expect(_row(page, proposal).locator(".badge.principal")).to_have_count(0)

    # r: rejected with a reason and a note.
    _select(page, plan.rejected)
    page.keyboard.press("r")
    dialog = page.get_by_role("dialog", name=f"Reject {plan.rejected['code']}")
    dialog.get_by_label("Not clinically significant").check()
    dialog.get_by_role("textbox", name=re.compile("^Note")).fill(
        "Not treated or monitored this stay."
    )
    dialog.get_by_role("button", name="Reject").click()
    expect(dialog).to_be_hidden()
    expect(_row(page, plan.rejected)).to_have_attribute("data-status", "rejected")
    expect(_row(page, plan.rejected).locator(".p-decision")).to_have_text(
        "Rejected by cody · Not clinically significant: Not treated or monitored this stay."
    )

    # The lead, in a browser of her own, presses Commit while codes are undecided: refused,
    # with the undecided codes listed (only a lead may commit).
    lead = page_for()
    sign_in(lead, workspace.url, "lena", path=f"/ui/charts/{chart_id}")
    lead.wait_for_url(f"{workspace.url}/ui/charts/{chart_id}")
    expect(lead.locator("#chart-page")).to_have_attribute("data-ready", "true")
    pending = [
        p["code"]
        for p in _api(workspace, f"/charts/{chart_id}/proposals")
        if p["status"] == "pending"
    ]
    assert len(pending) == len(proposals) - 2, pending
    lead.watch.expect_console_error("409")  # the refused commit, as the browser logs it
    lead.locator("#commit-chart").click()
    problems = lead.locator("#commit-problems")
    expect(problems).to_be_visible()
    expect(problems.get_by_role("heading")).to_contain_text("Not committed:")
    expect(problems.locator(".problem-list li").first).to_have_text(
        f"{len(pending)} proposals have no decision yet: {', '.join(pending)} review.undecided"
    )
    expect(lead.locator("#chart-status")).not_to_have_text("Committed")
    screenshot(lead, "20-journey-commit-refused")
    problems.get_by_role("button", name="Dismiss").click()
    expect(problems).to_have_count(0)
    assert _api(workspace, f"/charts/{chart_id}")["committed_version"] == 0

    # m: modified to another code of its category, picked from the search's own suggestions.
    modified = plan.modified
    _select(page, modified)
    page.keyboard.press("m")
    dialog = page.get_by_role("dialog", name=f"Modify {modified['code']}")
    search = dialog.get_by_role("combobox", name="Replacement code")
    expect(search).to_be_focused()
    search.press_sequentially(modified["code"][:3], delay=30)
    options = dialog.get_by_role("listbox", name="Suggested codes").get_by_role("option")
    expect(options.first).to_be_visible()
    expect(search).to_have_attribute("aria-expanded", "true")
    suggested = [text.split()[0] for text in options.all_inner_texts()]
    siblings = [
        code for code in suggested if code[:3] == modified["code"][:3] and code != modified["code"]
    ]
    assert siblings, f"no other {modified['code'][:3]} code among the suggestions {suggested}"
    replacement = siblings[0]
    screenshot(page, "20-journey-modify-search")
    options.nth(suggested.index(replacement)).click()
    expect(dialog.locator(".chosen")).to_contain_text(f"Chosen: {replacement}")
    expect(search).to_have_value(replacement)
    dialog.get_by_label("Reason").select_option("wrong_code")
    dialog.get_by_role("button", name="Modify").click()
    expect(dialog).to_be_hidden()
    modified_row = _row(page, modified)
    expect(modified_row).to_have_attribute("data-status", "modified")
    expect(modified_row.locator(".p-code del")).to_have_text(modified["code"])
    expect(modified_row.locator(".p-code")).to_contain_text(replacement)
    record = _api(workspace, f"/codes/{replacement}?year={modified['fiscal_year']}")
    assert record["system"] == modified["system"] and record["billable"], record

    # A missed code, added from words selected in the chart text.
    start = NOTE.index(plan.missed_words)
    end = start + len(plan.missed_words)
    add = page.get_by_role("button", name="Add code from selection")
    expect(add).to_be_disabled()
    _select_text(page, start, end)
    expect(add).to_be_enabled()
    add.click()
    dialog = page.get_by_role("dialog", name="Add a code from the selected text")
    expect(dialog.locator("blockquote")).to_have_text(plan.missed_words)
    # The search starts from the selected words; the code is picked from its suggestions.
    search = dialog.get_by_role("combobox", name="Code")
    expect(search).to_have_value(plan.missed_words)
    suggestions = dialog.get_by_role("listbox", name="Suggested codes").get_by_role("option")
    expect(suggestions.first).to_be_visible()
    wanted = suggestions.filter(has_text=re.compile(f"^{re.escape(plan.missed_code)} "))
    if wanted.count() == 0:
        # Not among the words' suggestions (the plain search does not read "history of X" as
        # an acquired absence): the coder types the code and picks it from the suggestions.
        search.fill("")
        search.press_sequentially(plan.missed_code, delay=30)
    wanted.first.click()
    expect(dialog.locator(".chosen")).to_contain_text(f"Chosen: {plan.missed_code}")
    expect(dialog.get_by_label("Reason")).to_have_value("missed_by_agent")
    dialog.get_by_role("button", name="Add code").click()
    expect(dialog).to_be_hidden()
    added_row = page.locator(f'#proposal-list li.proposal[data-code="{plan.missed_code}"]')
    expect(added_row).to_have_attribute("data-status", "added")
    expect(added_row).to_have_attribute("aria-selected", "true")
    expect(rows).to_have_count(len(proposals) + 1)
    added_id = int(added_row.get_attribute("data-id"))
    added_marks = page.locator(f'#chart-text mark[data-ids~="{added_id}"]')
    assert "".join(added_marks.all_inner_texts()) == plan.missed_words

    # The rest accepted with a, moving down the list with j.
    _select(page, proposals[0])
    for index in range(len(proposals) + 1):
        selected = page.locator('#proposal-list li.proposal[aria-selected="true"]')
        current = page.locator(f"#proposal-{selected.get_attribute('data-id')}")
        if current.get_attribute("data-status") == "pending":
            page.keyboard.press("a")
            expect(current).to_have_attribute("data-status", "accepted")
        if index < len(proposals):
            page.keyboard.press("j")
    total = len(proposals) + 1
    expect(page.locator("#decided-count")).to_have_text(f"{total} of {total} decided")
    decided = {p["id"]: p for p in _api(workspace, f"/charts/{chart_id}/proposals")}
    assert {p["status"] for p in decided.values()} <= {"accepted", "rejected", "modified", "added"}
    assert decided[plan.principal["id"]]["principal"]
    assert [p["id"] for p in decided.values() if p["principal"]] == [plan.principal["id"]]
    assert decided[plan.rejected["id"]]["status"] == "rejected"
    assert decided[plan.rejected["id"]]["reason"] == "not_clinically_significant"
    assert decided[modified["id"]]["final_code"] == replacement
    assert decided[added_id]["code"] == plan.missed_code
    assert [(e["start"], e["end"]) for e in decided[added_id]["evidence"]] == [(start, end)]
    assert all(p["decided_by"] == "cody" for p in decided.values())

    # The lead reloads and commits: done, and her page is read-only.
    lead.reload()
    expect(lead.locator("#chart-page")).to_have_attribute("data-ready", "true")
    expect(lead.locator("#decided-count")).to_have_text(f"{total} of {total} decided")
    lead.locator("#commit-chart").click()
    expect(lead.locator("#chart-status")).to_have_text("Committed")
    expect(lead.locator("#status")).to_contain_text("Committed as code set version 1")
    expect(lead.locator("#commit-chart")).to_have_count(0)
    expect(lead.locator("#proposal-list button[data-action]")).to_have_count(0)
    expect(lead.locator("#reopen-chart")).to_be_visible()
    (code_set,) = _api(workspace, f"/charts/{chart_id}/code-sets")
    committed = [(c["system"], c["code"]) for c in code_set["codes"]]
    expected_codes = {
        (decided[i]["system"], decided[i]["final_code"] or decided[i]["code"])
        for i in decided
        if decided[i]["status"] != "rejected"
    }
    assert set(committed) == expected_codes
    assert len(committed) == total - 1
    assert ("cm", replacement) in committed and ("cm", plan.missed_code) in committed
    assert code_set["committed_by"] == "lena"
    assert [c["code"] for c in code_set["codes"] if c["principal"]] == [plan.principal["code"]]

    # Cody's page, read again: committed and read-only, no decision buttons, keys refused.
    page.reload()
    expect(page.locator("#chart-page")).to_have_attribute("data-ready", "true")
    expect(page.locator("#chart-status")).to_have_text("Committed")
    expect(page.locator("#proposal-list li.proposal")).to_have_count(total)
    expect(page.locator("#proposal-list .p-actions")).to_have_count(0)
    expect(page.locator("#proposal-list button[data-action]")).to_have_count(0)
    expect(page.locator("#add-from-selection")).to_be_hidden()
    expect(page.locator("#commit-chart")).to_have_count(0)
    expect(page.locator("#keys-help")).to_contain_text("Read-only.")
    expect(page.locator("#code-sets")).to_have_attribute("open", "")
    expect(page.locator("#code-sets .set-codes li")).to_have_count(len(committed))
    expect(page.locator("#drg-number")).not_to_have_text("")
    _select(page, proposals[0])
    page.keyboard.press("r")
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(page.locator("#status")).to_contain_text("This chart is committed")
    screenshot(page, "20-journey-committed-read-only")

    # --- 4. The chat: a question about the added code; its citation marks the chart. --------
    chat = page.locator("#panel-chat")
    chat.get_by_label("Your question").fill(f"Why {plan.missed_code}?")
    chat.get_by_role("button", name="Ask").click()
    answer = chat.locator(".chat-turn").last.locator(".chat-answer")
    expect(answer.locator(".chat-meta")).to_contain_text("offline answerer", timeout=30_000)
    expect(answer).not_to_have_attribute("aria-busy", "true")
    with workspace.api("lena") as client:
        (conversation,) = _get(client, f"/charts/{chart_id}/conversations")
        (message,) = _get(client, f"/conversations/{conversation['id']}")["messages"]
    assert message["answerer"] == "offline" and not message["refused"], message
    expect(answer.locator(".chat-text")).to_have_text(message["answer"]["text"])
    assert message["answer"]["text"].startswith(f"{plan.missed_code} "), message["answer"]
    cited = [c for c in message["answer"]["citations"] if c["kind"] == "chart"]
    assert cited, message["answer"]
    quote = cited[0]
    assert NOTE[quote["start"] : quote["end"]] == quote["quote"]
    assert plan.missed_words in quote["quote"]  # the sentence of the words Cody selected
    answer.get_by_role("button", name=f"Show in the chart text: {quote['quote']}").click()
    marked = page.locator("#chart-text mark.cited")
    expect(marked.first).to_be_visible()
    expect(marked.first).to_be_in_viewport()
    assert "".join(marked.all_inner_texts()) == quote["quote"]
    screenshot(page, "20-journey-chat-cited")

    # --- 5. The audit timeline: the API's trail, newest first, decisions and commit named. --
    audit = _api(workspace, f"/charts/{chart_id}/audit")
    timeline = page.locator("#audit-list li.audit-row")
    expect(timeline).to_have_count(len(audit))
    shown = timeline.evaluate_all("(rows) => rows.map((r) => Number(r.dataset.id))")
    assert shown == [event["id"] for event in reversed(audit)]
    by_id = {event["id"]: event for event in audit}
    actions = [event["action"] for event in audit]
    assert actions.count("proposal.accept") == len(proposals) - 2  # the principal's included
    assert actions.count("proposal.reject") == 1 and actions.count("proposal.modify") == 1
    assert actions.count("code.add") == 1 and actions.count("chart.commit") == 1
    for event in audit:
        item = page.locator(f'#audit-list li.audit-row[data-id="{event["id"]}"]')
        expect(item).to_have_attribute("data-action", event["action"])
        expect(item.locator(".audit-actor")).to_have_text(event["actor"])
    proposal_code = {p["id"]: p["code"] for p in decided.values()}

    def item_of(action: str, proposal_id: int | None = None) -> Any:
        (event,) = [
            e
            for e in audit
            if e["action"] == action and (proposal_id is None or e["proposal_id"] == proposal_id)
        ]
        row = page.locator(f'#audit-list li.audit-row[data-id="{event["id"]}"]')
        return row, by_id[event["id"]]

    item, _ = item_of("proposal.reject", plan.rejected["id"])
    expect(item.locator(".audit-what")).to_have_text(f"Rejected {plan.rejected['code']}")
    expect(item.locator(".audit-reason")).to_have_text(
        "Reason: Not clinically significant: Not treated or monitored this stay."
    )
    item, _ = item_of("proposal.modify", modified["id"])
    expect(item.locator(".audit-what")).to_have_text(f"Modified {modified['code']} → {replacement}")
    item, _ = item_of("code.add")
    expect(item.locator(".audit-what")).to_have_text(f"Added {plan.missed_code}")
    for event in audit:
        if event["action"] == "proposal.accept" and event["proposal_id"] != plan.principal["id"]:
            item = page.locator(f'#audit-list li.audit-row[data-id="{event["id"]}"]')
            code = proposal_code[event["proposal_id"]]
            expect(item.locator(".audit-what")).to_have_text(f"Accepted {code}")
    item, _ = item_of("proposal.accept", plan.principal["id"])
    expect(item.locator(".audit-what")).to_have_text(
        f"Accepted {plan.principal['code']} as principal"
    )
    item, commit_event = item_of("chart.commit")
    expect(item.locator(".audit-actor")).to_have_text("lena")
    assert commit_event["after"]["codes"] == [code for _, code in committed]
    assert commit_event["after"]["code_set_version"] == 1
    expect(item.locator(".audit-what")).to_have_text("Committed as version 1")
    page.locator("#panel-audit").scroll_into_view_if_needed()
    screenshot(page, "20-journey-audit")

    # --- 6. Both exports, downloaded through the buttons: exactly the committed codes. ------
    with page.expect_download() as fhir_download:
        page.locator("#export-fhir").click()
    assert fhir_download.value.suggested_filename == f"chart-{EXTERNAL_ID}-v1.fhir.json"
    bundle = json.loads(fhir_download.value.path().read_text())
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection"
    claim = bundle["entry"][0]["resource"]
    assert (
        claim["resourceType"] == "Claim" and claim["type"]["coding"][0]["code"] == "institutional"
    )

    def coding(concept: dict[str, Any]) -> tuple[str, str]:
        (only,) = concept["coding"]
        return FHIR_SYSTEMS[only["system"]], only["code"]

    diagnoses = [coding(d["diagnosisCodeableConcept"]) for d in claim["diagnosis"]]
    procedures = [coding(p["procedureCodeableConcept"]) for p in claim.get("procedure", [])]
    assert diagnoses == [c for c in committed if c[0] == "cm"]
    assert procedures == [c for c in committed if c[0] == "pcs"]
    principal_dx = [
        coding(d["diagnosisCodeableConcept"])
        for d in claim["diagnosis"]
        if any(t["coding"][0]["code"] == "principal" for t in d.get("type", []))
    ]
    assert principal_dx == [("cm", plan.principal["code"])]
    conditions = [
        coding(entry["resource"]["code"])
        for entry in bundle["entry"]
        if entry["resource"]["resourceType"] == "Condition"
    ]
    assert conditions == diagnoses

    with page.expect_download() as csv_download:
        page.locator("#export-csv").click()
    assert csv_download.value.suggested_filename == f"chart-{chart_id}-v1.csv"
    table = list(csv.DictReader(io.StringIO(csv_download.value.path().read_text())))
    assert [(r["system"], r["code"]) for r in table] == committed
    assert [r["sequence"] for r in table] == [str(c["sequence"]) for c in code_set["codes"]]
    assert [r["principal"] == "true" for r in table] == [c["principal"] for c in code_set["codes"]]
    assert [r["action"] for r in table] == [c["action"] for c in code_set["codes"]]
    assert {r["external_id"] for r in table} == {EXTERNAL_ID}
    assert {r["committed_by"] for r in table} == {"lena"}
    expect(page.locator("#status")).to_contain_text(f"Downloaded chart-{chart_id}-v1.csv")

    # --- 7. Cody signs out; the chart is then out of reach until he signs in again. --------
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{workspace.url}/sign-in?signed_out=1")
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    page.goto(f"{workspace.url}/ui/charts/{chart_id}")
    page.wait_for_url(f"{workspace.url}/sign-in?next=%2Fui%2Fcharts%2F{chart_id}")
    expect(page.get_by_label("User name")).to_be_visible()
    expect(page.locator("#chart-page")).to_have_count(0)
