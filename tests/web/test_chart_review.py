"""The chart review screen in a real browser: highlighted evidence, deciding with keys
(accept, reject with a reason, modify through the code search, principal), adding a missed
code from selected text, a code's record, a decision someone else made first, commit
(refused, then done and read-only), export, reopen, the auditor's view, an expired
session and the side panels' events. The time to ready and per decision is bench/web_ui.py's.

One server for the module, its LLM proposer answered by the scripted server with a known
set of codes (tests/web/chart_setup.py); each test codes a chart of its own."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from retrieval.build import BuildReport
from tests.agent.conftest import tiktoken_ready  # noqa: F401  (a shared session fixture)
from tests.api.databases import sqlite_url
from tests.llm_server import ScriptedLlmServer
from tests.web.accessibility import audit, focus_is_visible
from tests.web.chart_setup import (
    DROPPED,
    coded_chart,
    decide,
    expire_sessions,
    proposals_of,
)
from tests.web.conftest import PASSWORD, Workspace, screenshot, sign_in, start_workspace
from wiring.settings import Settings


@pytest.fixture(scope="module")
def workspace(
    kb_settings: Settings,
    built_kb: BuildReport,
    tmp_path_factory: pytest.TempPathFactory,
    tiktoken_ready: Path,  # noqa: F811
) -> Iterator[Workspace]:
    """One server for the module whose LLM proposer is the scripted server (chart_setup)."""
    folder = tmp_path_factory.mktemp("workspace-chart")
    settings = kb_settings.model_copy(
        update={"database_url": sqlite_url(folder), "llm_base_url": None, "llm_model": None}
    )
    llm = ScriptedLlmServer("scripted-model").start()
    env = {
        "MEDCODER_LLM_BASE_URL": llm.base_url,
        "MEDCODER_LLM_MODEL": "scripted-model",
        "MEDCODER_LLM_FALLBACK": "fail",
        "MEDCODER_LLM_MAX_RETRIES": "0",
        "MEDCODER_TIKTOKEN_CACHE_DIR": str(tiktoken_ready),
    }
    started = start_workspace(settings, folder, env=env)
    started.llm = llm
    try:
        yield started
    finally:
        started.server.stop()
        llm.stop()


# Records the page's own events for the side panels (an init script runs before the page's
# scripts; the page's CSP does not apply to it).
RECORD_EVENTS = """
window.__events = [];
for (const name of ['medcoder:chart-loaded', 'medcoder:proposals-changed']) {
  document.addEventListener(name, (e) => window.__events.push({name, statuses:
    e.detail.proposals.map((p) => p.status), chart: e.detail.chart.id}));
}
"""


def _open(page: Any, workspace: Workspace, chart_id: int, name: str = "cody") -> None:
    sign_in(page, workspace.url, name, path=f"/ui/charts/{chart_id}")
    page.wait_for_url(f"{workspace.url}/ui/charts/{chart_id}")
    expect(page.locator("#chart-page")).to_have_attribute("data-ready", "true")


def _row(page: Any, code: str) -> Any:
    return page.locator(f'#proposal-list li[data-code="{code}"]')


def _select(page: Any, code: str) -> Any:
    row = _row(page, code)
    row.locator(".p-title").click()
    expect(row).to_have_attribute("aria-selected", "true")
    return row


def _accessible(page: Any) -> None:
    found = audit(page)
    assert found["low"] == [], found["low"]
    assert found["unnamed"] == [], found["unnamed"]


def test_a_coder_reviews_with_the_keys(page: Any, workspace: Workspace) -> None:
    chart, proposals = coded_chart(workspace, "CR-KEYS-1")
    page.add_init_script(RECORD_EVENTS)
    _open(page, workspace, chart["id"])
    header = page.locator("#chart-header")
    expect(header).to_contain_text("Chart CR-KEYS-1")
    expect(header).to_contain_text("Inpatient")
    expect(header).to_contain_text("71 y / M")
    expect(header).to_contain_text("2026-03-06")
    # Every proposal has its colour in the legend and its evidence marked in the text.
    expect(page.locator("#chart-legend li")).to_have_count(len(proposals))
    expect(page.locator("#proposal-list li[role=row]")).to_have_count(len(proposals))
    assert page.locator("#chart-text mark").count() >= len(proposals)
    # "lavage" is evidence of two procedures: one overlapping piece, both ids on it.
    assert page.locator("#chart-text mark.overlap").count() >= 1
    assert page.evaluate("document.getElementById('chart-text').textContent") == chart["text"]
    first, second = proposals[0], proposals[1]
    expect(_row(page, first["code"])).to_have_attribute("aria-selected", "true")
    _accessible(page)
    screenshot(page, "07-chart")

    # j / k move the selection and the current evidence, and back.
    page.keyboard.press("j")
    expect(_row(page, second["code"])).to_have_attribute("aria-selected", "true")
    expect(_row(page, second["code"])).to_be_focused()
    current = page.locator("#chart-text mark.current")
    expect(current.first).to_contain_text(second["evidence"][0]["quote"])
    page.keyboard.press("k")
    expect(_row(page, first["code"])).to_have_attribute("aria-selected", "true")
    expect(current.first).to_contain_text(first["evidence"][0]["quote"])
    assert page.locator("#chart-legend li.is-current").inner_text() == first["code"]

    # a accepts the selected proposal; the row says so and so does the API.
    row = _select(page, "E11.65")
    page.keyboard.press("a")
    expect(row.locator(".badge.accepted")).to_have_text("Accepted")
    expect(row).to_contain_text("Accepted by cody")
    expect(page.locator("#chart-status")).to_have_text("In review")
    with workspace.api("lena") as client:
        assert proposals_of(client, chart["id"])["E11.65"]["status"] == "accepted"

    # r rejects with one of the API's reasons.
    row = _select(page, "A93.1")
    page.keyboard.press("r")
    dialog = page.get_by_role("dialog", name="Reject A93.1")
    expect(dialog).to_be_visible()
    _accessible(page)
    dialog.get_by_label("Not documented").check()
    dialog.get_by_role("button", name="Reject").click()
    expect(dialog).to_be_hidden()
    expect(row.locator(".badge.rejected")).to_have_text("Rejected")
    expect(row).to_contain_text("Not documented")

    # m modifies through the code search: it suggests as you type; arrows and Enter pick.
    row = _select(page, "0B960ZZ")
    page.keyboard.press("m")
    dialog = page.get_by_role("dialog", name="Modify 0B960ZZ")
    search = dialog.get_by_role("combobox", name="Replacement code")
    expect(search).to_be_focused()
    search.press_sequentially("drainage right lower lung lobe natural opening endoscopic", delay=10)
    search.press_sequentially(" diagnostic", delay=10)
    option = dialog.get_by_role("option").filter(has_text="0B9F8ZX")
    expect(option).to_be_visible()
    expect(search).to_have_attribute("aria-expanded", "true")
    search.press("ArrowDown")
    expect(dialog.get_by_role("option").first).to_have_attribute("aria-selected", "true")
    screenshot(page, "08-chart-modify-search")
    search.press("Enter")
    expect(dialog.locator(".chosen")).to_contain_text("0B9F8ZX")
    dialog.get_by_label("Reason").select_option("wrong_code")
    dialog.get_by_role("button", name="Modify").click()
    expect(dialog).to_be_hidden()
    expect(row.locator(".badge.modified")).to_have_text("Modified")
    expect(row.locator(".p-code")).to_contain_text("0B960ZZ → 0B9F8ZX")

    # p makes J13 the principal diagnosis (accepting it); J18.0 loses it.
    row = _select(page, "J13")
    page.keyboard.press("p")
    expect(row.locator(".badge.principal")).to_be_visible()
    expect(_row(page, "J18.0").locator(".badge.principal")).to_have_count(0)
    # The principal moved on the server too: deciding J18.0 now uses its new version.
    row = _select(page, "J18.0")
    page.keyboard.press("r")
    dialog = page.get_by_role("dialog", name="Reject J18.0")
    dialog.get_by_label("Duplicate").check()
    dialog.get_by_role("button", name="Reject").click()
    expect(row.locator(".badge.rejected")).to_be_visible()
    with workspace.api("lena") as client:
        now = proposals_of(client, chart["id"])
    assert (now["J13"]["status"], now["J13"]["principal"]) == ("accepted", True)
    assert (now["J18.0"]["status"], now["J18.0"]["reason"]) == ("rejected", "duplicate")
    assert (now["0B960ZZ"]["final_code"], now["0B960ZZ"]["reason"]) == ("0B9F8ZX", "wrong_code")
    assert now["A93.1"]["reason"] == "not_documented"
    expect(page.locator("#decided-count")).to_have_text(f"5 of {len(proposals)} decided")

    # Typing in a field never fires a shortcut.
    _select(page, "I12.9")
    page.keyboard.press("r")
    dialog = page.get_by_role("dialog", name="Reject I12.9")
    dialog.get_by_role("textbox", name=re.compile("^Note")).fill("a r m p j k")
    dialog.get_by_role("button", name="Cancel").click()
    expect(_row(page, "I12.9")).to_have_attribute("data-status", "pending")

    # The side panels heard each change, with the proposals as they are now.
    events = page.evaluate("window.__events")
    assert events[0]["name"] == "medcoder:chart-loaded"
    changes = [e for e in events if e["name"] == "medcoder:proposals-changed"]
    assert len(changes) == 1 + 5  # the load, then each decision
    assert changes[-1]["statuses"].count("pending") == len(proposals) - 5

    # The page mid-review with its panels loaded (the README's picture).
    _select(page, first["code"])
    expect(page.locator("#side-panels .drg-now")).to_be_visible()
    # The DRG follows the decisions: the principal is now J13's (the p key above).
    expect(page.locator("#panel-drg")).to_contain_text(re.compile(r"Principal\s*J13"))
    expect(page.locator("#side-panels .audit-row").first).to_be_visible()
    screenshot(page, "18-chart-review")


def test_buttons_do_what_the_keys_do(page: Any, workspace: Workspace) -> None:
    chart, _ = coded_chart(workspace, "CR-BUTTONS-1")
    _open(page, workspace, chart["id"])
    row = _select(page, "Z79.4")
    row.get_by_role("button", name="Accept Z79.4").click()
    expect(row.locator(".badge.accepted")).to_be_visible()
    # Keyboard only: Tab from the selected row reaches its buttons.
    row = _select(page, "BW03ZZZ")
    row.focus()
    reject = row.get_by_role("button", name="Reject BW03ZZZ")
    for _ in range(8):  # past the evidence and source buttons
        page.keyboard.press("Tab")
        if reject.evaluate("(button) => button === document.activeElement"):
            break
    expect(reject).to_be_focused()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Reject BW03ZZZ")
    expect(dialog.get_by_label("Not documented")).to_be_focused()
    page.keyboard.press("ArrowDown")  # the next reason
    dialog.get_by_role("button", name="Reject").press("Enter")
    expect(row.locator(".badge.rejected")).to_be_visible()
    expect(row).to_contain_text("Negated or ruled out")
    expect(row).to_be_focused()


def test_a_missed_code_is_added_from_selected_text(page: Any, workspace: Workspace) -> None:
    chart, _ = coded_chart(workspace, "CR-ADD-1")
    _open(page, workspace, chart["id"])
    phrase = "History of appendectomy"
    start = chart["text"].index(phrase)
    button = page.get_by_role("button", name="Add code from selection")
    expect(button).to_be_disabled()
    # Select the phrase (with the space before it, trimmed away) as a mouse would.
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
            const selection = document.getSelection();
            selection.removeAllRanges();
            selection.addRange(range);
        }""",
        [start - 1, start + len(phrase)],
    )
    expect(button).to_be_enabled()
    button.click()
    dialog = page.get_by_role("dialog", name="Add a code from the selected text")
    expect(dialog.locator("blockquote")).to_have_text(phrase)
    search = dialog.get_by_role("combobox", name="Code")
    expect(search).to_have_value(phrase)
    expect(dialog.get_by_role("option").first).to_be_visible()  # suggestions for the phrase
    # Words are read the way the agent reads a chart (an abbreviation search alone misses).
    with workspace.api("lena") as client:
        read = client.get(
            "/codes/search", params={"q": "urinary tract infection", "k": 8, "by": "agent"}
        ).json()
        plain = client.get("/codes/search", params={"q": "urinary tract infection", "k": 8}).json()
    assert read[0]["code"] != plain[0]["code"]
    search.fill("urinary tract infection")
    expect(dialog.get_by_role("option").first).to_contain_text(read[0]["code"])
    search.fill("")
    search.press_sequentially("Z90.49", delay=20)
    dialog.get_by_role("option").filter(has_text="Z90.49").click()
    expect(dialog.get_by_label("Reason")).to_have_value("missed_by_agent")
    _accessible(page)
    dialog.get_by_role("button", name="Add code").click()
    expect(dialog).to_be_hidden()
    row = _row(page, "Z90.49")
    expect(row.locator(".badge.added")).to_have_text("Added")
    expect(row).to_have_attribute("aria-selected", "true")
    expect(page.locator("#chart-legend li").last).to_have_text("Z90.49")
    expect(page.locator("#chart-text mark.current").first).to_have_text(phrase)
    with workspace.api("lena") as client:
        added = proposals_of(client, chart["id"])["Z90.49"]
    assert (added["status"], added["origin"]) == ("added", "coder")
    assert added["reason"] == "missed_by_agent"
    assert [(s["start"], s["end"]) for s in added["evidence"]] == [(start, start + len(phrase))]


