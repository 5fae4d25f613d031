"""Find the optional code-set source files in a data directory (`--data-dir`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from pathlib import Path

from retrieval.sources.addenda import addenda_identity

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
# The yearly CMS addenda to the code files (icd10cm_codes_addenda_2027.txt): every year found
# is kept, each year's code set being the previous one's with its addenda applied.
ADDENDA_PATTERN = r"icd-?10-?(cm|pcs).*addenda.*20\d\d\.txt$"


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
    addenda: list[Path] = field(default_factory=list)

    def found(self) -> dict[str, Path]:
        """Each source present by name; an addenda file as `cm_addenda_2027`."""
        present = {
            f.name: p
            for f in fields(self)
            if f.name != "addenda" and (p := getattr(self, f.name)) is not None
        }
        for system, year, path in self.addenda_files():
            present[f"{system}_addenda_{year}"] = path
        return present

    def addenda_files(self) -> list[tuple[str, int, Path]]:
        """(system, fiscal year, path) of each addenda file, by year then system."""
        found = []
        for path in self.addenda:
            identity = addenda_identity(path)
            if identity is not None:
                found.append((identity[0], identity[1], path))
        return sorted(found)

    def missing(self) -> list[str]:
        absent = [f.name for f in fields(self) if getattr(self, f.name) in (None, [])]
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
        addenda = re.compile(ADDENDA_PATTERN, re.IGNORECASE)
        # One file per code system and year (the first in path order if a year is repeated).
        chosen: dict[tuple[str, int], Path] = {}
        for path in files:
            identity = addenda_identity(path) if addenda.search(path.name) else None
            if identity is not None:
                chosen.setdefault(identity, path)
        sources.addenda = list(chosen.values())
    if cm_guidelines is not None:
        sources.cm_guidelines = cm_guidelines
    return sources
