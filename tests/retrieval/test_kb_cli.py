"""The `medcoder kb` commands against the session's knowledge base."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from api.cli.kb import no_hits_advice
from api.cli.main import app
from retrieval.build import BuildReport
from wiring.settings import Settings

Invoke = Callable[..., Result]


@pytest.fixture
def run(built_kb: BuildReport, kb_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    monkeypatch.setenv("MEDCODER_HOME", str(kb_settings.home))
    monkeypatch.delenv("MEDCODER_DATA_DIR", raising=False)
    runner = CliRunner()

    def invoke(*args: str, stdin: str | None = None) -> Result:
        return runner.invoke(app, list(args), input=stdin)

    return invoke


def test_info_reports_release_sources_and_counts(run: Invoke) -> None:
    result = run("kb", "info", "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert "ICD-10-CM FY2026" in info["release"] and "ICD-10-PCS FY2026" in info["release"]
    counts = info["counts"]
    assert counts["cm_billable"] == 74_719
    assert counts["pcs_codes"] == 79_115
    assert counts["cm_index_entries"] == 81_024
    assert counts["neoplasm_rows"] > 1_000 and counts["drug_rows"] > 5_000
    assert counts["pcs_guideline_sections"] > 50
    assert all(len(s["sha256"]) == 64 for n, s in info["sources"].items() if n != "cm_tabular")
    assert info["embedder"].startswith("onnx:")


def test_code_shows_own_and_inherited_notes(run: Invoke) -> None:
    result = run("kb", "code", "E11.22", "--json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["title"] == "Type 2 diabetes mellitus with diabetic chronic kidney disease"
    assert record["billable"] is True
    own = [n for n in record["notes"] if not n["inherited"]]
    assert any(n["kind"] == "use_additional_code" and "N18" in n["text"] for n in own)
    inherited = [n for n in record["notes"] if n["inherited"]]
    assert any(n["kind"] == "excludes1" and n["defined_at"] == "E11" for n in inherited)
    assert record["index_entries"], "index lines pointing at E11.22 are listed"


def test_code_table_output_for_people(run: Invoke) -> None:
    result = run("kb", "code", "e11.22")
    assert result.exit_code == 0
    assert "use_additional_code" in result.stdout and "inherited from E11" in result.stdout


def test_unknown_code_exits_1_with_nearest(run: Invoke) -> None:
    result = run("kb", "code", "E11.99")
    assert result.exit_code == 1
    assert "E11.99 is not a code" in result.stderr and "nearest valid codes: E11." in result.stderr


def test_malformed_code_is_a_one_line_error(run: Invoke) -> None:
    result = run("kb", "code", "E11.2$")
    assert result.exit_code == 1
    assert "not a well-formed" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_search_json(run: Invoke) -> None:
    result = run("kb", "search", "acute appendicitis", "-k", "5", "--system", "cm", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["query"] == "acute appendicitis"
    assert len(payload["hits"]) == 5
    assert set(payload["hits"][0]) >= {"code", "title", "score", "source"}


def test_search_by_the_agent(run: Invoke) -> None:
    result = run("kb", "search", "laparoscopic appendectomy", "--by", "agent", "--json", "-k", "3")
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)["hits"]
    assert hits[0]["code"] == "0DTJ4ZZ" and all(hit["billable"] for hit in hits)


def test_search_jsonl_reads_stdin_and_reports_bad_lines(run: Invoke) -> None:
    result = run("kb", "search", "--jsonl", "-k", "3", stdin="chest pain\n\nfractured femur\n")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["query"] for line in lines] == ["chest pain", "", "fractured femur"]
    assert len(lines[0]["hits"]) == 3 and len(lines[2]["hits"]) == 3
    assert lines[1]["line"] == 2 and "empty" in lines[1]["error"]
    assert result.exit_code == 1


def test_empty_query_is_refused(run: Invoke) -> None:
    result = run("kb", "search", "   ")
    assert result.exit_code == 1 and "empty" in result.stderr


def test_search_with_no_result_says_so_and_what_to_try(run: Invoke) -> None:
    # No PCS text has these words, and --billable leaves out the PCS body-part groups that
    # the vector search would find.
    result = run("kb", "search", "zzqxv wibblefrob", "--system", "pcs", "--billable")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert 'No result for "zzqxv wibblefrob" (ICD-10-PCS, billable codes only)' in out
    assert "without --billable" in out
    assert "--system cm, or no --system" in out
    assert 'fewer words, e.g. "wibblefrob"' in out
    assert 'medcoder kb index "Zzqxv" --index pcs' in out
    assert "┏" not in out, "no empty table"
    # JSON stays what a program expects: the query and no hits.
    found = run("kb", "search", "zzqxv wibblefrob", "--system", "pcs", "--billable", "--json")
    assert json.loads(found.stdout) == {"query": "zzqxv wibblefrob", "hits": []}


def test_no_hits_advice_fits_the_filters_used() -> None:
    plain = no_hits_advice("zzqxv", None, False, None, "search")
    assert plain[0] == 'No result for "zzqxv" (both code sets). Try:'
    assert not any("--billable" in line or "--system" in line for line in plain)
    assert any("another word" in line for line in plain)
    dated = no_hits_advice("zzqxv", "cm", False, 2027, "agent")
    assert "(ICD-10-CM, FY2027)" in dated[0]
    assert any("without --year" in line for line in dated)
    assert any("--system pcs" in line for line in dated)
    assert any("--by search" in line for line in dated)


def test_index_navigation_command(run: Invoke) -> None:
    result = run("kb", "index", "Pain", "abdominal", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)[0]["code"] == "R10.9"


def test_no_knowledge_base_yet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDCODER_HOME", str(tmp_path))
    result = CliRunner().invoke(app, ["kb", "info"])
    assert result.exit_code == 1 and "run `medcoder kb build` first" in result.stderr
