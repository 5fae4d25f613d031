"""Workspace sign-in below the browser: passwords, sessions, CSRF, limits, the CLI, on SQLite
and PostgreSQL. (tests/web drives the same through Chromium.)"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from api.cli.main import app as cli
from review.actors import Actor
from review.db import make_engine, sessions, transaction, upgrade
from review.errors import InvalidInput, NotFound
from review.sign_in import check_password, set_password
from review.tables import AuditRow, UserRow, WebSessionRow
from review.users import create_user
from web.app import create_app
from wiring.settings import Settings

PASSWORD = "a long enough secret"
OPERATOR = Actor(None, "cli:test", "lead")


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        home=tmp_path,
        database_url=database_url,
        preload_agent=False,
        housekeeping_interval_s=0,
        sign_in_max_failures=3,
        auth_max_failures=6,
    )


@pytest.fixture
def keys(settings: Settings) -> dict[str, str]:
    upgrade(settings.review_database_url)
    engine = make_engine(settings.review_database_url)
    found = {}
    try:
        with transaction(sessions(engine)) as session:
            for name, role in (
                ("ann", "coder"),
                ("lee", "lead"),
                ("bob", "coder"),
                ("longername", "coder"),
            ):
                _, found[name] = create_user(session, name=name, role=role, actor=OPERATOR)
            for name in ("ann", "lee"):
                set_password(session, name=name, password=PASSWORD, actor=OPERATOR)
    finally:
        engine.dispose()
    return found


@pytest.fixture
def browser(settings: Settings, keys: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(settings), follow_redirects=False) as client:
        yield client


def _nonce(client: TestClient, page: str = "/sign-in") -> str:
    form = client.get(page)
    found = re.search(r'name="nonce" value="([^"]+)"', form.text)
    assert found, form.text
    return found[1]


def _sign_in(client: TestClient, name: str, password: str = PASSWORD, next_page: str = "/"):  # type: ignore[no-untyped-def]
    data = {"name": name, "password": password, "nonce": _nonce(client), "next": next_page}
    return client.post("/sign-in", data=data)


def _csrf(client: TestClient) -> str:
    found = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/").text)
    assert found
    return found[1]


def test_sign_in_sets_a_strict_http_only_cookie_and_goes_to_the_page_asked(
    browser: TestClient,
) -> None:
    answer = _sign_in(browser, "ann", next_page="/ui/charts/4")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ui/charts/4"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("medcoder_session=")
    for part in ("HttpOnly", "SameSite=strict", "Max-Age=28800", "Path=/"):
        assert part.lower() in cookie.lower()
    assert "secure" not in cookie.lower()  # plain HTTP here, secure_cookies off
    assert browser.get("/charts").status_code == 200


def test_next_never_leaves_the_site(browser: TestClient) -> None:
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "charts"):
        assert _sign_in(browser, "ann", next_page=target).headers["location"] == "/"


def test_secure_cookies_setting_marks_the_cookie_secure(
    settings: Settings, keys: dict[str, str]
) -> None:
    secure = settings.model_copy(update={"secure_cookies": True})
    with TestClient(create_app(secure, migrate=False), follow_redirects=False) as client:
        answer = _sign_in(client, "ann")
    assert "secure" in answer.headers["set-cookie"].lower()


def test_a_form_without_its_own_cookie_is_refused(browser: TestClient) -> None:
    nonce = _nonce(browser)
    browser.cookies.clear()
    data = {"name": "ann", "password": PASSWORD, "nonce": nonce}
    answer = browser.post("/sign-in", data=data)
    assert answer.status_code == 400
    assert "too old" in answer.text
    assert "medcoder_session" not in answer.headers.get("set-cookie", "")


def test_writes_with_the_cookie_need_the_csrf_token_reads_do_not(browser: TestClient) -> None:
    _sign_in(browser, "ann")
    body = {"external_id": "x", "text": "Hypertension."}
    refused = browser.put("/charts/1/assignee", json={"user_id": None})
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    wrong = browser.post("/charts", json=body, headers={"X-CSRF-Token": "guess"})
    assert wrong.status_code == 403
    # The right token passes the edge (the missing KB then answers 503, or 201 with one).
    right = browser.post("/charts", json=body, headers={"X-CSRF-Token": _csrf(browser)})
    assert right.status_code in (201, 503)
    assert browser.get("/charts").status_code == 200


def test_an_api_key_needs_no_csrf_token_even_beside_a_cookie(
    browser: TestClient, keys: dict[str, str]
) -> None:
    _sign_in(browser, "ann")
    answer = browser.get("/users", headers={"Authorization": f"Bearer {keys['lee']}"})
    assert answer.status_code == 200  # the key's user (a lead), not the cookie's (a coder)
    assert browser.get("/users").status_code == 403


def test_wrong_passwords_are_limited_per_name_then_per_address(browser: TestClient) -> None:
    for _ in range(3):
        assert _sign_in(browser, "ann", password="wrong wrong wrong").status_code == 401
    locked = _sign_in(browser, "ann")
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 0
    # Another name from the same address still signs in until the address's own limit ...
    assert _sign_in(browser, "lee").status_code == 303
    for _ in range(3):
        assert _sign_in(browser, "nobody", password="x" * 12).status_code == 401
    # ... which six failures from this address have reached: every name is refused now.
    assert _sign_in(browser, "lee").status_code == 429


def test_an_unknown_name_and_a_wrong_password_look_the_same(browser: TestClient) -> None:
    unknown = _sign_in(browser, "nobody", password="whatever it is")
    wrong = _sign_in(browser, "ann", password="whatever it is")
    assert unknown.status_code == wrong.status_code == 401
    assert "Wrong user name or password." in unknown.text
    assert "Wrong user name or password." in wrong.text


def test_a_user_without_a_password_or_deactivated_cannot_sign_in(
    browser: TestClient, settings: Settings
) -> None:
    assert _sign_in(browser, "bob", password="anything at all").status_code == 401
    engine = make_engine(settings.review_database_url)
    try:
        with transaction(sessions(engine)) as session:
            user = session.scalar(select(UserRow).where(UserRow.name == "ann"))
            assert user is not None
            assert check_password(session, name="ann", password=PASSWORD) is not None
            user.active = False
            session.flush()
            assert check_password(session, name="ann", password=PASSWORD) is None
    finally:
        engine.dispose()


def test_sign_out_needs_the_page_token_and_ends_the_session(
    browser: TestClient, settings: Settings
) -> None:
    _sign_in(browser, "ann")
    token = browser.cookies["medcoder_session"]
    refused = browser.post("/sign-out", data={"csrf_token": "not it"})
    assert refused.status_code == 403
    assert browser.get("/charts").status_code == 200
    out = browser.post("/sign-out", data={"csrf_token": _csrf(browser)})
    assert out.status_code == 303
    assert out.headers["location"] == "/sign-in?signed_out=1"
    browser.cookies.set("medcoder_session", token)
    assert browser.get("/charts").status_code == 401
    page = browser.get("/ui/charts/3")
    assert page.status_code == 303
    assert page.headers["location"] == "/sign-in?next=%2Fui%2Fcharts%2F3&expired=1"
    engine = make_engine(settings.review_database_url)
    try:
        with transaction(sessions(engine)) as session:
            assert session.scalar(select(func.count()).select_from(WebSessionRow)) == 0
            actions = session.scalars(select(AuditRow.action)).all()
    finally:
        engine.dispose()
    assert "user.sign_in" in actions


def test_pages_send_the_unsigned_in_to_sign_in_without_counting_a_failure(
    browser: TestClient,
) -> None:
    for _ in range(20):  # more than the address's failure limit
        answer = browser.get("/")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/sign-in?next=%2F"
    assert _sign_in(browser, "ann").status_code == 303


def test_pages_carry_a_strict_content_security_policy(browser: TestClient) -> None:
    _sign_in(browser, "ann")
    for path in ("/", "/ui/charts/1", "/sign-in", "/assets/api.js"):
        policy = browser.get(path).headers["content-security-policy"]
        assert "script-src 'self';" in policy
        assert "unsafe-inline" not in policy
        assert "frame-ancestors 'none'" in policy
    assert browser.get("/assets/api.js").headers["cache-control"] == "no-cache"
    assert browser.get("/").headers["cache-control"] == "no-store"


def test_password_rules(settings: Settings, keys: dict[str, str]) -> None:
    engine = make_engine(settings.review_database_url)
    try:
        with transaction(sessions(engine)) as session:
            with pytest.raises(InvalidInput, match="10 to 1024"):
                set_password(session, name="bob", password="short", actor=OPERATOR)
            with pytest.raises(InvalidInput, match="user name"):
                set_password(session, name="longername", password="LongerName", actor=OPERATOR)
            with pytest.raises(NotFound):
                set_password(session, name="zed", password=PASSWORD, actor=OPERATOR)
            stored = set_password(session, name="bob", password=PASSWORD, actor=OPERATOR)
            assert stored.password_hash is not None
            assert stored.password_hash.startswith("$argon2id$")
            assert PASSWORD not in stored.password_hash
    finally:
        engine.dispose()


def test_cli_creates_a_user_with_a_prompted_password_and_resets_it(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEDCODER_HOME", str(settings.home))
    monkeypatch.setenv("MEDCODER_DATABASE_URL", settings.review_database_url)
    runner = CliRunner()
    created = runner.invoke(
        cli,
        ["users", "create", "dee", "--role", "coder", "--password"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert created.exit_code == 0, created.output
    assert "signs in to the workspace" in created.output
    assert PASSWORD not in created.output
    mismatch = runner.invoke(
        cli, ["users", "set-password", "dee"], input=f"{PASSWORD}\nother one entirely\n" * 3
    )
    assert mismatch.exit_code != 0
    short = runner.invoke(cli, ["users", "set-password", "dee"], input="short\nshort\n")
    assert short.exit_code == 1
    assert "at least 10 characters" in short.output
    reset = runner.invoke(
        cli, ["users", "set-password", "dee"], input="a different secret\na different secret\n"
    )
    assert reset.exit_code == 0, reset.output
    engine = make_engine(settings.review_database_url)
    try:
        with transaction(sessions(engine)) as session:
            assert check_password(session, name="dee", password=PASSWORD) is None
            assert check_password(session, name="dee", password="a different secret")
    finally:
        engine.dispose()
