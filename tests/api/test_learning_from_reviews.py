"""Committed review decisions become training labels: what `review.learning` reads from the
database (SQLite and PostgreSQL), and `medcoder learn --reviews` training on it."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from api.cli.learn import builtin_case_files
from review.db import make_engine, sessions, transaction
from review.learning import reviewed_charts
from tests.api.client import Api
from tests.cli_fixtures import Invoke, run  # noqa: F401  (fixture)
from wiring.settings import Settings

CHART = (Path(__file__).parents[1] / "agent" / "charts" / "appendicitis_diabetes.txt").read_text()


def _by_code(proposals: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {p["code"]: p for p in proposals}


def _review_one(api: Api) -> tuple[int, list[str], set[str]]:
    """Code CHART, accept K35.80, modify E11.22 to E11.21, reject the other diagnoses, accept
    the procedures, add Z79.84 and commit; the chart id, the committed codes and the rejected."""
    proposals = _by_code(api.coded_chart(CHART, setting="inpatient", age=58, sex="F"))
    chart_id = next(iter(proposals.values()))["chart_id"]
    rejected = set()
    for code, proposal in proposals.items():
        if code == "E11.22":
            body = {"action": "modify", "code": "E11.21", "reason": "more_specific_code"}
        elif code == "K35.80" or proposal["system"] == "pcs":
            body = {"action": "accept"}
        else:
            body = {"action": "reject", "reason": "not_documented"}
            rejected.add(code)
        assert api.decide(proposal, **body).status_code == 200
    start = CHART.index("Type 2 diabetes mellitus")
    added = api.post(
        f"/charts/{chart_id}/codes",
        json={"code": "Z79.84", "evidence": [{"start": start, "end": start + 24}]},
    )
    assert added.status_code == 201, added.text
    committed = api.post(f"/charts/{chart_id}/commit", json={})
    assert committed.status_code == 201, committed.text
    return chart_id, [c["code"] for c in committed.json()["codes"]], rejected


def test_committed_decisions_are_the_labels(api: Api, api_settings: Settings) -> None:
    chart_id, codes, rejected = _review_one(api)
    assert "E11.21" in codes and "Z79.84" in codes and "E11.22" not in codes
    # Coded but never committed, and committed then reopened: neither is a label yet.
    api.coded_chart(CHART)
    reopened = api.coded_chart(CHART)
    for proposal in reopened:
        assert api.decide(proposal, action="accept").status_code == 200
    reopened_id = reopened[0]["chart_id"]
    assert api.post(f"/charts/{reopened_id}/commit").status_code == 201
    assert (
        api.post(f"/charts/{reopened_id}/reopen", json={"reason": "query sent"}).status_code == 200
    )

    engine = make_engine(api_settings.review_database_url)
    try:
        with transaction(sessions(engine)) as session:
            labels = reviewed_charts(session)
    finally:
        engine.dispose()
    assert [c.chart_id for c in labels.charts] == [chart_id]
    reviewed = labels.charts[0]
    assert list(reviewed.codes) == codes and reviewed.principal == "K35.80"
    assert set(reviewed.rejected) == rejected | {"E11.22"}
    assert reviewed.text == CHART
    assert reviewed.meta.setting == "inpatient" and reviewed.meta.age == 58
    assert labels.decisions["modified"] == 1 and labels.decisions["added"] == 1
    assert labels.decisions.get("rejected", 0) == len(rejected)


def _accept_and_commit(api: Api, text: str, **meta: Any) -> list[str]:
    """Code `text`, accept every proposal and commit; the committed codes."""
    proposals = api.coded_chart(text, **meta)
    for proposal in proposals:
        assert api.decide(proposal, action="accept").status_code == 200
    committed = api.post(f"/charts/{proposals[0]['chart_id']}/commit", json={})
    assert committed.status_code == 201, committed.text
    return [c["code"] for c in committed.json()["codes"]]


# Small coded charts to reach the ranker's minimum beside one reviewed chart; the test is of
# the plumbing (sources, counts, files), not of what is learned.
_PHRASES = [
    ("Assessment: essential hypertension, stable on lisinopril.", "I10"),
    ("Assessment: type 2 diabetes mellitus without complications.", "E11.9"),
    ("Assessment: acute cystitis without hematuria.", "N30.00"),
    ("Assessment: community-acquired pneumonia.", "J18.9"),
    ("Assessment: major depressive disorder, single episode.", "F32.9"),
]


def _cases_file(path: Path, count: int) -> Path:
    lines = []
    for i in range(count):
        text, code = _PHRASES[i % len(_PHRASES)]
        extra, extra_code = _PHRASES[(i + 2) % len(_PHRASES)]
        chart = f"Clinic note {i}.\n{text}\n{extra}\n"
        lines.append(json.dumps({"id": f"c{i}", "text": chart, "gold": [
            {"code": code, "system": "cm"}, {"code": extra_code, "system": "cm"}]}))  # fmt: skip
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_learn_from_reviews_and_cases(
    api: Api,
    api_settings: Settings,
    run: Invoke,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _review_one(api)
    # The same words committed in two fiscal years: each chart is learned in its own year's
    # code set (I42.0 was split into I42.00/.01/.09 in FY2027), so neither code is lost.
    cardiomyopathy = "Discharge diagnoses:\n1. Dilated cardiomyopathy.\n"
    fy2027 = _accept_and_commit(
        api, cardiomyopathy, setting="inpatient", discharge_date="2026-11-15"
    )
    fy2026 = _accept_and_commit(
        api, cardiomyopathy, setting="inpatient", discharge_date="2026-09-15"
    )
    assert "I42.00" in fy2027 and "I42.0" in fy2026
    home = tmp_path / "home"
    home.mkdir()
    (home / "kb").symlink_to((api_settings.home / "kb").resolve())
    monkeypatch.setenv("MEDCODER_HOME", str(home))
    monkeypatch.setenv("MEDCODER_DATABASE_URL", api_settings.review_database_url)

    nothing = run("learn", "--no-builtin-cases")
    assert nothing.exit_code == 1 and "nothing to learn from" in nothing.output
    too_few = run("learn", "--reviews", "--no-builtin-cases")
    assert too_few.exit_code == 1 and "only 3 coded charts" in too_few.output
    suite = Path(__file__).parents[2] / "evals" / "cases" / "rules.jsonl"
    refused = run("learn", "--cases", str(suite))
    assert refused.exit_code == 1 and "evaluation suite" in refused.output

    cases = _cases_file(tmp_path / "training.jsonl", 24)
    result = run("learn", "--reviews", "--cases", str(cases), "--json", "--folds", "3")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    builtin = {f"cases:{path.resolve()}" for path in builtin_case_files()}
    # medcoder's own training charts come in by default
    assert sum(report["sources"].pop(source) for source in builtin) >= 80
    assert report["sources"] == {f"cases:{cases.resolve()}": 24, "reviews": 3}
    assert Path(report["ranker_file"]).is_file()
    history = sqlite3.connect(home / "history.sqlite")
    sources = dict(history.execute("SELECT source, charts FROM sources"))
    reviewed = dict(
        history.execute("SELECT code, charts FROM code_charts WHERE source = 'reviews'")
    )
    history.close()
    assert set(sources) == builtin | {f"cases:{cases.resolve()}", "reviews"}
    assert sources["reviews"] == 3
    assert reviewed["I42.00"] == 1 and reviewed["I42.0"] == 1, reviewed
    assert report["associations"] > 0
