"""`run`: the `medcoder` CLI in-process against the session's knowledge base, offline."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from api.cli.main import app
from retrieval.build import BuildReport
from wiring.settings import Settings

Invoke = Callable[..., Result]


@pytest.fixture
def run(
    built_kb: BuildReport, kb_settings: Settings, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> Invoke:
    """Invoke `medcoder ARGS...` (optionally with `stdin=`) with MEDCODER_HOME on the built
    KB, the reference data, and no LLM configured."""
    monkeypatch.setenv("MEDCODER_HOME", str(kb_settings.home))
    monkeypatch.setenv("MEDCODER_DATA_DIR", str(shared_data))
    for name in ("MEDCODER_LLM_BASE_URL", "MEDCODER_LLM_MODEL", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()

    def invoke(*args: str, stdin: bytes | str | None = None) -> Result:
        return runner.invoke(app, list(args), input=stdin)

    return invoke
