"""Prompt templates load from the package with their version and render in one pass."""

from __future__ import annotations

import pytest

from prompts import Prompt, PromptError, load_prompt


def test_the_propose_prompt_has_a_version_and_both_parts() -> None:
    prompt = load_prompt("propose_v1")
    assert prompt.version == "propose-v1"
    parts = prompt.parts()
    assert set(parts) == {"system", "user"}
    assert "version:" not in prompt.text
    for slot in ("metadata", "candidates", "examples", "marker", "chart", "part"):
        assert "{{" + slot + "}}" in parts["user"]
    assert "{{" not in parts["system"]
    assert '{"codes": [{"code"' in parts["system"]


def test_rendering_fills_each_slot_once() -> None:
    prompt = Prompt(version="t", text="=== user ===\n<{{chart}}> {{other}}\n")
    text = prompt.render("user", {"chart": "x {{other}} y", "other": "VALUE"})
    assert text == "<x {{other}} y> VALUE"


def test_missing_values_and_templates_are_errors() -> None:
    with pytest.raises(PromptError, match="chart"):
        Prompt(version="t", text="=== user ===\n{{chart}}").render("user", {})
    with pytest.raises(PromptError, match="no prompt template"):
        load_prompt("no_such_prompt")