def test_a_citation_opens_the_code_record(page: Any, workspace: Workspace) -> None:
    chart, _ = coded_chart(workspace, "CR-CITE-1")
    _open(page, workspace, chart["id"])
    row = _select(page, "J18.0")
    row.get_by_role("button", name=re.compile(r"^Tabular: J18\.0")).click()
    dialog = page.get_by_role(
        "dialog", name=re.compile(r"^J18\.0 Bronchopneumonia, unspecified organism")
    )
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Excludes1")
    expect(dialog).to_contain_text("congenital pneumonia")
    expect(dialog).to_contain_text("Index path")
    _accessible(page)
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_have_count(0)
    # Escape closes it too, back on the row.
    row.get_by_role("button", name=re.compile(r"^Tabular: J18\.0")).click()
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)


def test_a_decision_someone_made_first_is_said_plainly(page: Any, workspace: Workspace) -> None:
    chart, _ = coded_chart(workspace, "CR-STALE-1")
    _open(page, workspace, chart["id"])
    row = _select(page, "E11.65")
    page.keyboard.press("a")
    expect(row.locator(".badge.accepted")).to_be_visible()
    with workspace.api("lena") as client:
        decide(
            client, proposals_of(client, chart["id"])["I12.9"], action="reject", reason="duplicate"
        )
    page.watch.expect_console_error("409")
    row = _select(page, "I12.9")
    page.keyboard.press("a")
    alert = page.locator("#stale-alert")
    expect(alert).to_be_visible()
    expect(alert).to_have_attribute("role", "alert")
    expect(alert).to_contain_text("lena changed I12.9 (now rejected)")
    expect(alert).to_contain_text("Your change was not saved")
    expect(page.get_by_role("button", name="Reload")).to_be_focused()
    expect(row.locator(".badge.pending")).to_be_visible()  # nothing pretends it was saved
    screenshot(page, "09-chart-stale")
    page.get_by_role("button", name="Reload").click()
    expect(alert).to_have_count(0)
    expect(_row(page, "I12.9").locator(".badge.rejected")).to_be_visible()
    expect(_row(page, "I12.9")).to_contain_text("Rejected by lena")
    expect(_row(page, "E11.65").locator(".badge.accepted")).to_be_visible()  # kept
    expect(_row(page, "I12.9")).to_have_attribute("aria-selected", "true")
    # Deciding again works from the fresh versions.
    page.keyboard.press("a")
    expect(_row(page, "I12.9").locator(".badge.accepted")).to_be_visible()


