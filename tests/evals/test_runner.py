"""The runner: run directory contents, resuming an interrupted run, several workers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.rundir import CASES_FILE, RUN_FILE, RunError, load_run
from evals.runner import run_suite
from evals.suite import Case, GoldCode, Suite
from tests.evals.fakes import FakeAgent, Stop


def suite(n: int = 6, name: str = "fake") -> Suite:
    cases = [
        Case(
            case_id=f"case-{i}",
            text=f"Chart {i}. codes: I10 {'E11.9' if i % 2 else 'J18.9'}",
            gold=[GoldCode(code="I10", system="cm"), GoldCode(code="E11.9", system="cm")],
        )
        for i in range(n)
    ]
    return Suite(name=name, source="made up", cases=cases, systems=("cm",))


def test_run_writes_run_json_and_one_line_per_case(tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    summary = run_suite(
        suite(), FakeAgent(), tmp_path / "run", progress=lambda d, t: seen.append((d, t))
    )
    assert summary.status == "finished" and (summary.done, summary.total) == (6, 6)
    assert seen[0] == (0, 6) and seen[-1] == (6, 6)
    info = json.loads((tmp_path / "run" / RUN_FILE).read_text())
    assert info["suite"] == "fake" and info["status"] == "finished" and info["kb_release"]
    assert info["started"] and info["finished"] and info["systems"] == ["cm"]
    lines = (tmp_path / "run" / CASES_FILE).read_text().splitlines()
    first = json.loads(lines[0])
    assert len(lines) == 6 and first["id"] == "case-0"
    assert [p["code"] for p in first["predicted"]] == ["I10", "J18.9"]
    assert first["predicted"][0]["confidence"] == 0.9 and first["usage"]["prompt_tokens"] == 100
    assert first["gold"][0] == {
        "code": "I10",
        "system": "cm",
        "valid": True,
        "carried": "I10",
        "evidence": [],
    }
    assert first["spans_valid"] == first["spans"] == 2 and first["citations_resolved"] == 2
    # every chart proposes I10; odd charts also E11.9: 9 right of 12 proposed, of 12 gold
    assert summary.metrics["precision"] == 0.75 and summary.metrics["recall"] == 0.75
    assert summary.metrics["invalid_code_rate"] == 0.0


def test_interrupted_run_resumes_without_recoding_finished_cases(tmp_path: Path) -> None:
    out = tmp_path / "run"
    broken = FakeAgent(fail_on=4)
    with pytest.raises(Stop):
        run_suite(suite(), broken, out)
    info = json.loads((out / RUN_FILE).read_text())
    assert info["status"] == "interrupted" and "stopped at chart case-3" in info["error"]
    assert [r.id for r in load_run(out).records] == ["case-0", "case-1", "case-2"]

    fresh = FakeAgent()
    summary = run_suite(suite(), fresh, out)
    assert fresh.calls == ["case-3", "case-4", "case-5"]  # finished cases were not recoded
    assert (summary.status, summary.done, summary.resumed) == ("finished", 6, 3)
    assert sorted(r.id for r in load_run(out).records) == [f"case-{i}" for i in range(6)]
    assert json.loads((out / RUN_FILE).read_text())["status"] == "finished"


def test_a_line_cut_short_is_dropped_and_its_case_run_again(tmp_path: Path) -> None:
    out = tmp_path / "run"
    run_suite(suite(3), FakeAgent(), out)
    cases = out / CASES_FILE
    lines = cases.read_text().splitlines(keepends=True)
    cases.write_text(lines[0] + lines[1] + lines[2][:40])  # died while writing the third
    again = FakeAgent()
    summary = run_suite(suite(3), again, out)
    assert again.calls == ["case-2"] and summary.done == 3
    assert len(cases.read_text().splitlines()) == 3


def test_several_workers_record_every_case(tmp_path: Path) -> None:
    summary = run_suite(suite(10), FakeAgent(), tmp_path / "run", workers=4)
    records = load_run(tmp_path / "run").records
    assert summary.done == 10 and sorted(r.id for r in records) == sorted(
        f"case-{i}" for i in range(10)
    )


def test_several_workers_keep_finished_cases_when_one_fails(tmp_path: Path) -> None:
    with pytest.raises(Stop):
        run_suite(suite(10), FakeAgent(fail_on=5), tmp_path / "run", workers=2)
    done = {r.id for r in load_run(tmp_path / "run").records}
    assert 4 <= len(done) <= 9
    again = FakeAgent()
    run_suite(suite(10), again, tmp_path / "run", workers=2)
    assert not done & set(again.calls) and len(done) + len(again.calls) == 10


def test_a_directory_of_another_suite_is_refused(tmp_path: Path) -> None:
    run_suite(suite(2), FakeAgent(), tmp_path / "run")
    with pytest.raises(RunError, match="holds a run of suite 'fake'"):
        run_suite(suite(2, name="other"), FakeAgent(), tmp_path / "run")


def test_info_is_recorded(tmp_path: Path) -> None:
    run_suite(
        suite(1),
        FakeAgent(),
        tmp_path / "run",
        info={"proposer": "fake", "settings": {"history": False}},
    )
    info = json.loads((tmp_path / "run" / RUN_FILE).read_text())
    assert info["proposer"] == "fake" and info["settings"] == {"history": False}
