"""`medcoder code DIR | FILE.jsonl | BUNDLE.json --out FILE`: one line per chart, failures
listed per chart, resuming after an interruption, exit codes and the summary."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from agent.models import Chart, CodingResult
from agent.proposers.base import ProposerError
from tests.cli_fixtures import Invoke

CHARTS = Path(__file__).parents[1] / "agent" / "charts"
APPENDICITIS = (CHARTS / "appendicitis_diabetes.txt").read_text()
PNEUMONIA = (CHARTS / "probable_pneumonia.txt").read_text()
LINE_KEYS = {"source", "external_id", "status", "error", "result"}


def _docref(note: str, discharged: str) -> dict[str, Any]:
    data = base64.b64encode(note.encode()).decode()
    return {
        "resourceType": "DocumentReference",
        "status": "current",
        "identifier": [{"value": f"DOC-{discharged}"}],
        "content": [{"attachment": {"contentType": "text/plain", "data": data}}],
        "context": {"period": {"start": discharged, "end": discharged}},
    }


def _notes(tmp_path: Path) -> Path:
    """Four charts: two good notes, an empty one, and a FHIR note discharged in a year no
    knowledge base holds (it fails when coded, not when read)."""
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a.txt").write_text(APPENDICITIS)
    (notes / "b.txt").write_text(PNEUMONIA)
    (notes / "c.txt").write_text("  \n")
    (notes / "d.json").write_text(json.dumps(_docref(APPENDICITIS, "2040-01-15")))
    return notes


def _lines(out: Path) -> list[dict[str, Any]]:
    text = out.read_text()
    assert text.endswith("\n")
    lines = [json.loads(line) for line in text.splitlines()]
    assert all(set(line) == LINE_KEYS for line in lines)
    return lines


def _by_source(out: Path) -> dict[str, dict[str, Any]]:
    lines = _lines(out)
    by_source = {line["source"]: line for line in lines}
    assert len(by_source) == len(lines), "one line per chart"
    return by_source


def _codes(line: dict[str, Any]) -> set[str]:
    return {p["code"] for p in line["result"]["proposals"]}


def test_directory_batch_codes_each_chart_and_lists_failures(run: Invoke, tmp_path: Path) -> None:
    notes, out = _notes(tmp_path), tmp_path / "results.jsonl"
    result = run("code", str(notes), "--out", str(out))
    assert result.exit_code == 1, result.output
    lines = _by_source(out)
    assert list(lines) == ["notes/a.txt", "notes/b.txt", "notes/c.txt", "notes/d.json"]
    assert [line["status"] for line in lines.values()] == ["coded", "coded", "failed", "failed"]
    a, b = lines["notes/a.txt"], lines["notes/b.txt"]
    assert a["external_id"] == "a" and a["error"] is None
    assert any(code.startswith("K35") for code in _codes(a))  # the appendicitis
    CodingResult.model_validate(b["result"])
    # Each failure says where and what, and carries no result.
    empty, future = lines["notes/c.txt"], lines["notes/d.json"]
    assert empty["result"] is None and empty["error"].startswith("notes/c.txt: ")
    assert "empty" in empty["error"]
    assert future["result"] is None and future["error"].startswith("notes/d.json: ")
    assert "FY2040" in future["error"] and "does not hold" in future["error"]
    assert "coded 2, failed 2, skipped 0 already done" in result.stdout
    assert "charts/s" in result.stdout
    assert "2 of 4 charts failed" in result.stderr and str(out) in result.stderr


def test_rerun_resumes_after_an_interruption(run: Invoke, tmp_path: Path) -> None:
    notes, out = _notes(tmp_path), tmp_path / "results.jsonl"
    assert run("code", str(notes), "--out", str(out)).exit_code == 1
    first, second = out.read_text().splitlines()[:2]
    # A killed run: a.txt written, b.txt half written; c.txt fixed since.
    out.write_text(first + "\n" + second[: len(second) // 2])
    (notes / "c.txt").write_text(PNEUMONIA)
    result = run("code", str(notes), "--out", str(out))
    assert result.exit_code == 1, result.output  # d.json still fails
    assert "coded 2, failed 1, skipped 1 already done" in result.stdout
    lines = _by_source(out)
    assert set(lines) == {"notes/a.txt", "notes/b.txt", "notes/c.txt", "notes/d.json"}
    assert out.read_text().splitlines()[0] == first  # the coded chart is kept, not redone
    assert [lines[s]["status"] for s in ("notes/b.txt", "notes/c.txt")] == ["coded", "coded"]
    # Once d.json is gone, nothing is left to do and nothing failed.
    (notes / "d.json").unlink()
    coded = [line for line in out.read_text().splitlines() if '"notes/d.json"' not in line]
    result = run("code", str(notes), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "coded 0, failed 0, skipped 3 already done" in result.stdout
    assert out.read_text().splitlines() == coded  # the failed line is dropped, not redone


def test_jsonl_and_bundle_batches(run: Invoke, tmp_path: Path) -> None:
    charts = tmp_path / "charts.jsonl"
    body = {"text": PNEUMONIA, "external_id": "E-2", "meta": {"setting": "outpatient"}}
    charts.write_text(
        json.dumps({"text": APPENDICITIS, "external_id": "E-1"})
        + "\n\n{not json\n"
        + json.dumps(body)
        + "\n"
    )
    out = tmp_path / "out.jsonl"
    result = run("code", str(charts), "--out", str(out))
    assert result.exit_code == 1, result.output
    lines = _by_source(out)
    assert [line["external_id"] for line in lines.values()] == ["E-1", None, "E-2"]
    assert lines["charts.jsonl line 3"]["status"] == "failed"
    assert "not valid JSON" in lines["charts.jsonl line 3"]["error"]
    # The outpatient's uncertain pneumonia is not coded (it is for an inpatient).
    assert "J18.9" not in _codes(lines["charts.jsonl line 4"])

    bundle = tmp_path / "bundle.json"
    entries = [_docref(PNEUMONIA, "2025-11-15"), {"resourceType": "Patient", "id": "p"}]
    bundle.write_text(
        json.dumps(
            {"resourceType": "Bundle", "type": "batch", "entry": [{"resource": r} for r in entries]}
        )
    )
    out = tmp_path / "bundle-out.jsonl"
    result = run("code", str(bundle), "--out", str(out))
    assert result.exit_code == 1, result.output
    coded, patient = _lines(out)
    assert (coded["source"], coded["status"]) == ("bundle.json entry 1", "coded")
    assert coded["external_id"] == "DOC-2025-11-15"
    assert coded["result"]["fiscal_year"] == 2026  # discharged 2025-11-15: FY2026
    assert patient["error"].startswith("bundle.json entry 2: a Patient, not a chart")


class _FlakyAgent:
    """The real agent, except for charts holding `marker`: `error` is raised for them."""

    def __init__(self, agent: Any, marker: str, error: BaseException) -> None:
        self.agent, self.proposer = agent, agent.proposer
        self.marker, self.error = marker, error

    def code(self, chart: Chart, *args: Any, **kwargs: Any) -> CodingResult:
        if self.marker in chart.text:
            raise self.error
        return self.agent.code(chart, *args, **kwargs)


def _flaky(monkeypatch: pytest.MonkeyPatch, marker: str, error: BaseException) -> None:
    import wiring.adapters

    real = wiring.adapters.make_agent
    built: list[Any] = []

    def make_agent(settings: Any, proposer: str | None = None) -> Any:
        built.append(_FlakyAgent(real(settings, proposer), marker, error))
        return built[-1]

    monkeypatch.setattr(wiring.adapters, "make_agent", make_agent)


def test_a_proposer_error_fails_that_chart_only(
    run: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a.txt").write_text(APPENDICITIS)
    (notes / "b.txt").write_text("MARKER\n" + PNEUMONIA)
    _flaky(monkeypatch, "MARKER", ProposerError("the model timed out"))
    out = tmp_path / "r.jsonl"
    result = run("code", str(notes), "--out", str(out))
    assert result.exit_code == 1
    a, b = _lines(out)
    assert a["status"] == "coded" and b["status"] == "failed"
    assert b["error"].startswith("notes/b.txt: the offline proposer failed: the model timed out")


def test_ctrl_c_stops_cleanly_and_the_rerun_resumes(
    run: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a.txt").write_text(APPENDICITIS)
    (notes / "b.txt").write_text("MARKER\n" + PNEUMONIA)
    (notes / "c.txt").write_text(PNEUMONIA)
    out = tmp_path / "r.jsonl"
    with monkeypatch.context() as patch:
        _flaky(patch, "MARKER", KeyboardInterrupt())
        result = run("code", str(notes), "--out", str(out))
    assert result.exit_code == 130
    assert "interrupted" in result.stderr and "same command again" in result.stderr
    assert [line["source"] for line in _lines(out)] == ["notes/a.txt"]
    result = run("code", str(notes), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "coded 2, failed 0, skipped 1 already done" in result.stdout
    assert [line["status"] for line in _lines(out)] == ["coded"] * 3


def test_usage_errors(run: Invoke, tmp_path: Path) -> None:
    notes = _notes(tmp_path)
    result = run("code", str(notes))
    assert result.exit_code == 2 and "add --out" in result.stderr
    result = run("code", str(notes), "--out", str(tmp_path / "r.jsonl"), "--age", "0")
    assert result.exit_code == 2 and "--age" in result.stderr
    result = run("code", "-", "--out", str(tmp_path / "r.jsonl"), stdin=PNEUMONIA)
    assert result.exit_code == 2 and "stdin" in result.stderr
    # A file that is not batch results is never rewritten.
    precious = tmp_path / "precious.txt"
    precious.write_text("line one\nline two")
    result = run("code", str(notes), "--out", str(precious))
    assert result.exit_code == 2 and "not a batch result line" in result.stderr
    assert precious.read_text() == "line one\nline two"
    assert not (tmp_path / "r.jsonl").exists()


def test_a_single_fhir_note_is_still_one_chart(run: Invoke, tmp_path: Path) -> None:
    note = tmp_path / "note.json"
    note.write_text(json.dumps(_docref(APPENDICITIS, "2025-11-15")))
    result = run("code", str(note), "--json")
    assert result.exit_code == 0, result.output
    assert any(
        code.startswith("K35")
        for code in {p["code"] for p in json.loads(result.stdout)["proposals"]}
    )
