"""Errors the knowledge base raises, phrased for the person who supplied the input."""

from __future__ import annotations

from pathlib import Path


class KnowledgeBaseError(Exception):
    """Base class for every error the knowledge base reports to a user."""


class SourceError(KnowledgeBaseError):
    """A source file is missing, corrupt, truncated or not the file it claims to be."""

    def __init__(self, path: Path | str, message: str, line: int | None = None) -> None:
        self.path = Path(path)
        self.line = line
        self.message = message
        where = f"{self.path}:{line}" if line is not None else str(self.path)
        super().__init__(f"{where}: {message}")


class QueryError(KnowledgeBaseError):
    """A search query or code lookup that cannot be answered as given."""


class UnknownCodeError(KnowledgeBaseError):
    """A well-formed code that is not in the loaded code set."""

    def __init__(self, code: str, nearest: list[str]) -> None:
        self.code = code
        self.nearest = nearest
        hint = f"; nearest valid codes: {', '.join(nearest)}" if nearest else ""
        super().__init__(f"{code} is not a code in the loaded knowledge base{hint}")


class NoKnowledgeBaseError(KnowledgeBaseError):
    """No knowledge base has been built under MEDCODER_HOME yet."""


class UnknownYearError(QueryError):
    """A fiscal year the knowledge base does not hold."""

    def __init__(self, year: int, held: list[int]) -> None:
        self.year = year
        self.held = held
        years = ", ".join(f"FY{y}" for y in held)
        super().__init__(f"FY{year} is not in this knowledge base (it holds {years})")


class CodeNotInYearError(UnknownCodeError):
    """A code that exists in another fiscal year of the knowledge base, not in the one asked."""

    def __init__(self, code: str, year: int, reason: str, nearest: list[str]) -> None:
        self.code = code
        self.year = year
        self.reason = reason
        self.nearest = nearest
        KnowledgeBaseError.__init__(self, f"{code} is not a code in FY{year}: {reason}")
