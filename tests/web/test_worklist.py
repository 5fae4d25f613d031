"""The worklist in a real browser: uploading charts (pasted text, a FHIR file), coding one
from its row and following the job, search by external id, counts per status, pages, the
API's validation errors in the form, and an auditor's read-only list.

The module's tests share one server: each works on charts of its own external-id prefix
and filters by it, so no test depends on what another created."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

from playwright.sync_api import expect
from sqlalchemy import update

from review.db import make_engine, sessions, transaction
from review.tables import ChartRow
from tests.web.accessibility import audit
from tests.web.conftest import Workspace, screenshot, sign_in

NOTE = (
    "HISTORY OF PRESENT ILLNESS: 67-year-old woman with fever, productive cough and right "
    "lower lobe consolidation on chest X-ray.\n"
    "ASSESSMENT AND PLAN: Community-acquired pneumonia, treated with ceftriaxone and "
    "azithromycin. Type 2 diabetes mellitus, continue metformin.\n"
)
DASH = "\u2013"  # the en dash of the pager's range (1 to 25 of 30)
META: dict[str, Any] = {
    "setting": "inpatient",
    "age": 67,
    "sex": "F",
    "admission_date": "2026-06-25",
    "discharge_date": "2026-06-30",
}


def _chart(workspace: Workspace, external_id: str, **meta: Any) -> dict[str, Any]:
    with workspace.api("lena") as client:
        body = {"text": NOTE, "external_id": external_id, "meta": {**META, **meta}}
        response = client.post("/charts", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def _set_status(workspace: Workspace, status: str, *chart_ids: int) -> None:
    """Straight in the database: the worklist shows the stored status, however reached."""
    engine = make_engine(workspace.database_url)
    try:
        with transaction(sessions(engine)) as session:
            session.execute(
                update(ChartRow).where(ChartRow.id.in_(chart_ids)).values(status=status)
            )
    finally:
        engine.dispose()


def _open(page: Any, workspace: Workspace, name: str = "cody", query: str = "") -> None:
    sign_in(page, workspace.url, name, path="/" + query)
    page.wait_for_url(re.compile(re.escape(workspace.url) + r"/(\?.*)?$"))
    expect(page.locator("#charts")).to_have_attribute("aria-busy", "false")


def _row(page: Any, text: str) -> Any:
    return page.locator("#rows tr[data-chart-id]").filter(has_text=text)


def _filter(page: Any, label: str) -> Any:
    return page.get_by_role("group", name="Show charts by status").get_by_role(
        "button", name=re.compile(f"^{label} ")
    )


def _counts(page: Any) -> dict[str, str]:
    return {
        label: _filter(page, label).locator(".count").inner_text()
        for label in ("All", "New", "Coded", "In review", "Committed")
    }


def _assert_accessible(page: Any) -> None:
    found = audit(page)
    assert found["low"] == [], found["low"]
    assert found["unnamed"] == [], found["unnamed"]


def test_a_coder_uploads_a_pasted_chart_with_its_metadata(page: Any, workspace: Workspace) -> None:
    _open(page, workspace)
    page.get_by_role("button", name="Upload chart").click()
    dialog = page.get_by_role("dialog", name="Upload a chart")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Chart text")).to_be_focused()
    dialog.get_by_label("Chart text").fill(NOTE)
    dialog.get_by_label("External id").fill("UPL-TXT-0001")
    dialog.get_by_label("Setting").select_option("inpatient")
    dialog.get_by_label("Age").fill("67")
    dialog.get_by_label("Sex").select_option("F")
    dialog.get_by_label("Admission date").fill("2026-06-25")
    dialog.get_by_label("Discharge date").fill("2026-06-30")
    _assert_accessible(page)
    screenshot(page, "04-worklist-upload")
    dialog.get_by_role("button", name="Upload", exact=True).click()

    expect(dialog).to_be_hidden()
    row = _row(page, "UPL-TXT-0001")
    expect(row).to_be_visible()
    expect(row.locator(".badge")).to_have_text("New")
    expect(row).to_contain_text("Inpatient")
    expect(row).to_contain_text("67 / F")
    expect(row).to_contain_text("2026-06-30")
    expect(row).to_contain_text("Unassigned")
    expect(page.locator("#status")).to_contain_text("Uploaded chart")
    chart_id = int(row.get_attribute("data-chart-id"))
    with workspace.api("lena") as client:
        stored = client.get(f"/charts/{chart_id}").json()
    assert stored["source_format"] == "text"
    assert stored["created_by"] == "cody"
    assert (stored["age"], stored["sex"], stored["setting"]) == (67, "F", "inpatient")
    assert (stored["admission_date"], stored["discharge_date"]) == ("2026-06-25", "2026-06-30")
    assert stored["text"] == NOTE


def test_a_fhir_document_reference_file_is_uploaded(
    page: Any, workspace: Workspace, tmp_path: Path
) -> None:
    document = {
        "resourceType": "DocumentReference",
        "status": "current",
        "identifier": [{"system": "urn:example:notes", "value": "UPL-FHIR-0001"}],
        "content": [
            {
                "attachment": {
                    "contentType": "text/plain",
                    "data": base64.b64encode(NOTE.encode()).decode(),
                }
            }
        ],
        "context": {"period": {"start": "2026-07-01", "end": "2026-07-04"}},
    }
    file = tmp_path / "discharge-summary.json"
    file.write_text(json.dumps(document))
    _open(page, workspace)
    page.get_by_role("button", name="Upload chart").click()
    dialog = page.get_by_role("dialog", name="Upload a chart")
    dialog.get_by_label("Choose a file").check()
    expect(dialog.get_by_label("Chart text")).to_be_hidden()
    dialog.get_by_label("Chart file").set_input_files(str(file))
    expect(dialog.locator("#chart-file-info")).to_contain_text("FHIR DocumentReference")
    # The file's identifier fills an empty external id.
    expect(dialog.get_by_label("External id")).to_have_value("UPL-FHIR-0001")
    dialog.get_by_label("Age").fill("67")
    dialog.get_by_role("button", name="Upload", exact=True).click()

    row = _row(page, "UPL-FHIR-0001")
    expect(row).to_be_visible()
    expect(row.locator(".badge")).to_have_text("New")
    expect(row).to_contain_text("2026-07-04")  # the discharge date the document gave
    chart_id = int(row.get_attribute("data-chart-id"))
    with workspace.api("lena") as client:
        stored = client.get(f"/charts/{chart_id}").json()
    assert stored["source_format"] == "fhir"
    assert stored["external_id"] == "UPL-FHIR-0001"
    assert "Community-acquired pneumonia" in stored["text"]


def test_coding_from_the_row_follows_the_job_to_a_review_link(
    page: Any, workspace: Workspace
) -> None:
    chart = _chart(workspace, "CODE-ROW-0001")
    _open(page, workspace, query="?q=CODE-ROW")
    row = _row(page, "CODE-ROW-0001")
    expect(row.locator(".badge")).to_have_text("New")
    expect(row.get_by_role("link", name=re.compile("^Review"))).to_have_count(0)
    # The first events stream breaks off while the job is still running (as a dropped
    # connection would): the row shows the stage, and the page follows the job again.
    broken: list[str] = []

    def break_off(route: Any) -> None:
        if broken:
            route.fallback()
            return
        broken.append(route.request.url)
        job = {"status": "running", "stage": "starting", "chart_id": chart["id"]}
        route.fulfill(
            status=200,
            headers={"Content-Type": "text/event-stream"},
            body=f"event: job\ndata: {json.dumps(job)}\n\n",
        )

    page.route("**/jobs/*/events", break_off)
    row.get_by_role("button", name=f"Code chart {chart['id']}").click()
    expect(row.locator(".job")).to_have_text("Coding (starting)…")
    expect(row.get_by_role("progressbar", name=f"Coding chart {chart['id']}")).to_be_visible()
    screenshot(page, "05-worklist-coding")

    review = row.get_by_role("link", name=f"Review chart {chart['id']}, CODE-ROW-0001")
    expect(review).to_be_visible(timeout=60_000)
    assert len(broken) == 1
    expect(row.locator(".badge")).to_have_text("Coded")
    expect(row.get_by_role("button", name=re.compile("^Code again"))).to_be_visible()
    expect(page.locator("#status")).to_contain_text(f"Chart {chart['id']} is coded")
    expect(_filter(page, "Coded").locator(".count")).to_have_text("1")
    review.click()
    page.wait_for_url(f"{workspace.url}/ui/charts/{chart['id']}")


def test_upload_and_code_shows_the_run_in_the_new_row(page: Any, workspace: Workspace) -> None:
    _open(page, workspace)
    page.get_by_role("button", name="Upload chart").click()
    dialog = page.get_by_role("dialog", name="Upload a chart")
    dialog.get_by_label("Chart text").fill(NOTE)
    dialog.get_by_label("External id").fill("UPL-CODE-0001")
    dialog.get_by_label("Setting").select_option("outpatient")
    expect(dialog.get_by_label("Discharge date")).to_be_hidden()
    dialog.get_by_label("Encounter date").fill("2026-08-12")
    dialog.get_by_role("button", name="Upload and code").click()

    row = _row(page, "UPL-CODE-0001")
    expect(row.get_by_role("link", name=re.compile("^Review chart"))).to_be_visible(timeout=60_000)
    expect(row.locator(".badge")).to_have_text("Coded")
    expect(row).to_contain_text("Outpatient")
    expect(row).to_contain_text("2026-08-12")


def test_coding_a_chart_already_being_coded_follows_that_job(
    page: Any, workspace: Workspace
) -> None:
    chart = _chart(workspace, "CODE-BUSY-0001")
    _open(page, workspace, query="?q=CODE-BUSY")
    # Someone else starts the run first (no wait: the 202 comes back at once).
    with workspace.api("lena") as client:
        queued = client.post(f"/charts/{chart['id']}/coding-runs", json={})
    assert queued.status_code == 202, queued.text
    page.watch.expect_console_error("409")
    _row(page, "CODE-BUSY-0001").get_by_role("button", name=re.compile("^Code chart")).click()
    # Whether it found the job under way (409) or it had finished, the row ends coded.
    row = _row(page, "CODE-BUSY-0001")
    expect(row.get_by_role("link", name=re.compile("^Review chart"))).to_be_visible(timeout=60_000)
    expect(page.locator(".job-error")).to_have_count(0)


def test_a_failed_start_is_shown_under_the_row(page: Any, workspace: Workspace) -> None:
    chart = _chart(workspace, "CODE-FAIL-0001")
    _open(page, workspace, query="?q=CODE-FAIL")
    _set_status(workspace, "committed", chart["id"])  # the page still offers "Code"
    page.watch.expect_console_error("409")
    _row(page, "CODE-FAIL-0001").get_by_role("button", name=re.compile("^Code chart")).click()
    message = page.locator("tr.row-message .job-error")
    expect(message).to_contain_text(f"Coding chart {chart['id']} failed")
    expect(message).to_contain_text("is committed")
    expect(page.locator("#status")).to_contain_text(f"Coding chart {chart['id']} failed")
    message.get_by_role("button", name=re.compile("^Dismiss")).click()
    expect(page.locator("tr.row-message")).to_have_count(0)


def test_search_by_external_id_narrows_the_list(page: Any, workspace: Workspace) -> None:
    for external_id in ("SRCH-ALPHA-01", "SRCH-ALPHA-02", "SRCH-BETA-01"):
        _chart(workspace, external_id)
    _open(page, workspace, query="?q=SRCH-")
    expect(page.locator("#rows tr[data-chart-id]")).to_have_count(3)
    search = page.get_by_label("Search by external id")
    expect(search).to_have_value("SRCH-")

    search.fill("srch-alpha")  # any case, any part
    expect(page.locator("#rows tr[data-chart-id]")).to_have_count(2)
    expect(page.locator("#range")).to_have_text(f"1{DASH}2 of 2")
    expect(page.locator("#rows mark").first).to_have_text("SRCH-ALPHA")
    assert "q=srch-alpha" in page.url
    search.fill("beta-01")
    expect(page.locator("#rows tr[data-chart-id]")).to_have_count(1)
    expect(_row(page, "SRCH-BETA-01")).to_be_visible()
    search.fill("SRCH-NOTHING")
    expect(page.locator("#rows")).to_contain_text("No charts with an external id containing")
    expect(page.locator("#range")).to_have_text("0 of 0")


def test_counts_per_status_follow_the_search(page: Any, workspace: Workspace) -> None:
    charts = [_chart(workspace, f"CNT-{n:02d}")["id"] for n in range(7)]
    _set_status(workspace, "coded", charts[0], charts[1])
    _set_status(workspace, "in_review", charts[2])
    _set_status(workspace, "committed", charts[3], charts[4], charts[5])
    _open(page, workspace, query="?q=CNT-")
    expect(_filter(page, "All").locator(".count")).to_have_text("7")
    assert _counts(page) == {
        "All": "7",
        "New": "1",
        "Coded": "2",
        "In review": "1",
        "Committed": "3",
    }
    expect(_filter(page, "All")).to_have_attribute("aria-pressed", "true")

    _filter(page, "Committed").click()
    expect(_filter(page, "Committed")).to_have_attribute("aria-pressed", "true")
    expect(_filter(page, "All")).to_have_attribute("aria-pressed", "false")
    expect(page.locator("#rows tr[data-chart-id]")).to_have_count(3)
    expect(page.locator("#rows .badge")).to_have_text(["Committed"] * 3)
    assert _counts(page)["All"] == "7"  # the tabs' counts ignore the status filter
    assert "status=committed" in page.url

    _filter(page, "In review").click()
    expect(page.locator("#rows tr[data-chart-id]")).to_have_count(1)
    row = _row(page, "CNT-02")
    expect(row.get_by_role("link", name=re.compile("^Review chart"))).to_be_visible()
    expect(row.get_by_role("button")).to_have_count(0)  # no coding a chart in review

    # Without the search, the counts are the whole worklist's again.
    page.get_by_label("Search by external id").fill("")
    expect(page).not_to_have_url(re.compile("q=CNT"))
    assert int(_counts(page)["All"]) > 7


def test_pages_of_25_newest_first(page: Any, workspace: Workspace) -> None:
    ids = [_chart(workspace, f"PAGE-{n:02d}")["id"] for n in range(30)]
    _open(page, workspace, query="?q=PAGE-")
    rows = page.locator("#rows tr[data-chart-id]")
    expect(rows).to_have_count(25)
    expect(page.locator("#range")).to_have_text(f"1{DASH}25 of 30")
    expect(rows.first).to_have_attribute("data-chart-id", str(ids[-1]))
    previous = page.get_by_role("button", name="Previous")
    expect(previous).to_be_disabled()

    page.get_by_role("button", name="Next").click()
    expect(page.locator("#range")).to_have_text(f"26{DASH}30 of 30")
    expect(rows).to_have_count(5)
    expect(rows.last).to_have_attribute("data-chart-id", str(ids[0]))
    expect(page.get_by_role("button", name="Next")).to_be_disabled()
    assert "page=2" in page.url

    page.reload()  # the page is in the address
    expect(page.locator("#range")).to_have_text(f"26{DASH}30 of 30")
    previous.click()
    expect(page.locator("#range")).to_have_text(f"1{DASH}25 of 30")

    page.get_by_label("Rows per page").select_option("50")
    expect(rows).to_have_count(30)
    expect(page.locator("#range")).to_have_text(f"1{DASH}30 of 30")


def test_an_invalid_upload_shows_the_api_error_and_keeps_the_form(
    page: Any, workspace: Workspace
) -> None:
    page.watch.expect_console_error("422")
    _open(page, workspace)
    page.get_by_role("button", name="Upload chart").click()
    dialog = page.get_by_role("dialog", name="Upload a chart")
    dialog.get_by_role("button", name="Upload", exact=True).click()
    expect(dialog.get_by_role("alert")).to_contain_text("Paste the chart's text")

    dialog.get_by_label("Chart text").fill(NOTE)
    dialog.get_by_label("External id").fill("BAD-0001")
    dialog.get_by_label("Age").fill("200")
    dialog.get_by_role("button", name="Upload", exact=True).click()
    summary = dialog.locator("#upload-error")
    expect(summary).to_contain_text("The chart was not uploaded.")
    expect(summary).to_contain_text("less than or equal to 124")
    expect(summary).to_be_focused()
    age = dialog.get_by_label("Age")
    expect(age).to_have_attribute("aria-invalid", "true")
    expect(dialog.locator("#age-error")).to_have_text("Input should be less than or equal to 124")
    # What the coder typed is all still there.
    expect(dialog.get_by_label("Chart text")).to_have_value(NOTE)
    expect(dialog.get_by_label("External id")).to_have_value("BAD-0001")
    expect(age).to_have_value("200")

    age.fill("67")
    dialog.get_by_label("Admission date").fill("2026-06-30")
    dialog.get_by_label("Discharge date").fill("2026-06-25")
    dialog.get_by_role("button", name="Upload", exact=True).click()
    expect(summary).to_contain_text("is before admission_date")
    expect(age).not_to_have_attribute("aria-invalid", "true")
    discharge = dialog.get_by_label("Discharge date")
    expect(discharge).to_have_attribute("aria-invalid", "true")
    expect(dialog.locator("#discharge-date-error")).to_contain_text("is before admission_date")
    _assert_accessible(page)
    screenshot(page, "04b-worklist-upload-error")

    # A date outside the knowledge base's fiscal years: the API names the years it holds.
    dialog.get_by_label("Admission date").fill("2031-06-20")
    dialog.get_by_label("Discharge date").fill("2031-06-25")
    dialog.get_by_role("button", name="Upload", exact=True).click()
    expect(summary).to_contain_text("which this knowledge base does not hold")
    expect(discharge).to_have_attribute("aria-invalid", "true")

    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    with workspace.api("lena") as client:
        assert client.get("/charts", params={"external_id": "BAD-0001"}).json()["total"] == 0


def test_the_worklist_works_from_the_keyboard(page: Any, workspace: Workspace) -> None:
    chart = _chart(workspace, "KEYS-0001")
    _open(page, workspace)
    page.keyboard.press("/")
    expect(page.get_by_label("Search by external id")).to_be_focused()
    page.keyboard.type("keys-0001")
    page.keyboard.press("Enter")
    expect(page.locator("#rows tr[data-chart-id]")).to_have_count(1)
    # From the search, Tab reaches the chart's link.
    link = page.get_by_role("link", name=f"Chart {chart['id']}, KEYS-0001")
    for _ in range(4):
        page.keyboard.press("Tab")
        if link.evaluate("node => node === document.activeElement"):
            break
    expect(link).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url(f"{workspace.url}/ui/charts/{chart['id']}")


def test_an_auditor_sees_the_worklist_read_only(page: Any, workspace: Workspace) -> None:
    chart = _chart(workspace, "AUD-0001")
    _open(page, workspace, name="audrey", query="?q=AUD-0001")
    row = _row(page, "AUD-0001")
    expect(row).to_be_visible()
    expect(page.get_by_role("button", name="Upload chart")).to_have_count(0)
    expect(page.locator("#upload-form")).to_have_count(0)
    expect(page.get_by_text("Read-only")).to_be_visible()
    expect(row.get_by_role("button")).to_have_count(0)
    expect(row.get_by_role("link", name=f"View chart {chart['id']}, AUD-0001")).to_be_visible()


def test_a_populated_worklist(page: Any, workspace: Workspace) -> None:
    """Charts as a hospital's worklist has them: both settings, assigned or not, each
    status; the newest on top (screenshot 03)."""
    with workspace.api("lena") as client:
        people = {u["name"]: u["id"] for u in client.get("/users").json()}
    mixed: list[tuple[str, dict[str, Any], str | None, str | None]] = [
        ("ACC-20260630-118", {}, None, "committed"),
        (
            "ACC-20260701-204",
            {"setting": "outpatient", "encounter_date": "2026-07-01"},
            "cody",
            None,
        ),
        ("ACC-20260702-031", {"age": 54, "sex": "M"}, "carla", "in_review"),
        ("ACC-20260702-077", {"discharge_date": None, "admission_date": None}, None, None),
        ("ACC-20260703-512", {"age": 81}, "cody", "coded"),
        (
            "ACC-20260703-640",
            {"setting": "outpatient", "encounter_date": "2026-07-03", "age": 9},
            None,
            None,
        ),
    ]
    for external_id, meta, person, status in mixed:
        chart = _chart(workspace, external_id, **meta)
        if person:
            with workspace.api("lena") as client:
                assigned = client.put(
                    f"/charts/{chart['id']}/assignee", json={"user_id": people[person]}
                )
            assert assigned.status_code == 200, assigned.text
        if status:
            _set_status(workspace, status, chart["id"])
    _open(page, workspace)
    row = _row(page, "ACC-20260703-640")
    expect(row).to_contain_text("Outpatient")
    expect(row).to_contain_text("9 / F")
    expect(_row(page, "ACC-20260701-204")).to_contain_text("cody")
    expect(_row(page, "ACC-20260702-077").locator(".col-date")).to_have_text("—")
    _assert_accessible(page)
    screenshot(page, "03-worklist")


def test_the_worklist_at_1920_by_1080(page_for: Any, workspace: Workspace) -> None:
    page = page_for(viewport=(1920, 1080))
    _open(page, workspace)
    expect(page.locator("#rows tr[data-chart-id]")).to_have_count(25)
    _assert_accessible(page)
    screenshot(page, "06-worklist-1920")


def test_a_lead_assigns_charts_and_a_coder_lists_their_own(
    page: Any, page_for: Any, workspace: Workspace
) -> None:
    mine = _chart(workspace, "ASG-0001")
    other = _chart(workspace, "ASG-0002")
    _open(page, workspace, name="lena", query="?q=ASG-")
    expect(page.locator("#rows tr[data-chart-id]")).to_have_count(2)

    # The lead assigns the first chart to cody through the row's dialog.
    _row(page, "ASG-0001").get_by_role(
        "button", name=f"Assign chart {mine['id']}, ASG-0001"
    ).click()
    dialog = page.get_by_role("dialog", name="Assign a chart")
    expect(dialog).to_contain_text(f"Chart {mine['id']} (ASG-0001)")
    choice = dialog.get_by_label("Assign to")
    expect(choice.locator("option")).to_have_text(
        ["No one", "carla (coder)", "cody (coder)", "lena (lead)"]
    )
    choice.select_option(label="cody (coder)")
    found = audit(page)
    assert found == {"low": [], "unnamed": []}, found
    screenshot(page, "06b-worklist-assign")
    dialog.get_by_role("button", name="Assign").click()
    expect(dialog).to_be_hidden()
    expect(_row(page, "ASG-0001")).to_contain_text("cody")
    with workspace.api("lena") as client:
        stored = client.get(f"/charts/{mine['id']}").json()
        trail = client.get(f"/charts/{mine['id']}/audit").json()
    assert stored["assigned_to"]["name"] == "cody"
    assert [e["action"] for e in trail].count("chart.assign") == 1

    # Someone assigns the second chart first: the page says so, then the next try works.
    with workspace.api("lena") as client:
        first = client.put(
            f"/charts/{other['id']}/assignee",
            json={"user_id": stored["assigned_to"]["id"]},
            headers={"If-Match": f'"{other["version"]}"'},
        )
        assert first.status_code == 200, first.text
    _row(page, "ASG-0002").get_by_role("button", name=re.compile("^Assign chart")).click()
    dialog.get_by_label("Assign to").select_option(label="No one")
    dialog.get_by_role("button", name="Assign").click()
    expect(dialog.get_by_role("alert")).to_contain_text("Someone changed")
    page.watch.expect_console_error("409")  # the browser logs the refused change
    expect(_row(page, "ASG-0002")).to_contain_text("cody")  # the list as it is now
    expect(dialog.get_by_label("Assign to")).to_have_value(str(stored["assigned_to"]["id"]))
    dialog.get_by_label("Assign to").select_option(label="No one")
    dialog.get_by_role("button", name="Assign").click()
    expect(dialog).to_be_hidden()
    expect(_row(page, "ASG-0002")).to_contain_text("Unassigned")

    # A coder narrows the list to their own charts, or to charts nobody has; no Assign.
    coder = page_for()
    _open(coder, workspace, name="cody", query="?q=ASG-")
    expect(coder.get_by_role("button", name=re.compile("^Assign"))).to_have_count(0)
    coder.get_by_label("Assigned to").select_option(label="Me")
    expect(coder.locator("#rows tr[data-chart-id]")).to_have_count(1)
    expect(_row(coder, "ASG-0001")).to_be_visible()
    assert "who=me" in coder.url
    coder.get_by_label("Assigned to").select_option(label="No one")
    expect(coder.locator("#rows tr[data-chart-id]")).to_have_count(1)
    expect(_row(coder, "ASG-0002")).to_be_visible()
    coder.reload()  # the filter lives in the address
    expect(coder.get_by_label("Assigned to")).to_have_value("none")
    expect(coder.locator("#rows tr[data-chart-id]")).to_have_count(1)
