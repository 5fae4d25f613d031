"""The audit trail's hash chain: each row stores the hash of the row before it (`prev_hash`)
and its own hash (`row_hash`) over that and its fields, so a row changed, removed or slipped
in by someone with rights on the database shows up when the chain is walked again."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, cast

from sqlalchemy import RowMapping, Table, select
from sqlalchemy.orm import Session

from review.tables import AuditRow

GENESIS = "0" * 64  # what the first row chains from
FIELDS = (
    "id",
    "at",
    "actor",
    "role",
    "action",
    "chart_id",
    "proposal_id",
    "before",
    "after",
    "reason",
    "request_id",
    "model",
    "prompt_version",
    "kb_release",
    "fiscal_year",
)
PAGE = 1000
# A row's columns by name: the values about to be inserted, or a row read back.
Fields = Mapping[str, Any] | RowMapping

Problem = Literal["altered", "link", "unchained"]
PROBLEMS: dict[Problem, str] = {
    "altered": "row altered: its stored hash does not match its content",
    "link": "link broken: its prev_hash is not the hash of the row before it "
    "(a row was deleted or inserted before it)",
    "unchained": "row not chained: it has no stored hash (written around the application)",
}


def _utc_iso(at: datetime) -> str:
    # SQLite gives back a naive UTC time, PostgreSQL one in the session's zone: both are
    # the same instant written out in UTC to the microsecond (what both columns keep).
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return at.isoformat(timespec="microseconds")


def canonical(fields: Fields) -> str:
    """The row's fields as one JSON text: sorted keys, no spaces, so equal rows hash equal."""
    values = {name: fields[name] for name in FIELDS}
    values["at"] = _utc_iso(values["at"])
    for name in ("before", "after"):
        # As the JSON column gives it back (integer keys turn into strings, tuples into
        # lists), so the hash written matches the hash recomputed from the stored row.
        values[name] = json.loads(json.dumps(values[name]))
    return json.dumps(values, sort_keys=True, separators=(",", ":"))


def chain_hash(prev_hash: str, fields: Fields) -> str:
    """sha256 of the previous row's hash followed by this row's canonical form (hex)."""
    return hashlib.sha256((prev_hash + canonical(fields)).encode()).hexdigest()


@dataclass(frozen=True)
class BrokenRow:
    id: int
    action: str
    chart_id: int | None
    at: datetime
    problem: Problem

    @property
    def description(self) -> str:
        return PROBLEMS[self.problem]


@dataclass(frozen=True)
class ChainReport:
    rows_checked: int  # up to and including the broken row, if any
    head: str  # the hash of the last intact row: keep it elsewhere to detect a cut-off tail
    broken: BrokenRow | None = None

    @property
    def intact(self) -> bool:
        return self.broken is None


def _problem(row: Fields, expected_prev: str) -> Problem | None:
    if row["prev_hash"] is None or row["row_hash"] is None:
        return "unchained"
    if row["prev_hash"] != expected_prev:
        return "link"
    if row["row_hash"] != chain_hash(row["prev_hash"], row):
        return "altered"
    return None


def verify_chain(session: Session, *, page: int = PAGE) -> ChainReport:
    """Walk every audit row in id order, a page at a time, and stop at the first whose link
    or hash is wrong. Run it in one read transaction so that it sees one state."""
    table = cast(Table, AuditRow.__table__)
    expected, checked, last_id = GENESIS, 0, 0
    while True:
        query = select(table).where(table.c.id > last_id).order_by(table.c.id).limit(page)
        rows = [row._mapping for row in session.execute(query)]
        if not rows:
            return ChainReport(rows_checked=checked, head=expected)
        for row in rows:
            checked += 1
            problem = _problem(row, expected)
            if problem is not None:
                broken = BrokenRow(row["id"], row["action"], row["chart_id"], row["at"], problem)
                return ChainReport(rows_checked=checked, head=expected, broken=broken)
            expected, last_id = row["row_hash"], row["id"]
