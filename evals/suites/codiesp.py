"""The CodiEsp corpus (CLEF eHealth 2020): English text_files_en with D and P gold codes."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from retrieval.text import with_dot


class SuiteError(ValueError):
    """A suite file that cannot be read as given; names the file and line."""


@dataclass
class CodiEspDoc:
    doc_id: str
    text: str
    diagnoses: list[str] = field(default_factory=list)
    procedures: list[str] = field(default_factory=list)


def normalise_cm(code: str) -> str:
    return with_dot(code)


def normalise_pcs(code: str) -> str:
    return code.strip().upper()


def _read_gold(path: Path) -> dict[str, list[str]]:
    gold: dict[str, list[str]] = {}
    if not path.is_file():
        raise SuiteError(f"{path}: gold file not found")
    with path.open(encoding="utf-8") as handle:
        for number, row in enumerate(csv.reader(handle, delimiter="\t"), start=1):
            if not row:
                continue
            if len(row) < 2 or not row[0].strip() or not row[1].strip():
                raise SuiteError(f"{path}:{number}: expected 'document id<TAB>code'")
            gold.setdefault(row[0].strip(), []).append(row[1].strip())
    return gold


def load_codiesp(split_dir: Path, limit: int | None = None) -> list[CodiEspDoc]:
    """Documents of one split (train, dev, test) with normalised, de-duplicated gold codes."""
    split = split_dir.name
    texts = split_dir / "text_files_en"
    if not texts.is_dir():
        raise SuiteError(f"{split_dir}: no text_files_en/ folder (is this a CodiEsp split?)")
    diagnoses = _read_gold(split_dir / f"{split}D.tsv")
    procedures = _read_gold(split_dir / f"{split}P.tsv")
    docs = []
    for doc_id in sorted(set(diagnoses) | set(procedures)):
        path = texts / f"{doc_id}.txt"
        if not path.is_file():
            raise SuiteError(f"{path}: text file missing for CodiEsp document {doc_id}")
        docs.append(
            CodiEspDoc(
                doc_id=doc_id,
                text=path.read_text(encoding="utf-8"),
                diagnoses=list(dict.fromkeys(normalise_cm(c) for c in diagnoses.get(doc_id, []))),
                procedures=list(
                    dict.fromkeys(normalise_pcs(c) for c in procedures.get(doc_id, []))
                ),
            )
        )
        if limit is not None and len(docs) >= limit:
            break
    return docs
