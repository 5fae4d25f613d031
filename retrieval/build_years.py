"""The fiscal-year steps of a build: which years, their addenda applied, each source's year.

The base year is the one the tabular package and the PCS tables give (FY2026); each later
year is the year before it plus that year's CMS addenda, so a year can be built only when
every year between it and the base is.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from retrieval.discover import SourceFiles
from retrieval.errors import KnowledgeBaseError
from retrieval.fiscal_years import apply_addenda
from retrieval.sources.addenda import parse_addenda
from retrieval.sources.tabular import CM_FISCAL_YEAR
from retrieval.store import KnowledgeStore
from retrieval.store_writer import KnowledgeStoreWriter

BASE_YEAR = CM_FISCAL_YEAR
# Which code set each source serves ("both": the MCE lists hold CM and PCS codes).
SERVES = {
    "cm_tabular": "cm",
    "cm_index_xml": "cm",
    "cm_index_csv": "cm",
    "eindex": "cm",
    "neoplasm": "cm",
    "drug": "cm",
    "cm_guidelines": "cm",
    "pcs_tables": "pcs",
    "pcs_definitions": "pcs",
    "pcs_index": "pcs",
    "pcs_guidelines": "pcs",
    "mce": "both",
}
# MCE versions follow the fiscal year: v37 is FY2020.
_MCE_VERSION = re.compile(r"v(\d{2})(?!\d)", re.IGNORECASE)
_MCE_YEAR_OFFSET = 1983


def plan_years(sources: SourceFiles, wanted: Sequence[int] | None) -> dict[int, list[Path]]:
    """Fiscal year -> its addenda files (none for the base year), oldest first: every year
    the data has when `wanted` is None."""
    by_year: dict[int, list[Path]] = {}
    for _, year, path in sources.addenda_files():
        by_year.setdefault(year, []).append(path)
    if wanted is None:
        chosen = [BASE_YEAR]
        while chosen[-1] + 1 in by_year:
            chosen.append(chosen[-1] + 1)
    else:
        chosen = sorted(set(wanted))
        if BASE_YEAR not in chosen:
            raise KnowledgeBaseError(
                f"FY{BASE_YEAR} is the base code set every other year is built on; "
                f"include it in the years (asked: {', '.join(map(str, chosen))})"
            )
        for year in chosen:
            if year < BASE_YEAR:
                raise KnowledgeBaseError(
                    f"FY{year} is older than the base code set FY{BASE_YEAR}; "
                    "earlier years cannot be built"
                )
            if year > BASE_YEAR and year not in by_year:
                raise KnowledgeBaseError(f"no FY{year} addenda in the data dir, so no FY{year}")
            if year > BASE_YEAR and year - 1 not in chosen:
                raise KnowledgeBaseError(
                    f"FY{year} is FY{year - 1} plus its addenda; include FY{year - 1} too"
                )
    return {year: ([] if year == BASE_YEAR else by_year[year]) for year in chosen}


def add_fiscal_years(
    store_path: Path, plan: dict[int, list[Path]], progress: Callable[[str], None]
) -> dict[str, Any]:
    """Apply each later year's addenda to the store already holding the base year; returns
    what each year's addenda stated and what was applied (for the manifest). `progress` is
    told the name of each year's step as it starts."""
    held = [BASE_YEAR]
    report: dict[str, Any] = {str(BASE_YEAR): {"built_from": "base code sets"}}
    for year, files in plan.items():
        if year == BASE_YEAR:
            continue
        progress(f"apply FY{year} addenda")
        addenda = [parse_addenda(path) for path in files]
        store = KnowledgeStore(store_path)
        try:
            delta = apply_addenda(store, year - 1, year, addenda)
        finally:
            store.close()
        writer = KnowledgeStoreWriter(store_path, create=False)
        try:
            writer.add_fiscal_year(year, year - 1, delta.records, delta.changes, delta.phrases)
            held.append(year)
            writer.set_meta({"fiscal_years": {"base": BASE_YEAR, "years": held}})
        except BaseException:
            writer.abort()
            raise
        writer.close()
        applied: dict[str, dict[str, int]] = {}
        for change in delta.changes:
            counts = applied.setdefault(change.system, {})
            name = "headings" if change.heading else "implied" if change.implied else ""
            key = name or change.action
            counts[key] = counts.get(key, 0) + 1
        report[str(year)] = {
            "built_from": f"FY{year - 1} + addenda",
            "addenda": {
                a.system: {
                    "file": str(a.path.resolve()),
                    "lines": a.counts(),
                    "stated": dataclasses.asdict(a.summary) if a.summary else None,
                }
                for a in addenda
            },
            "applied": applied,
            "unapplied": delta.unapplied,
        }
    store = KnowledgeStore(store_path)
    try:
        for year in held:
            report[str(year)]["counts"] = store.year_counts(year)
    finally:
        store.close()
    return report


def source_year(name: str, path: Path | None, version: str | None) -> int | None:
    """The fiscal year a source file is of: its XML <version>, else its name (FY2025 index
    CSV, v37 MCE lists: FY2020)."""
    if version and version.isdigit():
        return int(version)
    if name == "cm_tabular":
        return BASE_YEAR
    if path is None:
        return None
    if name == "mce" and (match := _MCE_VERSION.search(path.name)):
        return int(match.group(1)) + _MCE_YEAR_OFFSET
    years = re.findall(r"(20\d\d)", path.name)
    return int(years[-1]) if years else None


def source_warnings(described: dict[str, dict[str, Any]], years: Sequence[int]) -> list[str]:
    """A line for every source older than a code set it serves."""
    warnings = []
    for name, source in described.items():
        own = source.get("year")
        if name not in SERVES or own is None:
            continue
        newer = [year for year in years if year > own]
        if name in ("cm_tabular", "pcs_tables"):
            # The base code sets are brought up to a later year by that year's addenda.
            system = SERVES[name]
            newer = [year for year in newer if f"{system}_addenda_{year}" not in described]
        if newer:
            served = {"cm": "ICD-10-CM", "pcs": "ICD-10-PCS", "both": "ICD-10-CM/PCS"}
            warnings.append(
                f"{name} is FY{own}, older than the {served[SERVES[name]]} "
                f"{', '.join(f'FY{y}' for y in newer)} code set{'s' if len(newer) > 1 else ''} "
                "it serves"
            )
    return warnings
