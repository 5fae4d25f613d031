"""The CodiEsp corpus (CLEF eHealth 2020): English text_files_en with D and P gold codes."""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass, field
from pathlib import Path

from agent.models import ChartMeta, System
from evals.suite import Case, GoldCode, Suite, SuiteError
from retrieval.text import with_dot

# The fiscal year CodiEsp is scored in.
CODIESP_YEAR = 2026

__all__ = ["CodiEspDoc", "SuiteError", "codiesp_suite", "load_codiesp"]


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


def load_codiesp(
    split_dir: Path, limit: int | None = None, only: set[str] | None = None
) -> list[CodiEspDoc]:
    """Documents of one split (train, dev, test) with normalised, de-duplicated gold codes
    (the first `limit` by id, or the ids in `only`)."""
    split = split_dir.name
    texts = split_dir / "text_files_en"
    if not texts.is_dir():
        raise SuiteError(f"{split_dir}: no text_files_en/ folder (is this a CodiEsp split?)")
    diagnoses = _read_gold(split_dir / f"{split}D.tsv")
    procedures = _read_gold(split_dir / f"{split}P.tsv")
    docs = []
    for doc_id in sorted(set(diagnoses) | set(procedures)):
        if only is not None and doc_id not in only:
            continue
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


def sample_ids(split_dir: Path, size: int, seed: int) -> set[str]:
    """`size` document ids drawn with `seed` from the sorted ids of a split (all when fewer):
    the same ids on every machine, so a sample can stand in CI without storing any id."""
    split = split_dir.name
    ids = sorted(
        set(_read_gold(split_dir / f"{split}D.tsv")) | set(_read_gold(split_dir / f"{split}P.tsv"))
    )
    return set(ids) if size >= len(ids) else set(random.Random(seed).sample(ids, size))


def codiesp_suite(
    split_dir: Path,
    systems: tuple[System, ...],
    limit: int | None = None,
    seed: int = 2026,
    name: str | None = None,
) -> Suite:
    """A CodiEsp split as a suite scoring `systems` (("cm",) for D, ("pcs",) for P); gold
    carries both kinds so one run can be scored either way. `limit` draws a seeded sample."""
    only = sample_ids(split_dir, limit, seed) if limit is not None else None
    cases = [
        Case(
            case_id=doc.doc_id,
            text=doc.text,
            # case reports read like admissions; the annotators coded "possible" findings too
            meta=ChartMeta(setting="inpatient"),
            gold=[GoldCode(code=c, system="cm") for c in doc.diagnoses]
            + [GoldCode(code=c, system="pcs") for c in doc.procedures],
        )
        for doc in load_codiesp(split_dir, only=only)
    ]
    label = "d" if systems == ("cm",) else "p" if systems == ("pcs",) else ""
    source = f"CodiEsp {split_dir.name} split ({split_dir}), English text"
    if limit is not None:
        source += f", {len(cases)} documents sampled with seed {seed}"
    return Suite(
        name=name or f"codiesp-{label}".rstrip("-"),
        source=source,
        cases=cases,
        systems=systems,
        policy="mentions",  # its annotators coded every concept mentioned, negated ones too
        # 2020 annotations, undated case reports: scored against FY2026 (the carried-forward
        # gold maps its codes into that year's code set).
        year=CODIESP_YEAR,
    )
