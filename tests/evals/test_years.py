"""Evaluations state their fiscal year: CodiEsp and the rules suite are scored in FY2026;
the addenda suite checks every CM code a later year adds or deletes, by the chart's date."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evals.runner import run_suite
from evals.suites import AddendaChecker, load_suite
from retrieval.search import HybridSearcher
from retrieval.sources.addenda import parse_addenda
from tests.cli_fixtures import Invoke
from tests.evals.fakes import FakeAgent
from tests.evals.test_runner import suite as fake_suite

CM_ADDENDA = "icd10cm-2027/icd10cm_codes_addenda_2027.txt"


def test_the_runner_codes_every_case_in_the_suites_year(tmp_path: Path) -> None:
    agent = FakeAgent()
    dated = fake_suite(3).model_copy(update={"year": 2026})
    run_suite(dated, agent, tmp_path / "run")
    assert agent.years == [2026, 2026, 2026]
    assert json.loads((tmp_path / "run" / "run.json").read_text())["fiscal_year"] == 2026
    by_date = FakeAgent()
    run_suite(fake_suite(2), by_date, tmp_path / "other")
    assert by_date.years == [None, None]
    assert json.loads((tmp_path / "other" / "run.json").read_text())["fiscal_year"] == "by date"


def test_named_suites_state_their_year(shared_data: Path, searcher: HybridSearcher) -> None:
    assert load_suite("rules").year == 2026
    codiesp = load_suite("codiesp-d", data=shared_data / "codiesp" / "dev", limit=3)
    assert codiesp.year == 2026
    assert load_suite("desc2code", store=searcher.store, limit=3).year == 2026
    assert load_suite("addenda", store=searcher.store).year is None


def test_the_addenda_suite_has_two_checks_per_added_or_deleted_code(
    searcher: HybridSearcher, shared_data: Path
) -> None:
    addenda = parse_addenda(shared_data / CM_ADDENDA)
    added = {c.code for c in addenda.changes if c.action == "add"}
    deleted = {c.code for c in addenda.changes if c.action == "delete"}
    suite = load_suite("addenda", store=searcher.store)
    ids = {case.case_id for case in suite.cases}
    assert len(suite.cases) == 2 * (len(added) + len(deleted)) == 2 * (190 + 30)
    for code in added:  # as the addenda parser writes it, with the dot
        assert {f"added:{code}:2026-11-15", f"added:{code}:2026-09-15"} <= ids
    assert {"deleted:I42.0:2026-09-15", "deleted:I42.0:2026-11-15"} <= ids
    assert len([c for c in suite.cases if c.case_id.startswith("deleted:")]) == 2 * len(deleted)


@pytest.fixture(scope="module")
def addenda_run(searcher: HybridSearcher, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("addenda") / "run"
    run_suite(load_suite("addenda", store=searcher.store), AddendaChecker(searcher), out)
    return out


def records(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run_dir / "cases.jsonl").read_text().splitlines()]


def test_every_change_is_searchable_and_valid_in_its_year_only(addenda_run: Path) -> None:
    metrics = json.loads((addenda_run / "metrics.json").read_text())
    assert metrics["recall"] == 1.0 and metrics["precision"] == 1.0
    assert metrics["must_not_proposed"] == 0.0
    assert metrics["gold_codes"] == 220
    info = json.loads((addenda_run / "run.json").read_text())
    assert info["suite"] == "addenda" and info["fiscal_year"] == "by date"


def test_a_code_of_the_other_year_is_refused_by_the_validation_gate(addenda_run: Path) -> None:
    found = {r["id"]: r for r in records(addenda_run)}
    refused = found["added:I49.81:2026-09-15"]
    assert refused["predicted"] == [] and refused["must_not"] == ["I49.81"]
    kept = found["added:I49.81:2026-11-15"]
    assert [p["code"] for p in kept["predicted"]] == ["I49.81"]
    assert found["deleted:I42.0:2026-11-15"]["predicted"] == []
    assert [p["code"] for p in found["deleted:I42.0:2026-09-15"]["predicted"]] == ["I42.0"]


def test_eval_run_addenda_from_the_cli(run: Invoke, tmp_path: Path) -> None:
    out = tmp_path / "addenda"
    result = run("eval", "run", "addenda", "--limit", "8", "--json", "--out", str(out))
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["suite"] == "addenda" and payload["cases"] == 8
    assert payload["must_not_proposed"] == 0.0 and payload["recall"] == 1.0
