"""Find the optional code-set source files in a data directory (`--data-dir`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from pathlib import Path

# File-name patterns of the official CMS downloads (and the flattened index CSV); when a
# folder holds several years, the newest year in the name wins.
PATTERNS: dict[str, str] = {
    "cm_index_xml": r"icd-?10-?cm[-_]index[-_]\d{4}\.xml$",
    "cm_index_csv": r"icd10cm[-_]\d{4}[-_]index\.csv$",
    "eindex": r"icd-?10-?cm[-_]eindex[-_]\d{4}\.xml$",
    "neoplasm": r"icd-?10-?cm[-_]neoplasm[-_]\d{4}\.xml$",
    "drug": r"icd-?10-?cm[-_]drug[-_]\d{4}\.xml$",
    "pcs_tables": r"icd10pcs[-_]tables[-_]\d{4}\.xml$",
    "pcs_definitions": r"icd10pcs[-_]definitions[-_]\d{4}\.xml$",
    "pcs_index": r"icd10pcs[-_]index[-_]\d{4}\.xml$",
    "pcs_guidelines": r"pcs[-_]guidelines.*\.tsv$",
    "cm_guidelines": r"(icd-?10-?cm.*guidelines|guidelines.*icd-?10-?cm).*\.(pdf|txt)$",
    "mce": r"mce.*code[-_]edits.*\.txt$",
}


@dataclass
class SourceFiles:
    """Paths of the optional sources found; the tabular always comes from the package."""

    cm_index_xml: Path | None = None
    cm_index_csv: Path | None = None
    eindex: Path | None = None
    neoplasm: Path | None = None
    drug: Path | None = None
    pcs_tables: Path | None = None
    pcs_definitions: Path | None = None
    pcs_index: Path | None = None
    pcs_guidelines: Path | None = None
    cm_guidelines: Path | None = None
    mce: Path | None = None

    def found(self) -> dict[str, Path]:
        return {f.name: p for f in fields(self) if (p := getattr(self, f.name)) is not None}

    def missing(self) -> list[str]:
        absent = [f.name for f in fields(self) if getattr(self, f.name) is None]
        # Either form of the main index is enough.
        if self.cm_index_xml or self.cm_index_csv:
            absent = [name for name in absent if not name.startswith("cm_index")]
        return absent


def _year(path: Path) -> int:
    years = re.findall(r"(20\d\d)", path.name)
    return int(years[-1]) if years else 0


def discover_sources(data_dir: Path | None, cm_guidelines: Path | None = None) -> SourceFiles:
    """Match files under `data_dir` (recursively) to the sources the KB can load."""
    sources = SourceFiles()
    if data_dir is not None:
        files = sorted(p for p in data_dir.rglob("*") if p.is_file())
        for name, pattern in PATTERNS.items():
            regex = re.compile(pattern, re.IGNORECASE)
            matches = [p for p in files if regex.search(p.name)]
            if matches:
                setattr(sources, name, max(matches, key=_year))
    if cm_guidelines is not None:
        sources.cm_guidelines = cm_guidelines
    return sources
