"""What every CLI command shares: settings, one-line errors, consoles.

Imported by every command module before a command runs (even for --help), so its top level
stays light: the agent's and the knowledge base's errors are imported where caught."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console

if TYPE_CHECKING:
    from wiring.settings import Settings

console = Console()
errors = Console(stderr=True)


def load_settings(data_dir: Path | None = None) -> Settings:
    from wiring.settings import Settings

    settings = Settings()
    if data_dir is not None:
        if not data_dir.is_dir():
            fail(f"--data-dir {data_dir}: not a directory")
        settings = settings.model_copy(update={"data_dir": data_dir})
    return settings


def fail(message: str, code: int = 1) -> NoReturn:
    errors.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the knowledge base's own errors, and an LLM that could not answer, into one line
    on stderr and exit code 1."""
    from agent.proposers.base import ProposerError
    from retrieval.errors import KnowledgeBaseError

    try:
        yield
    except KnowledgeBaseError as error:
        fail(str(error))
    except ProposerError as error:  # its message says what failed, never chart text
        fail(str(error))
