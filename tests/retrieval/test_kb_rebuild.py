"""A failed, wrong-input or killed build leaves the current knowledge base serving."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli.main import app
from retrieval.build import BuildReport, build_knowledge_base
from retrieval.discover import discover_sources
from retrieval.embeddings import HashingEmbedder
from retrieval.errors import KnowledgeBaseError, SourceError
from retrieval.layout import KBLayout
from wiring.adapters import make_embedder, make_searcher
from wiring.settings import Settings


def _data_dir_with(tmp_path: Path, name: str, content: bytes) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    (data / name).write_bytes(content)
    return data


def _assert_still_serving(settings: Settings, version: str) -> None:
    layout = KBLayout(settings.home)
    assert layout.current().name == version
    assert make_searcher(settings).lookup("E11.22").billable


def test_truncated_source_fails_and_keeps_current(
    built_kb: BuildReport, kb_settings: Settings, shared_data: Path, tmp_path: Path
) -> None:
    real = (shared_data / "icd10cm-2025" / "icd-10-cm-neoplasm-2025.xml").read_bytes()
    data = _data_dir_with(tmp_path, "icd-10-cm-neoplasm-2025.xml", real[: len(real) // 3])
    versions_before = set(KBLayout(kb_settings.home).versions.iterdir())
    with pytest.raises(SourceError) as error:
        build_knowledge_base(kb_settings.home, discover_sources(data), make_embedder(kb_settings))
    assert "icd-10-cm-neoplasm-2025.xml:" in str(error.value) and error.value.line
    _assert_still_serving(kb_settings, built_kb.version_dir.name)
    assert set(KBLayout(kb_settings.home).versions.iterdir()) == versions_before


def test_wrong_file_is_named_in_a_one_line_cli_error(
    built_kb: BuildReport,
    kb_settings: Settings,
    shared_data: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    drug = (shared_data / "icd10cm-2025" / "icd-10-cm-drug-2025.xml").read_bytes()
    data = _data_dir_with(tmp_path, "icd-10-cm-neoplasm-2025.xml", drug)
    monkeypatch.setenv("MEDCODER_HOME", str(kb_settings.home))
    monkeypatch.setenv("MEDCODER_DATA_DIR", str(shared_data))  # for the embedding model
    result = CliRunner().invoke(app, ["kb", "build", "--data-dir", str(data)])
    assert result.exit_code == 1
    # Off a terminal the build's progress comes first, as plain lines; the error is the last.
    *progress, message = result.stderr.strip().splitlines()
    assert all(line.startswith("[") for line in progress)
    assert progress[-1].endswith(" s") and "stopped after" in progress[-1]
    assert message.startswith("error:") and "icd-10-cm-neoplasm-2025.xml" in message
    assert "Drugs" in message
    _assert_still_serving(kb_settings, built_kb.version_dir.name)


def test_killed_build_keeps_current_and_is_cleaned_up_later(
    built_kb: BuildReport, kb_settings: Settings, shared_data: Path, tmp_path: Path
) -> None:
    env = {**os.environ, "MEDCODER_HOME": str(kb_settings.home)}
    build = subprocess.Popen(
        [sys.executable, "-m", "api.cli.main", "kb", "build", "--data-dir", str(shared_data)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    layout = KBLayout(kb_settings.home)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait until it is writing a new version
        if any(not (p / "manifest.json").exists() for p in layout.versions.iterdir()):
            break
        time.sleep(0.2)
    time.sleep(2)
    build.send_signal(signal.SIGKILL)
    build.wait()
    _assert_still_serving(kb_settings, built_kb.version_dir.name)
    abandoned = [p for p in layout.versions.iterdir() if not (p / "manifest.json").exists()]
    assert abandoned, "the killed build left its partial version behind"
    layout.prune()
    assert all((p / "manifest.json").exists() for p in layout.versions.iterdir())
    _assert_still_serving(kb_settings, built_kb.version_dir.name)


def test_concurrent_build_is_refused(tmp_path: Path) -> None:
    layout = KBLayout(tmp_path)
    layout.root.mkdir(parents=True)
    with layout.lock_file.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(KnowledgeBaseError, match="another build is running"):
            build_knowledge_base(tmp_path, discover_sources(None), HashingEmbedder())
