"""Build a knowledge-base version into a new directory, then switch `current` to it.

A failed or interrupted build leaves the previous version serving: nothing is written to a
version directory that `current` points at, and the switch is a single rename.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import re
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from retrieval.build_years import add_fiscal_years, plan_years, source_warnings, source_year
from retrieval.discover import SourceFiles
from retrieval.documents import lexical_docs, vector_docs, year_vector_docs
from retrieval.embedding_cache import EmbeddingCache
from retrieval.embeddings import Embedder
from retrieval.errors import KnowledgeBaseError
from retrieval.layout import KBLayout, year_lexical_dir
from retrieval.lexical import LexicalIndex
from retrieval.sources import alphabetic_index, guidelines, mce, pcs, pcs_reference, tables, tabular
from retrieval.store import KnowledgeStore
from retrieval.store_writer import KnowledgeStoreWriter
from retrieval.vectors import VectorIndex

Progress = Callable[[str, int, int], None]
Writer = KnowledgeStoreWriter


@dataclass
class BuildReport:
    version_dir: Path
    counts: dict[str, int]
    sources: dict[str, dict[str, str]]
    skipped: list[str]
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)
    years: list[int] = field(default_factory=list)
    fiscal_years: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _xml_version(path: Path) -> str | None:
    with path.open("rb") as handle:
        head = handle.read(2048).decode("utf-8", "replace")
    match = re.search(r"<version>\s*(\d{4})\s*</version>", head)
    return match.group(1) if match else None


@contextmanager
def _build_lock(layout: KBLayout) -> Iterator[None]:
    layout.root.mkdir(parents=True, exist_ok=True)
    with layout.lock_file.open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise KnowledgeBaseError(f"another build is running in {layout.root}") from None
        yield


def _parse_steps(sources: SourceFiles) -> list[tuple[str, Callable[[KnowledgeStoreWriter], int]]]:
    """(name, step) for every source present, in the order a coder's references build up."""
    steps: list[tuple[str, Callable[[KnowledgeStoreWriter], int]]] = [
        ("ICD-10-CM tabular", lambda w: w.add_codes(tabular.parse_tabular())),
    ]

    def add(
        name: str, path: Path | None, step: Callable[[KnowledgeStoreWriter, Path], int]
    ) -> None:
        if path is not None:
            steps.append((name, lambda w: step(w, path)))

    # The official XML index wins over the flattened CSV when both are present.
    if sources.cm_index_xml:
        add(
            "Alphabetic Index",
            sources.cm_index_xml,
            lambda w, p: w.add_index_entries(alphabetic_index.parse_index_xml(p, "cm")),
        )
    else:
        add(
            "Alphabetic Index",
            sources.cm_index_csv,
            lambda w, p: w.add_index_entries(alphabetic_index.parse_index_csv(p, "cm")),
        )
    add(
        "External Cause index",
        sources.eindex,
        lambda w, p: w.add_index_entries(alphabetic_index.parse_index_xml(p, "eindex")),
    )
    add(
        "Table of Neoplasms",
        sources.neoplasm,
        lambda w, p: w.add_table_rows(tables.parse_table_xml(p, "neoplasm")),
    )
    add(
        "Table of Drugs",
        sources.drug,
        lambda w, p: w.add_table_rows(tables.parse_table_xml(p, "drug")),
    )
    add("ICD-10-PCS tables", sources.pcs_tables, lambda w, p: w.add_codes(pcs.parse_pcs_tables(p)))
    add(
        "PCS definitions",
        sources.pcs_definitions,
        lambda w, p: w.add_pcs_definitions(pcs_reference.parse_pcs_definitions(p)),
    )
    add(
        "PCS index",
        sources.pcs_index,
        lambda w, p: w.add_index_entries(pcs_reference.parse_pcs_index(p)),
    )
    add(
        "PCS guidelines",
        sources.pcs_guidelines,
        lambda w, p: w.add_guidelines(pcs_reference.parse_pcs_guidelines_tsv(p)),
    )
    add(
        "CM guidelines",
        sources.cm_guidelines,
        lambda w, p: w.add_guidelines(guidelines.parse_cm_guidelines(p)),
    )
    add("MCE code edits", sources.mce, lambda w, p: w.add_mce_edits(mce.parse_mce(p)))
    return steps


def _write_store(
    path: Path, sources: SourceFiles, progress: Progress, plan: dict[int, list[Path]]
) -> dict[str, Any]:
    """The base year from every source, then each later year from its addenda; returns the
    fiscal-year report."""
    writer = KnowledgeStoreWriter(path)
    try:
        # The release travels inside the store, so whoever cites this KB can name it.
        described = _source_manifest(sources, hashes=False)
        writer.set_meta(
            {
                "release": _release(described, list(plan)),
                "fiscal_years": {"base": min(plan), "years": [min(plan)]},
            }
        )
        steps = _parse_steps(sources)
        for number, (name, step) in enumerate(steps):
            progress(f"parse {name}", number, len(steps))
            step(writer)
        progress("parse sources", len(steps), len(steps))
    except BaseException:
        writer.abort()
        raise
    writer.close()
    return add_fiscal_years(path, plan, lambda step: progress(step, 0, 1))


