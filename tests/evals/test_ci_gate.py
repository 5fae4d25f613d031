"""The CI gate: the offline agent, with history learned and the ranker trained on CodiEsp train
by `medcoder learn`, must not fall below what it measures today on the rules suite, a fixed
25-document CodiEsp dev sample and the whole CodiEsp dev split.

Thresholds sit a little under the values measured on this machine with the same training
(the numbers in the comments). Raise them when the agent gets better."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.codeset import default_billable
from agent.pipeline import CodingAgent
from agent.rules import excludes1_with
from evals.rundir import load_run
from evals.runner import run_suite
from evals.scoring import score_run
from evals.suites import load_suite
from wiring.adapters import load_ranker, make_agent
from wiring.settings import Settings


@pytest.fixture(scope="module")
def agent(trained_settings: Settings) -> CodingAgent:
    assert load_ranker(trained_settings) is not None, "medcoder learn saved no ranker"
    return make_agent(trained_settings, "offline")


def test_rules_suite(agent: CodingAgent, tmp_path: Path) -> None:
    metrics = run_suite(load_suite("rules"), agent, tmp_path / "rules").metrics
    assert metrics["invalid_code_rate"] == 0
    assert metrics["span_validity"] == 1.0 and metrics["citation_validity"] == 1.0
    assert metrics["f1"] >= 0.83  # measured 0.862 (P 0.925, R 0.807; 103 cases, 336 gold)
    assert metrics["map"] >= 0.80  # measured 0.836
    assert metrics["principal_accuracy"] >= 0.88  # measured 0.93 (0.91 with another seed)
    assert metrics["must_not_proposed"] <= 0.05  # measured 0.025 of the codes that must not be


def test_codiesp_dev_sample(agent: CodingAgent, shared_data: Path, tmp_path: Path) -> None:
    # 25 documents drawn in code (random.Random(2026).sample of the sorted ids), so no CodiEsp
    # id or text is stored here; `medcoder eval run codiesp --limit 25` runs the same ones.
    suite = load_suite("codiesp", data=shared_data / "codiesp" / "dev", limit=25, seed=2026)
    assert len(suite.cases) == 25 and suite.policy == "mentions"
    summary = run_suite(suite, agent, tmp_path / "codiesp")
    records = load_run(summary.run_dir).records
    diagnoses, procedures = score_run(records, ("cm",)), score_run(records, ("pcs",))
    assert summary.metrics["invalid_code_rate"] == 0
    assert summary.metrics["citation_validity"] == 1.0
    assert diagnoses["f1"] >= 0.55  # measured 0.586 (P 0.691, R 0.508)
    assert diagnoses["ranked_map"] >= 0.465  # measured 0.495 (MAP over the proposals 0.431)
    assert diagnoses["valid_subset"]["f1"] >= 0.58  # measured 0.617
    assert diagnoses["calibration"]["expected_calibration_error"] <= 0.07  # measured 0.038
    # 25 charts hold few procedure codes, and the ranker CI trains on its own fresh build
    # (approximate vector search) moves this by several points: measured 0.327-0.391.
    assert procedures["valid_subset"]["f1"] >= 0.30


def test_whole_codiesp_dev_has_no_conflicting_codes(
    agent: CodingAgent, shared_data: Path, tmp_path: Path
) -> None:
    """Over every dev chart coded for a claim, no proposal set holds a category's unspecified
    code (its default, what the index gives with no detail: I25.9, I50.9, N18.9) beside
    another code of that category, nor two codes an Excludes1 note keeps apart."""
    store = agent.searcher.store
    suite = load_suite("codiesp", data=shared_data / "codiesp" / "dev")
    summary = run_suite(suite, agent, tmp_path / "dev", policy="claims")
    records = load_run(summary.run_dir).records
    assert len(records) == 250
    problems = []
    for record in records:
        codes = [p.code for p in record.predicted if p.system == "cm"]
        notes = {code: store.notes_with_inherited(code) for code in codes}
        for code in codes:
            default = default_billable(store, code[:3])
            others = [c for c in codes if c != code and c[:3] == code[:3]]
            if default is None or "unspecified" not in default.title.lower():
                continue
            if default.code == code and others:
                problems.append(f"{record.id}: {code} beside {others}")
        for i, first in enumerate(codes):
            for second in codes[i + 1 :]:
                if excludes1_with(first, second, notes) is not None:
                    problems.append(f"{record.id}: Excludes1 {first} + {second}")
    assert not problems, problems[:20]
    assert summary.metrics["invalid_code_rate"] == 0
    diagnoses = score_run(records, ("cm",))
    assert diagnoses["f1"] >= 0.40  # measured 0.423 under claims (0.556 under mentions)


def test_rules_gold_codes_are_billable_fy2026_codes(agent: CodingAgent) -> None:
    store = agent.searcher.store
    assert "FY2026" in agent.kb_release
    for case in load_suite("rules").cases:
        for gold in case.gold:
            record = store.get(gold.code, gold.system)
            assert record is not None and record.billable, f"{case.case_id}: {gold.code}"