def _decide_the_rest(workspace: Workspace, chart_id: int) -> None:
    """A clean code set: the specific pneumonia principal, the rest decided as a coder would."""
    with workspace.api("lena") as client:
        found = proposals_of(client, chart_id)
        rejected = {
            "J18.0": "duplicate",
            "A93.1": "not_documented",
            "BW03ZZZ": "not_clinically_significant",
        }
        for code, proposal in found.items():
            if proposal["status"] != "pending":
                continue
            if code in rejected:
                decide(client, proposal, action="reject", reason=rejected[code])
            else:
                decide(client, proposal, action="accept", principal=code == "J13" or None)


def test_commit_refused_then_committed_exported_and_reopened(
    page: Any, workspace: Workspace
) -> None:
    chart, proposals = coded_chart(workspace, "CR-COMMIT-1")
    _open(page, workspace, chart["id"], name="lena")
    page.watch.expect_console_error("409")
    page.get_by_role("button", name="Commit").click()
    problems = page.locator("#commit-problems")
    expect(problems).to_be_visible()
    expect(problems.get_by_role("heading")).to_contain_text("Not committed:")
    undecided = ", ".join(p["code"] for p in proposals)
    expect(problems).to_contain_text(
        f"{len(proposals)} proposals have no decision yet: {undecided}"
    )
    expect(problems).to_contain_text("principal diagnosis missing")
    expect(problems.get_by_role("heading")).to_be_focused()
    screenshot(page, "10-chart-commit-refused")

    _decide_the_rest(workspace, chart["id"])
    page.reload()
    expect(page.locator("#chart-page")).to_have_attribute("data-ready", "true")
    page.get_by_role("button", name="Commit").click()
    expect(page.locator("#chart-status")).to_have_text("Committed")
    # Read-only: no decision buttons, no adding, the keys refused; a lead may reopen.
    expect(page.locator("#proposal-list .p-actions")).to_have_count(0)
    expect(page.get_by_role("button", name="Add code from selection")).to_be_hidden()
    expect(page.get_by_role("button", name="Reopen…")).to_be_visible()
    expect(page.get_by_role("button", name="Commit")).to_have_count(0)
    page.keyboard.press("a")
    expect(page.locator("#status")).to_contain_text("committed")
    code_sets = page.locator("#code-sets")
    expect(code_sets).to_contain_text("Version 1")
    expect(code_sets.locator("li").first).to_contain_text("J13")
    expect(code_sets.locator("li").first.locator(".badge.principal")).to_be_visible()
    _accessible(page)
    screenshot(page, "11-chart-committed")

    with page.expect_download() as fhir_download:
        page.get_by_role("button", name="Export FHIR").click()
    fhir = json.loads(fhir_download.value.path().read_text())
    assert fhir["resourceType"] == "Bundle"
    assert "J13" in json.dumps(fhir) and "0B960ZZ" in json.dumps(fhir)
    assert "A93.1" not in json.dumps(fhir)
    with page.expect_download() as csv_download:
        page.get_by_role("button", name="Export CSV").click()
    assert csv_download.value.suggested_filename.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(csv_download.value.path().read_text())))
    assert "J13" in {value for row in rows for value in row.values()}

    # The lead reopens; decisions come back; a change and a second commit: v1 and v2 side by
    # side, what changed marked.
    page.get_by_role("button", name="Reopen…").click()
    dialog = page.get_by_role("dialog", name="Reopen Chart CR-COMMIT-1")
    dialog.get_by_label("Why reopen it?").fill("Z79.4 was not documented as long-term use")
    dialog.get_by_role("button", name="Reopen").click()
    expect(page.locator("#chart-status")).to_have_text("In review")
    row = _select(page, "Z79.4")
    page.keyboard.press("r")
    dialog = page.get_by_role("dialog", name="Reject Z79.4")
    dialog.get_by_label("Not documented").check()
    dialog.get_by_role("button", name="Reject").click()
    expect(row.locator(".badge.rejected")).to_be_visible()
    page.get_by_role("button", name="Commit").click()
    expect(page.locator("#chart-status")).to_have_text("Committed")
    columns = page.locator("#code-sets .code-set")
    expect(columns).to_have_count(2)
    expect(columns.nth(1).locator("li.removed")).to_contain_text("Z79.4")