def _source_manifest(sources: SourceFiles, hashes: bool = True) -> dict[str, dict[str, Any]]:
    described: dict[str, dict[str, Any]] = {
        "cm_tabular": {
            "file": "simple-icd-10-cm package",
            "release": tabular.CM_RELEASE,
            "year": source_year("cm_tabular", None, None),
        }
    }
    for name, path in sources.found().items():
        entry: dict[str, Any] = {"file": str(path.resolve())}
        if hashes:
            entry["sha256"] = _sha256(path)
        version = _xml_version(path) if path.suffix.lower() == ".xml" else None
        if version:
            entry["version"] = version
        entry["year"] = source_year(name, path, version)
        described[name] = entry
    return described


def _release(described: dict[str, dict[str, Any]], years: Sequence[int]) -> str:
    parts = [tabular.CM_RELEASE]
    if "pcs_tables" in described:
        parts.append(f"ICD-10-PCS FY{described['pcs_tables'].get('version', '?')}")
    later = [year for year in years if year > min(years)]
    if later:
        parts.append(" ".join(f"FY{year} (addenda)" for year in later))
    return "; ".join(parts)


def build_knowledge_base(
    home: Path,
    sources: SourceFiles,
    embedder: Embedder,
    progress: Progress | None = None,
    years: Sequence[int] | None = None,
) -> BuildReport:
    """Build every source into a new version and make it current; raise and keep the old
    version on any error. `years`: the fiscal years to hold (default: the base year and
    every later one the data dir has addenda for)."""
    report = progress or (lambda step, done, total: None)
    layout = KBLayout(home)
    started = time.monotonic()
    plan = plan_years(sources, years)
    with _build_lock(layout):
        layout.versions.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        # Complete once manifest.json is written; `prune` clears abandoned builds.
        work = layout.versions / stamp
        work.mkdir()
        try:
            timings, fiscal_years = _build_into(work, layout, sources, embedder, report, plan)
            described = _source_manifest(sources)
            warnings = source_warnings(described, list(plan))
            store = KnowledgeStore(work / "kb.sqlite")
            counts = store.counts()
            store.close()
            counts["vectors"] = int(timings.pop("vectors"))
            seconds = round(time.monotonic() - started, 1)
            manifest: dict[str, Any] = {
                "release": _release(described, list(plan)),
                "years": list(plan),
                "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "build_seconds": seconds,
                "embedder": embedder.name,
                "embedding_dimension": embedder.dimension,
                "embedding_model_dir": str(getattr(embedder, "model_dir", "") or "") or None,
                "sources": described,
                "skipped": sources.missing(),
                "counts": counts,
                "fiscal_years": fiscal_years,
                "warnings": warnings,
                "timings_s": timings,
            }
            (work / "manifest.json").write_text(json.dumps(manifest, indent=2))
            layout.switch_to(work)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        layout.prune()
    return BuildReport(
        work,
        counts,
        described,
        sources.missing(),
        seconds,
        timings,
        list(plan),
        fiscal_years,
        warnings,
    )


def _build_into(
    work: Path,
    layout: KBLayout,
    sources: SourceFiles,
    embedder: Embedder,
    report: Progress,
    plan: dict[int, list[Path]],
) -> tuple[dict[str, float], dict[str, Any]]:
    timings: dict[str, float] = {}
    clock = time.monotonic()
    fiscal_years = _write_store(work / "kb.sqlite", sources, report, plan)
    timings["store"] = round(time.monotonic() - clock, 1)
    later = [year for year in plan if year > min(plan)]
    store = KnowledgeStore(work / "kb.sqlite")
    try:
        clock = time.monotonic()
        report("lexical index", 0, 1)
        for system, docs in lexical_docs(store).items():
            LexicalIndex.build(docs).save(work / "lexical" / system)
        timings["lexical"] = round(time.monotonic() - clock, 1)
        for year in later:
            # A whole index per later year: BM25 statistics over that year's own code set,
            # and the base year's index left exactly as it was.
            clock = time.monotonic()
            report(f"lexical index FY{year}", 0, 1)
            for system, docs in lexical_docs(store, year).items():
                LexicalIndex.build(docs).save(year_lexical_dir(work, year) / system)
            timings[f"lexical_fy{year}"] = round(time.monotonic() - clock, 1)
        clock = time.monotonic()
        body_parts = list(pcs.iter_pcs_body_parts(sources.pcs_tables)) if sources.pcs_tables else []
        to_embed = vector_docs(store, body_parts)
        year_docs = {year: year_vector_docs(store, year) for year in later}
        texts = [d.text for d in to_embed] + [d.text for y in later for d in year_docs[y]]
        cache = EmbeddingCache(layout.embedding_cache)
        try:
            vectors = cache.embed(embedder, texts, lambda done, total: report("embed", done, total))
        finally:
            cache.close()
        timings["embed"] = round(time.monotonic() - clock, 1)
        clock = time.monotonic()
        report("vector index", 0, 1)
        index = VectorIndex.create(work / "chroma", later)
        index.add(to_embed, vectors[: len(to_embed)])
        start = len(to_embed)
        for year in later:
            index.add(year_docs[year], vectors[start : start + len(year_docs[year])], year)
            start += len(year_docs[year])
        timings["chroma"] = round(time.monotonic() - clock, 1)
        timings["vectors"] = len(texts)
    finally:
        store.close()
    return timings, fiscal_years
