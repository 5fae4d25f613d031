"""`medcoder code` end to end: output shape, bad input, the LLM path and its fallback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_fixtures import Invoke
from tests.llm_server import ScriptedLlmServer

CHARTS = Path(__file__).parent / "charts"


def test_json_output_has_the_documented_shape(run: Invoke) -> None:
    result = run("code", str(CHARTS / "appendicitis_diabetes.txt"), "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert set(payload) >= {"proposals", "dropped", "kb_release", "proposer", "timings_ms", "usage"}
    assert payload["proposer"] == "offline" and "FY2026" in payload["kb_release"]
    first = payload["proposals"][0]
    assert set(first) >= {
        "code",
        "system",
        "title",
        "sequence",
        "confidence",
        "evidence",
        "citations",
        "rationale",
        "warnings",
        "proposer",
        "kb_release",
    }


def test_stdin_and_table_output(run: Invoke) -> None:
    text = (CHARTS / "probable_pneumonia.txt").read_text()
    result = run("code", "-", "--setting", "outpatient", stdin=text)
    assert result.exit_code == 0, result.output
    assert "R05.9" in result.stdout
    # The uncertain pneumonia is not proposed for an outpatient; it is listed as dropped,
    # with the guideline that drops it.
    assert "IV.H" in result.stdout
    payload = json.loads(run("code", "-", "--setting", "outpatient", "--json", stdin=text).stdout)
    assert "J18.9" not in {p["code"] for p in payload["proposals"]}
    assert any(d["code"] == "J18.9" and "IV.H" in d["reason"] for d in payload["dropped"])


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        (b"   \n\t ", [], "empty"),
        (b"\xff\xfe\x00\x00binary", [], ""),
        (b"Pneumonia.\n", ["--age", "-3"], "--age"),
        (b'{"resourceType": "DocumentReference", "status": 12}', [], "invalid FHIR"),
    ],
)
def test_bad_input_is_a_clear_error(
    run: Invoke, tmp_path: Path, content: bytes, args: list[str], message: str
) -> None:
    chart = tmp_path / "chart.json"
    chart.write_bytes(content)
    result = run("code", str(chart), *args)
    assert result.exit_code != 0
    assert result.stderr.startswith("error:") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_oversized_chart_is_refused(
    run: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEDCODER_MAX_CHART_BYTES", "100")
    chart = tmp_path / "long.txt"
    chart.write_text("Acute appendicitis. " * 20)
    result = run("code", str(chart))
    assert result.exit_code == 1 and "100" in result.stderr


def test_unknown_sex_and_setting_are_refused(run: Invoke) -> None:
    chart = str(CHARTS / "probable_pneumonia.txt")
    assert run("code", chart, "--sex", "X").exit_code == 2
    assert run("code", chart, "--setting", "emergency").exit_code == 2


@pytest.fixture
def with_llm(
    llm_server: ScriptedLlmServer, tiktoken_ready: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Configure the LLM proposer to talk to the scripted server."""
    monkeypatch.setenv("MEDCODER_LLM_BASE_URL", llm_server.base_url)
    monkeypatch.setenv("MEDCODER_LLM_MODEL", "scripted-model")


def test_llm_answer_is_validated_and_invented_codes_dropped(
    run: Invoke,
    llm_server: ScriptedLlmServer,
    with_llm: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = (CHARTS / "appendicitis_diabetes.txt").read_text()
    start = text.index("Acute appendicitis")
    llm_server.enqueue_json(
        {
            "codes": [
                {
                    "code": "K35.80",
                    "evidence": [
                        {"quote": "Acute appendicitis", "start": start, "end": start + 18}
                    ],
                    "rationale": "documented",
                    "confidence": 0.9,
                    "principal": True,
                },
                {
                    "code": "K99.12",
                    "evidence": [
                        {"quote": "Acute appendicitis", "start": start, "end": start + 18}
                    ],
                    "confidence": 0.8,
                },
            ]
        }
    )
    result = run("code", str(CHARTS / "appendicitis_diabetes.txt"), "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["proposer"] == "llm"
    assert [p["code"] for p in payload["proposals"]] == ["K35.80"]
    assert payload["proposals"][0]["model"] == "scripted-model"
    assert payload["proposals"][0]["prompt_version"]
    assert any(d["code"] == "K99.12" for d in payload["dropped"])
    assert payload["usage"]["model_calls"] == 1 and len(llm_server.requests) == 1


def test_llm_down_falls_back_to_offline(
    run: Invoke,
    llm_server: ScriptedLlmServer,
    with_llm: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MEDCODER_LLM_MAX_RETRIES", "0")
    llm_server.enqueue("not json at all")
    llm_server.enqueue("still not json")
    result = run("code", str(CHARTS / "appendicitis_diabetes.txt"), "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["proposer"] == "offline"
    assert "K35.80" in [p["code"] for p in payload["proposals"]]
    assert any("fell back to offline" in d["reason"] for d in payload["dropped"])


def test_llm_down_fails_clearly_when_fallback_is_off(
    run: Invoke,
    llm_server: ScriptedLlmServer,
    with_llm: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MEDCODER_LLM_MAX_RETRIES", "0")
    monkeypatch.setenv("MEDCODER_LLM_FALLBACK", "fail")
    llm_server.enqueue("garbage", status=500)
    result = run("code", str(CHARTS / "appendicitis_diabetes.txt"), "--json")
    assert result.exit_code == 1
    assert "llm proposer failed" in result.stderr
    assert result.stdout == ""


def test_cdi_lists_the_gap_with_its_query(run: Invoke, tmp_path: Path) -> None:
    chart = tmp_path / "hf.txt"
    chart.write_text(
        "74M admitted with dyspnea and orthopnea. BNP 2,350. Echo: EF 30%.\n"
        "Treated with IV furosemide.\nAssessment: heart failure.\n"
    )
    result = run("cdi", str(chart), "--age", "74", "--sex", "M", "--json")
    assert result.exit_code == 0, result.output
    (gap,) = json.loads(result.stdout)
    assert gap["kind"] == "heart_failure_type" and gap["code"] == "I50.9"
    assert gap["compliance_problems"] == [] and "EF 30%" in {i["quote"] for i in gap["indicators"]}
    missing = run("cdi", str(tmp_path / "absent.txt"))
    assert missing.exit_code != 0


def test_drg_of_a_chart_groups_what_the_agent_proposes(run: Invoke, tmp_path: Path) -> None:
    chart = tmp_path / "pneumonia.txt"
    chart.write_text(
        "Discharge Summary\nAdmitted with community-acquired pneumonia, right lower lobe.\n"
        "Also acute kidney injury, creatinine 2.4 from 1.0, improved with fluids.\n"
        "Discharge diagnoses: pneumonia; acute kidney injury.\n"
    )
    args = ("drg", str(chart), "--age", "70", "--sex", "F", "--discharged", "2026-06-30")
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    grouped = json.loads(result.stdout)
    # Simple pneumonia (193-195) with the acute kidney injury, a CC: 194.
    assert grouped["drg"] == 194 and grouped["version"] == 431
    assert {c["code"]: c["severity"] for c in grouped["codes"]}["N17.9"] == "CC"
    both = run("drg", str(chart), "--pdx", "J18.9")
    assert both.exit_code == 1 and "not both" in both.output