def test_the_auditor_reads_only(page: Any, workspace: Workspace) -> None:
    chart, proposals = coded_chart(workspace, "CR-AUDIT-1")
    _open(page, workspace, chart["id"], name="audrey")
    expect(page.locator("#proposal-list li[role=row]")).to_have_count(len(proposals))
    expect(page.locator("#proposal-list button[data-action]")).to_have_count(0)
    expect(page.get_by_role("button", name="Add code from selection")).to_be_hidden()
    expect(page.get_by_role("button", name="Commit")).to_have_count(0)
    expect(page.locator("#keys-help")).to_contain_text("Read-only")
    page.keyboard.press("j")
    expect(_row(page, proposals[1]["code"])).to_have_attribute("aria-selected", "true")
    page.keyboard.press("a")
    expect(page.locator("#status")).to_contain_text("not change it")
    with workspace.api("lena") as client:
        assert all(p["status"] == "pending" for p in proposals_of(client, chart["id"]).values())


def test_the_dropped_candidates_and_a_cited_span_show(page: Any, workspace: Workspace) -> None:
    chart, _ = coded_chart(workspace, "CR-DROP-1")
    _open(page, workspace, chart["id"])
    dropped = page.locator("#dropped")
    expect(dropped).to_contain_text("Dropped by the agent")
    dropped.locator("summary").click()
    expect(dropped).to_contain_text(DROPPED)
    expect(dropped).to_contain_text("is not a code in ICD-10-CM")
    # A side panel asks for a span: it is marked "cited" and shown.
    start = chart["text"].index("Blood glucose")
    page.evaluate(
        """([start, end]) => document.dispatchEvent(new CustomEvent('medcoder:highlight',
            {detail: {start, end}}))""",
        [start, start + len("Blood glucose on admission was 412 mg/dL")],
    )
    expect(page.locator("#chart-text mark.cited")).to_have_text(
        "Blood glucose on admission was 412 mg/dL"
    )


