"""Reading source files with errors that name the file and line."""

from __future__ import annotations

from pathlib import Path

from retrieval.errors import SourceError


def read_text_lines(path: Path) -> list[str]:
    """The lines of a UTF-8 text file (a BOM is dropped); unreadable input -> SourceError."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise SourceError(path, "file not found") from None
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise SourceError(path, "not UTF-8 text", line=line) from exc
    except OSError as exc:
        raise SourceError(path, f"cannot read file: {exc.strerror or exc}") from exc
    return text.splitlines()
