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
from retrieval.vectors import SYSTEMS, VectorIndex

# progress(stage, done, total): each stage is reported first with done == 0 as it starts,
# then as its work moves (embedding: texts embedded of those new to the cache), and last with
# done == total as it ends; the next stage starts only after that. The caller renders it.
Progress = Callable[[str, int, int], None]
Writer = KnowledgeStoreWriter


class _Stages:
    """The stage running now, told to `progress` as it starts, moves and ends: starting a
    stage ends the one before, so every stage the caller saw start is reported complete."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._open: tuple[str, int] | None = None

    def start(self, name: str, total: int = 1) -> None:
        self.end()
        self._open = (name, total)
        self._progress(name, 0, total)

    def advance(self, done: int, total: int) -> None:
        """Work done of the open stage; `total` may be known only once the work begins."""
        if self._open is not None:
            self._open = (self._open[0], total)
            self._progress(self._open[0], done, total)

    def end(self) -> None:
        if self._open is not None:
            name, total = self._open
            self._open = None
            self._progress(name, total, total)


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
    path: Path, sources: SourceFiles, stages: _Stages, plan: dict[int, list[Path]]
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
        for name, step in _parse_steps(sources):
            stages.start(f"parse {name}")
            step(writer)
        stages.start("write store")
        writer.close()
    except BaseException:
        writer.abort()
        raise
    return add_fiscal_years(path, plan, stages.start)


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
    stages = _Stages(progress or (lambda step, done, total: None))
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
            timings, fiscal_years = _build_into(work, layout, sources, embedder, stages, plan)
            stages.start("hash sources, write manifest")
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
            stages.start("prune old versions")
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        layout.prune()
        stages.end()
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
    stages: _Stages,
    plan: dict[int, list[Path]],
) -> tuple[dict[str, float], dict[str, Any]]:
    timings: dict[str, float] = {}
    clock = time.monotonic()
    fiscal_years = _write_store(work / "kb.sqlite", sources, stages, plan)
    timings["store"] = round(time.monotonic() - clock, 1)
    later = [year for year in plan if year > min(plan)]
    store = KnowledgeStore(work / "kb.sqlite")
    try:
        for year in [None, *later]:
            # A whole index per later year: BM25 statistics over that year's own code set,
            # and the base year's index left exactly as it was.
            clock = time.monotonic()
            stages.start(f"lexical index FY{year or min(plan)}", len(SYSTEMS))
            folder = work / "lexical" if year is None else year_lexical_dir(work, year)
            by_system = lexical_docs(store, year)
            for done, system in enumerate(list(by_system), start=1):
                # Popped so that one system's documents are freed before the next is indexed.
                LexicalIndex.build(by_system.pop(system)).save(folder / system)
                stages.advance(done, len(SYSTEMS))
            timings["lexical" if year is None else f"lexical_fy{year}"] = round(
                time.monotonic() - clock, 1
            )
        clock = time.monotonic()
        stages.start("collect texts to embed")
        body_parts = list(pcs.iter_pcs_body_parts(sources.pcs_tables)) if sources.pcs_tables else []
        to_embed = vector_docs(store, body_parts)
        year_docs = {year: year_vector_docs(store, year) for year in later}
        texts = [d.text for d in to_embed] + [d.text for y in later for d in year_docs[y]]
        cache = EmbeddingCache(layout.embedding_cache)
        try:
            stages.start("embed texts", 0)
            vectors = cache.embed(embedder, texts, stages.advance)
        finally:
            cache.close()
        timings["embed"] = round(time.monotonic() - clock, 1)
        clock = time.monotonic()
        stages.start("vector index", len(texts))
        index = VectorIndex.create(work / "chroma", later)
        added = [0]

        def count_added(batch: int) -> None:
            added[0] += batch
            stages.advance(added[0], len(texts))

        index.add(to_embed, vectors[: len(to_embed)], on_added=count_added)
        start = len(to_embed)
        for year in later:
            part = vectors[start : start + len(year_docs[year])]
            index.add(year_docs[year], part, year, count_added)
            start += len(year_docs[year])
        timings["chroma"] = round(time.monotonic() - clock, 1)
        timings["vectors"] = len(texts)
    finally:
        store.close()
    return timings, fiscal_years