def test_an_expired_session_signs_in_again_and_comes_back(page: Any, workspace: Workspace) -> None:
    chart, proposals = coded_chart(workspace, "CR-EXPIRED-1")
    _open(page, workspace, chart["id"])
    expire_sessions(workspace.database_url)
    time.sleep(2.2)  # the server trusts a checked session for up to 2 s
    page.watch.expect_console_error("401")
    page.keyboard.press("a")
    page.wait_for_url(f"**/sign-in?expired=1&next=%2Fui%2Fcharts%2F{chart['id']}")
    assert "Your sign-in has ended" in page.get_by_role("alert").inner_text()
    page.get_by_label("User name").fill("cody")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{workspace.url}/ui/charts/{chart['id']}")
    expect(page.locator("#chart-page")).to_have_attribute("data-ready", "true")
    expect(_row(page, proposals[0]["code"]).locator(".badge.pending")).to_be_visible()


def test_wide_screen_layout(page_for: Any, workspace: Workspace) -> None:
    chart, _ = coded_chart(workspace, "CR-WIDE-1")
    page = page_for(viewport=(1920, 1080))
    _open(page, workspace, chart["id"])
    _select(page, "E11.65")
    widths = page.evaluate(
        """() => ['chart-text-panel', 'proposals-panel', 'side-panels'].map(
            (id) => document.getElementById(id).getBoundingClientRect().width)"""
    )
    assert widths[0] > 600 and widths[1] > 480 and widths[2] >= 300, widths
    assert page.evaluate("document.documentElement.scrollHeight") <= 1080  # columns scroll
    _accessible(page)
    assert focus_is_visible(page)
    screenshot(page, "12-chart-1920")
