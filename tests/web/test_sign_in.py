"""Signing in and out of the workspace in a real browser, and what the session cookie is."""

from __future__ import annotations

import time
from typing import Any

import httpx
from playwright.sync_api import expect
from sqlalchemy import update

from review.db import make_engine, sessions, transaction
from review.tables import WebSessionRow
from tests.web.conftest import PASSWORD, Workspace, screenshot, sign_in


def _a_chart(workspace: Workspace) -> int:
    with workspace.api("lena") as client:
        posted = client.post("/charts", json={"text": "Essential hypertension.", "meta": {}})
        assert posted.status_code == 201, posted.text
    return int(posted.json()["id"])


def test_a_page_sends_whoever_is_not_signed_in_to_sign_in_and_back(
    page: Any, workspace: Workspace
) -> None:
    chart_id = _a_chart(workspace)
    page.goto(f"{workspace.url}/ui/charts/{chart_id}")
    assert page.url.startswith(f"{workspace.url}/sign-in?next=%2Fui%2Fcharts%2F{chart_id}")
    screenshot(page, "01-sign-in")
    page.get_by_label("User name").fill("cody")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{workspace.url}/ui/charts/{chart_id}")
    expect(page.locator("#chart-page")).to_have_attribute("data-ready", "true")


def test_the_session_cookie_is_http_only_strict_and_expires(
    page: Any, workspace: Workspace
) -> None:
    sign_in(page, workspace.url, "cody")
    page.wait_for_url(workspace.url + "/")
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["medcoder_session"]
    assert session["httpOnly"] is True
    assert session["sameSite"] == "Strict"
    assert 0 < session["expires"] - time.time() <= 480 * 60 + 5
    # Scripts cannot read it.
    assert "medcoder_session" not in page.evaluate("document.cookie")


def test_a_wrong_password_is_refused_and_says_so(page: Any, workspace: Workspace) -> None:
    sign_in(page, workspace.url, "cody", password="not the password")
    assert page.get_by_role("alert").inner_text() == "Wrong user name or password."
    assert page.url.startswith(workspace.url + "/sign-in")
    page.watch.expect_console_error("401")  # the browser logs the 401 answer to the post
    screenshot(page, "02-sign-in-wrong-password")


def test_a_write_without_the_page_csrf_token_is_refused(page: Any, workspace: Workspace) -> None:
    sign_in(page, workspace.url, "cody")
    page.wait_for_url(workspace.url + "/")
    answer = page.evaluate(
        """async () => {
            const r = await fetch('/charts', {method: 'POST', headers: {'Content-Type':
              'application/json'}, body: JSON.stringify({text: 'Chest pain.'})});
            return [r.status, (await r.json()).detail];
        }"""
    )
    assert answer[0] == 403
    assert "CSRF" in answer[1]
    page.watch.expect_console_error("403")


def test_signing_out_ends_the_session_on_the_server(page: Any, workspace: Workspace) -> None:
    sign_in(page, workspace.url, "cody")
    page.wait_for_url(workspace.url + "/")
    token = {c["name"]: c["value"] for c in page.context.cookies()}["medcoder_session"]
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/sign-in?signed_out=1")
    assert page.get_by_text("You are signed out.").is_visible()
    # The old cookie, replayed, no longer works.
    replay = httpx.get(workspace.url + "/charts", cookies={"medcoder_session": token})
    assert replay.status_code == 401


def test_an_expired_session_goes_back_to_sign_in_and_returns(
    page: Any, workspace: Workspace
) -> None:
    chart_id = _a_chart(workspace)
    sign_in(page, workspace.url, "cody")
    page.wait_for_url(workspace.url + "/")
    # The worklist has loaded before the session ends (its request would be refused after).
    expect(page.locator("table[aria-busy=false]")).to_have_count(1)
    engine = make_engine(workspace.database_url)
    try:
        with transaction(sessions(engine)) as session:
            session.execute(update(WebSessionRow).values(expires_at=WebSessionRow.created_at))
    finally:
        engine.dispose()
    time.sleep(2.2)  # the server trusts a checked session for up to 2 s
    page.goto(f"{workspace.url}/ui/charts/{chart_id}")
    page.wait_for_url(f"**/sign-in?next=%2Fui%2Fcharts%2F{chart_id}&expired=1")
    assert "Your sign-in has ended" in page.get_by_role("alert").inner_text()
    page.get_by_label("User name").fill("cody")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{workspace.url}/ui/charts/{chart_id}")
    expect(page.locator("#chart-page")).to_have_attribute("data-ready", "true")


def test_wrong_passwords_for_a_name_are_rate_limited(page: Any, workspace: Workspace) -> None:
    """Last in this module: it leaves 'carla' locked out for the window."""
    for _ in range(5):
        sign_in(page, workspace.url, "carla", password="guess guess guess")
        assert page.get_by_role("alert").inner_text() == "Wrong user name or password."
    sign_in(page, workspace.url, "carla")  # even the right password, while locked out
    assert "Too many wrong passwords" in page.get_by_role("alert").inner_text()
    page.watch.expect_console_error("401")
    page.watch.expect_console_error("429")
