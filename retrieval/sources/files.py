"""Reading source files with errors that name the file and line."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
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


def tsv_lines(path: Path, header: Sequence[str]) -> Iterator[tuple[int, str]]:
    """(1-based line number, line) for each non-blank row after an exact tab-separated
    header; a missing or different header raises a SourceError at line 1."""
    lines = read_text_lines(path)
    if not lines or lines[0].rstrip("\r\n").split("\t") != list(header):
        found = lines[0].rstrip("\r\n").replace("\t", " | ") if lines else "an empty file"
        message = f"expected header {' | '.join(header)!r}, found {found!r}"
        raise SourceError(path, message, line=1)
    for number, raw in enumerate(lines[1:], start=2):
        line = raw.rstrip("\r\n")
        if line.strip():
            yield number, line
