"""Every screen of the workspace: text contrast AA, every control named, focus visible."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.accessibility import audit, focus_is_visible
from tests.web.conftest import Workspace, sign_in


def _check(page: Any) -> None:
    found = audit(page)
    assert found["low"] == [], found["low"]
    assert found["unnamed"] == [], found["unnamed"]


@pytest.mark.parametrize("viewport", [(1280, 800), (1920, 1080)])
def test_sign_in_page(page_for: Any, workspace: Workspace, viewport: tuple[int, int]) -> None:
    page = page_for(viewport)
    page.goto(workspace.url + "/sign-in")
    _check(page)
    assert focus_is_visible(page)


@pytest.mark.parametrize("viewport", [(1280, 800), (1920, 1080)])
def test_worklist(page_for: Any, workspace: Workspace, viewport: tuple[int, int]) -> None:
    page = page_for(viewport)
    sign_in(page, workspace.url, "cody")
    page.wait_for_url(workspace.url + "/")
    page.wait_for_load_state("networkidle")
    _check(page)
    assert focus_is_visible(page)
