"""`medcoder --help` and every command start fast: the CLI's modules import no heavy library
at their top level (the agent, the knowledge base, the database and the LLM client are
imported by the command that uses them)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from api.cli.eval import SUITE_NAMES_HELP

HEAVY = ("chromadb", "langchain_openai", "matplotlib", "sqlalchemy", "onnxruntime")
# The command modules this rule covers one by one (api.cli.main registers them all).
COMMAND_MODULES = (
    "api.cli.audit",
    "api.cli.cdi",
    "api.cli.chat",
    "api.cli.common",
    "api.cli.db",
    "api.cli.drg",
    "api.cli.eval",
    "api.cli.learn",
    "api.cli.render",
    "api.cli.serve",
    "api.cli.users",
    "api.cli.worker",
)


def _heavy_after_import(module: str) -> list[str]:
    """The heavy libraries in sys.modules after a fresh interpreter imports `module`."""
    script = (
        f"import json, sys; import {module}; "
        f"print(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    return list(json.loads(done.stdout))


def test_the_cli_imports_no_heavy_library() -> None:
    assert _heavy_after_import("api.cli.main") == []


@pytest.mark.parametrize("module", COMMAND_MODULES)
def test_a_command_module_imports_no_heavy_library(module: str) -> None:
    assert _heavy_after_import(module) == []


def test_the_suite_names_in_the_help_are_the_suites() -> None:
    from evals.suites import SUITE_NAMES

    assert SUITE_NAMES_HELP == SUITE_NAMES
