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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from retrieval.discover import SourceFiles
from retrieval.documents import lexical_docs, vector_docs
from retrieval.embedding_cache import EmbeddingCache
from retrieval.embeddings import Embedder
from retrieval.errors import KnowledgeBaseError
from retrieval.layout import KBLayout
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


def _write_store(path: Path, sources: SourceFiles, progress: Progress) -> None:
    writer = KnowledgeStoreWriter(path)
    try:
        # The release travels inside the store, so whoever cites this KB can name it.
        writer.set_meta({"release": _release(_source_manifest(sources, hashes=False))})
        steps = _parse_steps(sources)
        for number, (name, step) in enumerate(steps):
            progress(f"parse {name}", number, len(steps))
            step(writer)
        progress("parse sources", len(steps), len(steps))
    except BaseException:
        writer.abort()
        raise
    writer.close()


def _source_manifest(sources: SourceFiles, hashes: bool = True) -> dict[str, dict[str, str]]:
    described: dict[str, dict[str, str]] = {
        "cm_tabular": {"file": "simple-icd-10-cm package", "release": tabular.CM_RELEASE}
    }
    for name, path in sources.found().items():
        entry = {"file": str(path.resolve())}
        if hashes:
            entry["sha256"] = _sha256(path)
        if path.suffix.lower() == ".xml" and (year := _xml_version(path)):
            entry["version"] = year
        described[name] = entry
    return described


def _release(described: dict[str, dict[str, str]]) -> str:
    parts = [tabular.CM_RELEASE]
    if "pcs_tables" in described:
        parts.append(f"ICD-10-PCS FY{described['pcs_tables'].get('version', '?')}")
    return "; ".join(parts)


def build_knowledge_base(
    home: Path,
    sources: SourceFiles,
    embedder: Embedder,
    progress: Progress | None = None,
) -> BuildReport:
    """Build every source into a new version and make it current; raise and keep the old
    version on any error."""
    report = progress or (lambda step, done, total: None)
    layout = KBLayout(home)
    started = time.monotonic()
    with _build_lock(layout):
        layout.versions.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        # Complete once manifest.json is written; `prune` clears abandoned builds.
        work = layout.versions / stamp
        work.mkdir()
        try:
            timings = _build_into(work, layout, sources, embedder, report)
            described = _source_manifest(sources)
            store = KnowledgeStore(work / "kb.sqlite")
            counts = store.counts()
            store.close()
            counts["vectors"] = int(timings.pop("vectors"))
            seconds = round(time.monotonic() - started, 1)
            manifest: dict[str, Any] = {
                "release": _release(described),
                "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "build_seconds": seconds,
                "embedder": embedder.name,
                "embedding_dimension": embedder.dimension,
                "embedding_model_dir": str(getattr(embedder, "model_dir", "") or "") or None,
                "sources": described,
                "skipped": sources.missing(),
                "counts": counts,
                "timings_s": timings,
            }
            (work / "manifest.json").write_text(json.dumps(manifest, indent=2))
            layout.switch_to(work)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        layout.prune()
    return BuildReport(work, counts, described, sources.missing(), seconds, timings)


def _build_into(
    work: Path, layout: KBLayout, sources: SourceFiles, embedder: Embedder, report: Progress
) -> dict[str, float]:
    timings: dict[str, float] = {}
    clock = time.monotonic()
    _write_store(work / "kb.sqlite", sources, report)
    timings["store"] = round(time.monotonic() - clock, 1)
    store = KnowledgeStore(work / "kb.sqlite")
    try:
        clock = time.monotonic()
        report("lexical index", 0, 1)
        for system, docs in lexical_docs(store).items():
            LexicalIndex.build(docs).save(work / "lexical" / system)
        timings["lexical"] = round(time.monotonic() - clock, 1)
        clock = time.monotonic()
        body_parts = list(pcs.iter_pcs_body_parts(sources.pcs_tables)) if sources.pcs_tables else []
        to_embed = vector_docs(store, body_parts)
        cache = EmbeddingCache(layout.embedding_cache)
        try:
            vectors = cache.embed(
                embedder,
                [d.text for d in to_embed],
                lambda done, total: report("embed", done, total),
            )
        finally:
            cache.close()
        timings["embed"] = round(time.monotonic() - clock, 1)
        clock = time.monotonic()
        report("vector index", 0, 1)
        VectorIndex.create(work / "chroma").add(to_embed, vectors)
        timings["chroma"] = round(time.monotonic() - clock, 1)
        timings["vectors"] = len(to_embed)
    finally:
        store.close()
    return timings
