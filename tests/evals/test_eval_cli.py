"""`medcoder eval` end to end with the real knowledge base (the LLM is a scripted local server)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_fixtures import Invoke
from tests.llm_server import ScriptedLlmServer


@pytest.fixture(scope="module")
def rules_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("eval") / "rules"


def test_run_rules_prints_one_json_object(run: Invoke, rules_run: Path) -> None:
    result = run("eval", "run", "rules", "--json", "--out", str(rules_run))
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["suite"] == "rules" and payload["status"] == "finished"
    assert payload["run_dir"] == str(rules_run) and payload["cases"] >= 20
    for key in (
        "precision",
        "recall",
        "f1",
        "macro_f1",
        "map",
        "category_f1",
        "citation_validity",
        "span_validity",
        "principal_accuracy",
        "cost_per_chart_usd",
    ):
        assert isinstance(payload[key], float), key
    assert payload["invalid_code_rate"] == 0.0
    assert set(payload["latency_ms"]) >= {"p50", "p95"} and "prompt" in payload["tokens_per_chart"]
    info = json.loads((rules_run / "run.json").read_text())
    assert info["proposer"] == "offline" and "FY2026" in info["kb_release"]
    assert info["settings"]["history"] in (True, False)
    # The rules suite is written for FY2026 and states it; every case is coded in that year.
    assert info["fiscal_year"] == 2026


def test_running_again_into_the_same_directory_continues(run: Invoke, rules_run: Path) -> None:
    lines = (rules_run / "cases.jsonl").read_text().splitlines()
    (rules_run / "cases.jsonl").write_text("\n".join(lines[:-2]) + "\n")
    result = run("eval", "run", "rules", "--json", "--out", str(rules_run))
    assert result.exit_code == 0, result.output
    assert len((rules_run / "cases.jsonl").read_text().splitlines()) == len(lines)
    assert json.loads((rules_run / "run.json").read_text())["resumed"] == len(lines) - 2


def test_report_and_compare(run: Invoke, rules_run: Path) -> None:
    result = run("eval", "report", str(rules_run), "--html")
    assert result.exit_code == 0, result.output
    assert "micro" not in result.stderr and (rules_run / "report.html").is_file()
    assert "data:image/png;base64," in (rules_run / "report.html").read_text()
    compared = run("eval", "compare", str(rules_run), str(rules_run), "--json")
    assert compared.exit_code == 0, compared.output
    payload = json.loads(compared.stdout)
    assert payload["metrics"]["f1"]["delta"] == 0.0 and payload["cases"]["losses"] == []
    table = run("eval", "compare", str(rules_run), str(rules_run))
    assert table.exit_code == 0 and "unchanged" in table.stdout


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["run", "nonsense"], 2, "unknown suite 'nonsense'"),
        (["run", "rules", "--limit", "0"], 2, "--limit"),
        (["run", "codiesp-d", "--data", "/no/such/split"], 1, "not a directory"),
        (["report", "/no/such/run"], 1, "not a run directory"),
        (["compare", "/no/such/a", "/no/such/b"], 1, "not a run directory"),
    ],
)
def test_bad_input_is_one_line(run: Invoke, args: list[str], code: int, message: str) -> None:
    result = run("eval", *args)
    assert result.exit_code == code
    assert result.stderr.startswith("error:") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_bad_suite_file_names_its_line(run: Invoke, tmp_path: Path) -> None:
    suite = tmp_path / "mine.jsonl"
    suite.write_text(
        '{"id": "a", "text": "Hypertension.", "gold": [{"code": "I10", "system": "cm"}]}\n{oops\n'
    )
    result = run("eval", "run", str(suite), "--out", str(tmp_path / "out"))
    assert result.exit_code == 1 and f"{suite}:2: bad JSON" in result.stderr


def test_llm_run_records_model_usage_and_cost(
    run: Invoke,
    llm_server: ScriptedLlmServer,
    tiktoken_ready: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MEDCODER_LLM_BASE_URL", llm_server.base_url)
    monkeypatch.setenv("MEDCODER_LLM_MODEL", "scripted-model")
    monkeypatch.setenv("MEDCODER_LLM_PRICE_INPUT_PER_1K", "0.01")
    text = "Assessment: acute appendicitis."
    start = text.index("acute appendicitis")
    suite = tmp_path / "two.jsonl"
    suite.write_text(
        "".join(
            json.dumps({"id": name, "text": text, "gold": [{"code": "K35.80", "system": "cm"}]})
            + "\n"
            for name in ("first", "second")
        )
    )
    evidence = {"quote": "acute appendicitis", "start": start, "end": start + 18}
    answer = {"codes": [{"code": "K35.80", "confidence": 0.9, "evidence": [evidence]}]}
    for _ in range(2):
        llm_server.enqueue_json(answer, usage={"prompt_tokens": 1000, "completion_tokens": 50})
    out = tmp_path / "run"
    result = run("eval", "run", str(suite), "--proposer", "llm", "--out", str(out), "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["f1"] == 1.0 and payload["tokens_per_chart"] == {
        "prompt": 1000.0,
        "completion": 50.0,
    }
    assert payload["cost_per_chart_usd"] == pytest.approx(0.01)
    info = json.loads((out / "run.json").read_text())
    assert info["proposer"] == "llm" and info["model"] == "scripted-model"
    assert info["workers"] == 4 and info["prompt_version"]
    assert info["settings"]["llm_base_url"] == llm_server.base_url
