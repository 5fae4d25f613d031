"""The workspace in a real browser: a real server (uvicorn, `web.app`) over a real database
and the session's knowledge base, driven by Playwright in Debian's Chromium.

Every page a test opens routes each request through a check: anything not for the server's
own origin is aborted and recorded, and the test fails on it, as on any console error."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from retrieval.build import BuildReport
from review.actors import Actor
from review.db import make_engine, sessions, transaction, upgrade
from review.sign_in import set_password
from review.users import create_user
from tests.api.databases import sqlite_url
from tests.api.server import ServerProcess
from tests.conftest import REPO_ROOT
from tests.llm_server import ScriptedLlmServer
from wiring.settings import Settings

CHROMIUM = Path(os.environ.get("MEDCODER_CHROMIUM", "/usr/bin/chromium"))
# Headless, and none of Chromium's own background traffic (updates, sync, field trials):
# this machine's network is closed and those attempts would only be noise.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--metrics-recording-only",
]
SCREENSHOTS = REPO_ROOT / "artifacts" / "screenshots"
PASSWORD = "correct horse battery"
PEOPLE = {"lena": "lead", "cody": "coder", "audrey": "auditor", "carla": "coder"}


def chromium_path() -> Path:
    """Debian's Chromium; a browser test fails in CI without it (skips elsewhere)."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"Chromium not found at {CHROMIUM} (.ci/run installs Debian's chromium)")
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    return CHROMIUM


@dataclass
class Workspace:
    """A running server with four people who can sign in (PEOPLE, all with PASSWORD) and the
    lead's API key, for setting up data faster than through the pages."""

    server: ServerProcess
    database_url: str
    lead_key: str
    keys: dict[str, str] = field(default_factory=dict)
    # The scripted OpenAI-compatible server the app's LLM settings point at, if any.
    llm: ScriptedLlmServer | None = None

    @property
    def url(self) -> str:
        return self.server.url

    def api(self, person: str = "lena") -> httpx.Client:
        key = self.keys[person]
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {key}"}, timeout=120
        )


def add_people(url: str) -> dict[str, str]:
    """The PEOPLE, each with PASSWORD; their API keys by name."""
    upgrade(url)
    engine = make_engine(url)
    keys = {}
    try:
        with transaction(sessions(engine)) as session:
            operator = Actor(None, "cli:test", "lead")
            for name, role in PEOPLE.items():
                _, keys[name] = create_user(session, name=name, role=role, actor=operator)
                set_password(session, name=name, password=PASSWORD, actor=operator)
    finally:
        engine.dispose()
    return keys


def start_workspace(
    settings: Settings, folder: Path, env: dict[str, str] | None = None
) -> Workspace:
    keys = add_people(settings.review_database_url)
    server = ServerProcess(
        settings, folder / "server.log", env=env, factory="web.app:app_from_environment"
    ).start(timeout=300)
    return Workspace(server, settings.review_database_url, keys["lena"], keys)


@pytest.fixture(scope="module")
def workspace(
    kb_settings: Settings, built_kb: BuildReport, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Workspace]:
    """One server per test module, on a fresh SQLite database."""
    folder = tmp_path_factory.mktemp("workspace")
    settings = kb_settings.model_copy(
        update={"database_url": sqlite_url(folder), "llm_base_url": None, "llm_model": None}
    )
    started = start_workspace(settings, folder)
    try:
        yield started
    finally:
        started.server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(executable), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class PageWatch:
    """What a page did that a test must not allow: console errors, uncaught exceptions and
    requests to anywhere but the server."""

    origin: str
    console_errors: list[str] = field(default_factory=list)
    off_origin: list[str] = field(default_factory=list)
    expected_errors: list[str] = field(default_factory=list)

    def expect_console_error(self, fragment: str) -> None:
        """An error the test provokes on purpose (a refused request shows in the console)."""
        self.expected_errors.append(fragment)

    def unexpected(self) -> list[str]:
        return [
            error
            for error in self.console_errors
            if not any(fragment in error for fragment in self.expected_errors)
        ]


def watch(page: Any, origin: str) -> PageWatch:
    watched = PageWatch(origin)

    def route(route: Any) -> None:
        url = route.request.url
        if url.startswith(origin + "/") or url == origin or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            watched.off_origin.append(url)
            route.abort()

    page.route("**/*", route)
    page.on(
        "console",
        lambda message: (
            watched.console_errors.append(f"{message.text} @ {message.location}")
            if message.type == "error"
            else None
        ),
    )
    page.on("pageerror", lambda error: watched.console_errors.append(f"uncaught: {error}"))
    return watched


@pytest.fixture
def page_for(browser: Any, workspace: Workspace) -> Iterator[Any]:
    """page_for(viewport=(1280, 800)) -> a fresh browser context's page, watched; at the end
    the test fails on any console error or any request that left the server's origin."""
    opened: list[tuple[Any, PageWatch]] = []

    def open_page(viewport: tuple[int, int] = (1280, 800)) -> Any:
        context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
        context.set_default_timeout(15_000)
        page = context.new_page()
        page.watch = watch(page, workspace.url)
        opened.append((context, page.watch))
        return page

    yield open_page
    problems = []
    for context, watched in opened:
        context.close()
        if watched.off_origin:
            problems.append(f"requests left the origin: {watched.off_origin}")
        if watched.unexpected():
            problems.append(f"console errors: {watched.unexpected()}")
    assert not problems, problems


@pytest.fixture
def page(page_for: Any) -> Any:
    return page_for()


def sign_in(page: Any, base_url: str, name: str, password: str = PASSWORD, path: str = "/") -> None:
    page.goto(base_url + path)
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def screenshot(page: Any, name: str) -> Path:
    """Saved under artifacts/screenshots (kept out of git; CI keeps the folder)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


def clear_screenshots() -> None:
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
