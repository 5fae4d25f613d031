"""`medcoder kb`: build, inspect and search the knowledge base."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from api.cli.common import console, fail, load_settings, user_errors
from api.cli.render import print_code_record
from api.wiring import make_embedder, make_searcher
from retrieval.build import build_knowledge_base
from retrieval.discover import discover_sources
from retrieval.errors import KnowledgeBaseError
from retrieval.layout import KBLayout
from retrieval.search import HybridSearcher

app = typer.Typer(
    help="Build, inspect and search the code-set knowledge base.", no_args_is_help=True
)

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Folder with CMS code-set files (env MEDCODER_DATA_DIR)."),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@app.command()
def build(
    data_dir: DataDir = None,
    guidelines: Annotated[
        Path | None, typer.Option(help="ICD-10-CM Official Guidelines file (PDF or text).")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Build a new knowledge-base version and switch to it (the old one stays if this fails)."""
    settings = load_settings(data_dir)
    if guidelines is not None and not guidelines.is_file():
        fail(f"--guidelines {guidelines}: no such file")
    sources = discover_sources(settings.data_dir, guidelines)
    for name in sources.missing():
        console.print(f"[yellow]skipped[/] {name}: not found in --data-dir", highlight=False)
    with (
        user_errors(),
        Progress(
            TextColumn("{task.description:<28}"),
            BarColumn(),
            TaskProgressColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=as_json,
            disable=as_json,
        ) as bar,
    ):
        task = bar.add_task("starting", total=1)

        def progress(step: str, done: int, total: int) -> None:
            bar.update(task, description=step, completed=done, total=max(total, 1))

        report = build_knowledge_base(settings.home, sources, make_embedder(settings), progress)
    if as_json:
        print(
            json.dumps(
                {
                    "version": report.version_dir.name,
                    "seconds": report.seconds,
                    "counts": report.counts,
                    "skipped": report.skipped,
                }
            )
        )
        return
    console.print(f"built {report.version_dir.name} in {report.seconds:.0f} s")
    _print_counts(report.counts)


def _print_counts(counts: dict[str, int]) -> None:
    table = Table("what", "count")
    for name, value in counts.items():
        table.add_row(name.replace("_", " "), f"{value:,}")
    console.print(table)


@app.command()
def info(as_json: AsJson = False) -> None:
    """Release, sources with hashes, counts, embedder and build time of the current version."""
    settings = load_settings()
    with user_errors():
        layout = KBLayout(settings.home)
        manifest = {"version": layout.current().name, **layout.manifest()}
    if as_json:
        print(json.dumps(manifest, indent=2))
        return
    console.print(f"[bold]{manifest['release']}[/]  version {manifest['version']}")
    console.print(
        f"built {manifest['built_at']} in {manifest['build_seconds']} s, "
        f"embedder {manifest['embedder']}"
    )
    for name, source in manifest["sources"].items():
        console.print(f"  {name}: {source['file']}", highlight=False)
    if manifest["skipped"]:
        console.print(f"  skipped: {', '.join(manifest['skipped'])}")
    _print_counts(manifest["counts"])


def _search_one(
    searcher: HybridSearcher, query: str, k: int, system: str | None, billable: bool
) -> dict[str, object]:
    hits = searcher.search(query, k=k, system=system, billable_only=billable)
    return {"query": query, "hits": [hit.as_dict() for hit in hits]}


@app.command()
def search(
    query: Annotated[str | None, typer.Argument(help="A clinical phrase or a code.")] = None,
    k: Annotated[int, typer.Option("-k", min=1, max=200, help="How many hits.")] = 10,
    system: Annotated[Literal["cm", "pcs"] | None, typer.Option(help="Code system.")] = None,
    billable: Annotated[bool, typer.Option(help="Billable codes only.")] = False,
    jsonl: Annotated[bool, typer.Option(help="Queries from stdin, one JSON line each.")] = False,
    as_json: AsJson = False,
) -> None:
    """Hybrid (lexical + vector) search over titles, inclusion terms, index paths, guidelines."""
    if (query is None) == (not jsonl):
        fail("give a QUERY or --jsonl (queries on stdin), not both or neither", 2)
    settings = load_settings()
    with user_errors():
        searcher = make_searcher(settings)
        if not jsonl:
            result = _search_one(searcher, query or "", k, system, billable)
            if as_json:
                print(json.dumps(result))
            else:
                _print_hits(result["hits"])  # type: ignore[arg-type]
            return
    failures = 0
    for number, line in enumerate(sys.stdin, start=1):
        try:
            print(json.dumps(_search_one(searcher, line.strip(), k, system, billable)), flush=True)
        except KnowledgeBaseError as error:
            failures += 1
            print(json.dumps({"query": line.rstrip("\n"), "line": number, "error": str(error)}))
    if failures:
        raise typer.Exit(1)


def _print_hits(hits: list[dict[str, object]]) -> None:
    table = Table("code", "title", "score", "source")
    for hit in hits:
        table.add_row(
            str(hit["code"] or "-"), str(hit["title"]), f"{hit['score']:.4f}", str(hit["source"])
        )
    console.print(table)


@app.command()
def code(
    code: Annotated[str, typer.Argument(help="An ICD-10-CM or ICD-10-PCS code.")],
    as_json: AsJson = False,
) -> None:
    """The full record of a code: notes (inherited ones marked) and index entries to it."""
    settings = load_settings()
    with user_errors():
        searcher = make_searcher(settings)
        record = searcher.lookup(code)
        print_code_record(searcher.store, record, as_json)


@app.command()
def index(
    path: Annotated[
        list[str], typer.Argument(help='Main term then subterms, e.g. "Diabetes" "type 2".')
    ],
    which: Annotated[Literal["cm", "eindex", "pcs"], typer.Option("--index")] = "cm",
    as_json: AsJson = False,
) -> None:
    """Navigate the Alphabetic Index by term path."""
    settings = load_settings()
    with user_errors():
        searcher = make_searcher(settings)
        entries = searcher.store.index_lookup(path, which)
    if not entries:
        fail(f"no index entry at {' > '.join(path)} in the {which} index")
    rows = [
        {
            "path": list(e.path),
            "code": e.code,
            "see": e.see,
            "see_also": e.see_also,
            "use": e.use,
            "source": e.source_id,
        }
        for e in entries
    ]
    if as_json:
        print(json.dumps(rows))
        return
    table = Table("path", "code", "see / see also", "source")
    for row in rows:
        see = " | ".join(str(x) for x in (row["see"], row["see_also"], row["use"]) if x)
        term_path = " > ".join(str(part) for part in row["path"] or ())
        table.add_row(term_path, str(row["code"] or ""), see, str(row["source"]))
    console.print(table)
