"""`medcoder chat`: a chart file coded offline, then questions about it: one with --ask
(text or JSON), or a prompt loop whose follow-ups refer back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.api.test_chat_api import CHART
from tests.cli_fixtures import Invoke


@pytest.fixture
def chart_file(tmp_path: Path) -> Path:
    path = tmp_path / "chart.txt"
    path.write_text(CHART)
    return path


def test_ask_json_gives_the_kind_and_verified_citations(run: Invoke, chart_file: Path) -> None:
    result = run("chat", str(chart_file), "--ask", "Is sepsis mentioned?", "--json")
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["kind"] == "find_in_chart" and not answer["refused"]
    (quote,) = [c for c in answer["citations"] if c["kind"] == "chart"]
    assert CHART[quote["start"] : quote["end"]] == quote["quote"] == "No evidence of sepsis."
    assert quote["flags"] == ["negated"]

    why = json.loads(run("chat", str(chart_file), "--ask", "why K35.80?", "--json").stdout)
    assert why["kind"] == "why" and why["codes"] == ["K35.80"]
    quotes = [c for c in why["citations"] if c["kind"] == "chart"]
    assert quotes and all(CHART[c["start"] : c["end"]] == c["quote"] for c in quotes)
    assert "tabular:K35.80" in {c["source_id"] for c in why["citations"] if c["kind"] == "kb"}

    refused = json.loads(
        run("chat", str(chart_file), "--ask", "Summarize the hospital course", "--json").stdout
    )
    assert refused["kind"] == "open" and refused["refused"] is True


def test_the_prompt_loop_keeps_history_for_follow_ups(run: Invoke, chart_file: Path) -> None:
    questions = "Excludes1 notes for F02.80\nand its code-first note?\nexit\nIs fever mentioned?\n"
    result = run("chat", str(chart_file), stdin=questions)
    assert result.exit_code == 0, result.output
    assert "K35.80" in result.stdout  # the proposals it chats about
    first, _, follow = result.stdout.partition("Excludes1 (inherited from F02)")
    assert follow and "Code first (inherited from F02)" in follow
    assert "Excludes1" not in follow  # the note asked for, not every note again
    assert "Code first" not in first
    assert "fever" not in result.stdout.lower()  # "exit" ended the loop


def test_usage_errors(run: Invoke, chart_file: Path) -> None:
    no_question = run("chat", str(chart_file), "--json")
    assert no_question.exit_code == 2 and "--json needs --ask" in no_question.output
    too_long = run("chat", str(chart_file), "--ask", "x" * 2001)
    assert too_long.exit_code == 2 and "at most 2000" in too_long.output
    missing = run("chat", str(chart_file.with_name("absent.txt")), "--ask", "why K35.80?")
    assert missing.exit_code == 1 and "no such file" in missing.output
