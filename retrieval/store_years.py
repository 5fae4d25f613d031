"""The fiscal-year side of the store: which years it holds, a year's code rows (the base
year's `codes` overlaid with that year's differences), and what each year's addenda changed."""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from retrieval.errors import UnknownYearError
from retrieval.records import CodeChange, CodeRecord
from retrieval.sources.tabular import CM_FISCAL_YEAR

CODE_COLUMNS = "code, system, title, billable, kind, parent, chapter, inclusion_terms"


def _change(row: sqlite3.Row) -> CodeChange:
    return CodeChange(
        year=row["year"],
        system=row["system"],
        code=row["code"],
        action=row["action"],
        title=row["title"],
        former_title=row["former_title"],
        replaced_by=tuple(json.loads(row["replaced_by"])),
        heading=bool(row["heading"]),
        implied=bool(row["implied"]),
    )


class FiscalYearQueries:
    """Mixed into `KnowledgeStore`, which provides the connection, `meta` and `get`."""

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        raise NotImplementedError

    def meta(self) -> dict[str, Any]:
        raise NotImplementedError

    def get(
        self, code: str, system: str | None = None, year: int | None = None
    ) -> CodeRecord | None:
        raise NotImplementedError

    @functools.cached_property
    def _fiscal_years(self) -> dict[str, Any]:
        """{"base": year the `codes` table holds, "years": every year held}; a KB built
        before fiscal years were added holds its base year alone."""
        meta = self.meta().get("fiscal_years")
        return meta or {"base": CM_FISCAL_YEAR, "years": [CM_FISCAL_YEAR]}

    def years(self) -> list[int]:
        """The fiscal years this KB holds, oldest first."""
        return list(self._fiscal_years["years"])

    @property
    def base_year(self) -> int:
        return int(self._fiscal_years["base"])

    # The year a view from `KnowledgeStore.for_year` answers for when none is asked.
    bound_year: int | None = None

    @property
    def year(self) -> int:
        """The fiscal year this store answers for when no year is asked: its bound year,
        else the base year."""
        return self.bound_year if self.bound_year is not None else self.base_year

    @property
    def newest_year(self) -> int:
        return max(self.years())

    def check_year(self, year: int) -> int:
        """`year`, if this KB holds it; else UnknownYearError naming the years it holds."""
        if year not in self._fiscal_years["years"]:
            raise UnknownYearError(year, self.years())
        return year

    def _overlay_year(self, year: int | None) -> int | None:
        """The year whose overlay rows apply, None for the base year; no year asked is the
        bound year of a view (the base year of the store itself)."""
        year = self.bound_year if year is None else year
        if year is None or year == self.base_year:
            return None
        return self.check_year(year)

    def _code_select(
        self, where: str, params: Sequence[Any], year: int | None
    ) -> tuple[str, list[Any]]:
        """SQL (and its parameters) for the code rows matching `where`, a condition on the
        code columns, in fiscal year `year`: the base rows without an overlay row that year,
        then the year's present overlay rows."""
        overlay = self._overlay_year(year)
        if overlay is None:
            return f"SELECT * FROM codes WHERE {where}", list(params)
        sql = (
            f"SELECT {CODE_COLUMNS} FROM codes c WHERE {where} AND NOT EXISTS "
            "(SELECT 1 FROM code_overlay o WHERE o.year = ? AND o.code = c.code "
            "AND o.system = c.system) "
            f"UNION ALL SELECT {CODE_COLUMNS} FROM code_overlay WHERE {where} "
            "AND year = ? AND present"
        )
        return sql, [*params, overlay, *params, overlay]

    def _code_rows(
        self,
        where: str,
        params: Sequence[Any],
        year: int | None,
        tail: str = "",
        tail_params: Sequence[Any] = (),
    ) -> list[sqlite3.Row]:
        sql, values = self._code_select(where, params, year)
        return self._rows(f"{sql} {tail}", [*values, *tail_params])

    def code_change(self, code: str, system: str, year: int) -> CodeChange | None:
        """What fiscal `year`'s addenda did to `code` (None: unchanged that year)."""
        if not self._has_overlay:
            return None
        rows = self._rows(
            "SELECT * FROM code_changes WHERE year = ? AND system = ? AND code = ?",
            (year, system, code),
        )
        return _change(rows[0]) if rows else None

    def changes(self, from_year: int, to_year: int) -> list[CodeChange]:
        """Every change of the years after `from_year` up to `to_year`, by year then code."""
        for year in (from_year, to_year):
            self._overlay_year(year)  # raises for a year the KB does not hold
        if not self._has_overlay:
            return []
        rows = self._rows(
            "SELECT * FROM code_changes WHERE year > ? AND year <= ? ORDER BY year, system, code",
            (from_year, to_year),
        )
        return [_change(r) for r in rows]

    def years_of(self, code: str, system: str | None = None) -> list[int]:
        """The fiscal years (of those held) in which `code` is a code."""
        return [year for year in self.years() if self.get(code, system, year) is not None]

    def why_absent(self, code: str, year: int, system: str | None = None) -> str | None:
        """Why `code` is not a code in fiscal `year` although another year held has it
        ("it was added in FY2027", "I42.0 deleted in FY2027: ..."); None otherwise."""
        present = self.years_of(code, system)
        if not present or year in present:
            return None
        record = self.get(code, system, present[0])
        assert record is not None
        later = [y for y in present if y > year]
        if later:
            added = self.code_change(code, record.system, later[0])
            title = f" ({added.title})" if added else ""
            return f"it does not exist until FY{later[0]}, when it was added{title}"
        deleted_in = min(y for y in self.years() if y > present[-1])
        change = self.code_change(code, record.system, deleted_in)
        return change.describe() if change else f"it was deleted in FY{deleted_in}"

    def year_counts(self, year: int | None = None) -> dict[str, int]:
        """Codes, billable CM codes and PCS codes of one fiscal year's code set."""

        def one(where: str) -> int:
            sql, params = self._code_select(where, (), year)
            return int(self._rows(f"SELECT count(*) FROM ({sql})", params)[0][0])

        return {
            "cm_codes": one("system = 'cm'"),
            "cm_billable": one("system = 'cm' AND billable"),
            "pcs_codes": one("kind = 'pcs_code'"),
        }

    def code_rows(self, where: str, year: int | None = None) -> list[sqlite3.Row]:
        """Raw code rows (the `codes` columns) of fiscal `year` matching the SQL condition
        `where`: for the index builders, which read every code of a year."""
        return self._code_rows(where, (), year)

    def absent_codes(self, year: int | None) -> set[str]:
        """Codes of the base year that fiscal `year` no longer has."""
        overlay = self._overlay_year(year)
        if overlay is None:
            return set()
        rows = self._rows(
            "SELECT code FROM code_overlay WHERE year = ? AND NOT present", (overlay,)
        )
        return {r["code"] for r in rows}

    @functools.cached_property
    def _has_overlay(self) -> bool:
        return bool(self._rows("SELECT 1 FROM sqlite_master WHERE name = 'code_overlay'"))
