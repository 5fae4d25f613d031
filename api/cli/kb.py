"""`medcoder kb`: build, inspect and search the knowledge base."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from api.cli.common import console, errors, fail, load_settings, user_errors
from api.cli.vectors import publish_vectors_command

# The knowledge base, the agent and Rich's tables and bars are imported inside the commands:
# `medcoder --help` imports this module and must start in well under a second.
if TYPE_CHECKING:
    from retrieval.records import CodeChange
    from retrieval.search import Hit

app = typer.Typer(
    help="Build, inspect and search the code-set knowledge base.", no_args_is_help=True
)
app.command("publish-vectors")(publish_vectors_command)

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Folder with CMS code-set files (env MEDCODER_DATA_DIR)."),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
Year = Annotated[
    int | None,
    typer.Option("--year", help="Fiscal year of the code set (default: FY2026, the base year)."),
]


def _parse_years(text: str | None) -> list[int] | None:
    if not text or not text.strip():
        return None
    try:
        return [int(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError:
        fail(f"--years {text!r}: give fiscal years separated by commas, e.g. 2026,2027", 2)


class _BuildProgress:
    """Shows a build's progress(stage, done, total): in a terminal, a Rich bar per stage that
    ends at 100 % with its elapsed time (and, for counted work such as embedding, texts done
    of total and the time left); elsewhere (CI, a log, --json) plain lines on stderr, one as
    each stage starts and ends and one every PLAIN_EVERY_S seconds while a stage moves."""

    PLAIN_EVERY_S = 15.0

    def __init__(self, plain: bool) -> None:
        self._plain = plain
        self._started = time.monotonic()
        self._stage: str | None = None
        self._stage_started = self._started
        self._stage_total = 1
        self._last_line = self._started
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> _BuildProgress:
        if not self._plain:
            from rich.progress import (
                BarColumn,
                Progress,
                TaskProgressColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(
                TextColumn("{task.description:<32}"),
                BarColumn(),
                TaskProgressColumn(),
                TextColumn("{task.fields[count]:>15}"),
                TimeElapsedColumn(),
                TextColumn("elapsed,"),
                TimeRemainingColumn(),
                TextColumn("left"),
                console=console,
            )
            self._bar.__enter__()
        return self

    def __exit__(self, *failure: object) -> None:
        self._end_stage(failed=failure[0] is not None)
        if self._bar is not None:
            self._bar.__exit__(*failure)

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != self._stage:
            self._end_stage()
            self._start_stage(stage, total)
        self._stage_total = total
        now = time.monotonic()
        if self._bar is not None:
            count = f"{done:,}/{total:,}" if total > 1 else ""
            self._bar.update(self._task, completed=done, total=max(total, 1), count=count)
        elif total > 1 and 0 < done < total and now - self._last_line >= self.PLAIN_EVERY_S:
            self._last_line = now
            spent = now - self._stage_started
            left = spent / done * (total - done)
            self._line(f"{stage}: {done:,}/{total:,} ({done / total:.0%}), ~{left:.0f} s left")

    def _start_stage(self, stage: str, total: int) -> None:
        self._stage, self._stage_started = stage, time.monotonic()
        self._last_line = self._stage_started
        if self._bar is not None:
            self._task = self._bar.add_task(stage, total=max(total, 1), count="")
        else:
            self._line(f"{stage} ...")

    def _end_stage(self, failed: bool = False) -> None:
        """Close the running stage at 100 % (a stage ends when the next one starts)."""
        if self._stage is None:
            return
        total = self._stage_total
        if self._bar is not None and not failed:
            count = f"{total:,}/{total:,}" if total > 1 else ""
            self._bar.update(self._task, completed=max(total, 1), total=max(total, 1), count=count)
        elif self._bar is None:
            seconds = time.monotonic() - self._stage_started
            counted = f", {total:,} done" if total > 1 else ""
            state = "stopped after" if failed else "done in"
            self._line(f"{self._stage} {state} {seconds:.1f} s{counted}")
        self._stage = None

    def _line(self, text: str) -> None:
        print(f"[{time.monotonic() - self._started:6.1f} s] {text}", file=sys.stderr, flush=True)


@app.command()
def build(
    data_dir: DataDir = None,
    guidelines: Annotated[
        Path | None, typer.Option(help="ICD-10-CM Official Guidelines file (PDF or text).")
    ] = None,
    years: Annotated[
        str | None,
        typer.Option(
            "--years",
            help="Fiscal years to build, e.g. 2026,2027 (env MEDCODER_KB_YEARS; default: "
            "every year the data dir has).",
        ),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Build a new knowledge-base version and switch to it (the old one stays if this fails)."""
    settings = load_settings(data_dir)
    wanted = _parse_years(years or settings.kb_years)
    if guidelines is not None and not guidelines.is_file():
        fail(f"--guidelines {guidelines}: no such file")
    from retrieval.discover import discover_sources

    sources = discover_sources(settings.data_dir, guidelines)
    for name in sources.missing():
        why = " (only the base year FY2026 is built)" if name == "addenda" else ""
        # With --json, stdout holds the JSON alone.
        (errors if as_json else console).print(
            f"[yellow]skipped[/] {name}: not found in --data-dir{why}", highlight=False
        )
    from retrieval.build import build_knowledge_base
    from wiring.adapters import make_embedder

    with user_errors(), _BuildProgress(plain=as_json or not console.is_terminal) as progress:
        report = build_knowledge_base(
            settings.home, sources, make_embedder(settings), progress, wanted
        )
        progress("prepare lexicon", 0, 1)
        from wiring.adapters import prepare_lexicon

        prepare_lexicon(settings)  # built once per KB version, loaded by every process
    if as_json:
        print(
            json.dumps(
                {
                    "version": report.version_dir.name,
                    "seconds": report.seconds,
                    "counts": report.counts,
                    "skipped": report.skipped,
                    "years": report.years,
                    "fiscal_years": report.fiscal_years,
                    "warnings": report.warnings,
                }
            )
        )
        return
    console.print(
        f"built {report.version_dir.name} in {report.seconds:.0f} s: "
        f"{', '.join(f'FY{y}' for y in report.years)}"
    )
    _print_counts(report.counts)
    _print_years(report.fiscal_years)
    for warning in report.warnings:
        console.print(f"[yellow]warning[/] {warning}", highlight=False)


def _print_counts(counts: dict[str, int]) -> None:
    from rich.table import Table

    table = Table("what", "count")
    for name, value in counts.items():
        table.add_row(name.replace("_", " "), f"{value:,}")
    console.print(table)


def _print_years(fiscal_years: dict[str, dict[str, object]]) -> None:
    from rich.table import Table

    table = Table("fiscal year", "built from", "CM codes", "CM billable", "PCS codes", "changes")
    for year, about in fiscal_years.items():
        counts: dict[str, int] = about.get("counts", {})  # type: ignore[assignment]
        applied: dict[str, dict[str, int]] = about.get("applied", {})  # type: ignore[assignment]
        changes = "; ".join(
            f"{system}: " + ", ".join(f"{n} {what}" for what, n in sorted(c.items()))
            for system, c in applied.items()
        )
        table.add_row(
            f"FY{year}",
            str(about.get("built_from", "")),
            f"{counts.get('cm_codes', 0):,}",
            f"{counts.get('cm_billable', 0):,}",
            f"{counts.get('pcs_codes', 0):,}",
            changes,
        )
    console.print(table)
    for year, about in fiscal_years.items():
        for line in about.get("unapplied", []):  # type: ignore[attr-defined]
            console.print(
                f"  FY{year} addenda line {line['line']} not applied: {line['action']} "
                f"{line['code']} ({line['reason']})",
                highlight=False,
            )


@app.command()
def info(as_json: AsJson = False) -> None:
    """Release, sources with hashes, counts, embedder and build time of the current version."""
    from retrieval.layout import KBLayout

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
        own = f"FY{source['year']}" if source.get("year") else "year unknown"
        console.print(f"  {name} ({own}): {source['file']}", highlight=False)
    if manifest["skipped"]:
        console.print(f"  skipped: {', '.join(manifest['skipped'])}")
    _print_counts(manifest["counts"])
    if manifest.get("fiscal_years"):
        _print_years(manifest["fiscal_years"])
    for warning in manifest.get("warnings", []):
        console.print(f"[yellow]warning[/] {warning}", highlight=False)


Finder = Callable[[str], list["Hit"]]


def _finder(
    by: str, k: int, system: Literal["cm", "pcs"] | None, billable: bool, year: int | None
) -> Finder:
    """What answers a query: hybrid search, or the agent reading it as a diagnostic
    statement (billable codes only, whatever --billable says)."""
    from wiring.adapters import make_agent, make_searcher

    settings = load_settings()
    if by == "agent":
        from agent.lookup import find_codes

        agent = make_agent(settings, "offline")
        return lambda query: find_codes(agent, query, system=system, k=k, year=year)
    searcher = make_searcher(settings)
    return lambda query: searcher.search(
        query, k=k, system=system, billable_only=billable, year=year
    )


def _search_one(find: Finder, query: str) -> dict[str, object]:
    return {"query": query, "hits": [hit.as_dict() for hit in find(query)]}


@app.command()
def search(
    query: Annotated[str | None, typer.Argument(help="A clinical phrase or a code.")] = None,
    k: Annotated[int, typer.Option("-k", min=1, max=200, help="How many hits.")] = 10,
    system: Annotated[Literal["cm", "pcs"] | None, typer.Option(help="Code system.")] = None,
    billable: Annotated[bool, typer.Option(help="Billable codes only.")] = False,
    jsonl: Annotated[bool, typer.Option(help="Queries from stdin, one JSON line each.")] = False,
    by: Annotated[
        Literal["search", "agent"],
        typer.Option(
            help="search: hybrid search of the code sets' texts; agent: the phrase coded as "
            "a one-line diagnostic statement (Index, tables, ranker), then search.",
        ),
    ] = "search",
    year: Year = None,
    as_json: AsJson = False,
) -> None:
    """Hybrid (lexical + vector) search over titles, inclusion terms, index paths, guidelines."""
    if (query is None) == (not jsonl):
        fail("give a QUERY or --jsonl (queries on stdin), not both or neither", 2)
    with user_errors():
        find = _finder(by, k, system, billable, year)
        if not jsonl:
            result = _search_one(find, query or "")
            if as_json:
                print(json.dumps(result))
            elif result["hits"]:
                _print_hits(result["hits"])  # type: ignore[arg-type]
            else:
                for line in no_hits_advice(query or "", system, billable, year, by):
                    console.print(line, highlight=False, soft_wrap=True)
            return
    from retrieval.errors import KnowledgeBaseError

    failures = 0
    for number, line in enumerate(sys.stdin, start=1):
        try:
            found = _search_one(find, line.strip())
            print(json.dumps(found), flush=True)
        except KnowledgeBaseError as error:
            failures += 1
            print(json.dumps({"query": line.rstrip("\n"), "line": number, "error": str(error)}))
    if failures:
        raise typer.Exit(1)


def no_hits_advice(
    query: str, system: str | None, billable: bool, year: int | None, by: str
) -> list[str]:
    """What to say when a search finds nothing: that, then what to try, given the filters
    the search used (each one narrows what can match)."""
    names = {"cm": "ICD-10-CM", "pcs": "ICD-10-PCS"}
    scope = [names[system] if system else "both code sets"]
    if billable:
        scope.append("billable codes only")
    if year is not None:
        scope.append(f"FY{year}")
    tries: list[str] = []
    if billable:
        tries.append("without --billable: headings and PCS tables' body-part groups count too")
    if system:
        other = "pcs" if system == "cm" else "cm"
        tries.append(f"--system {other}, or no --system to search both code sets")
    if year is not None:
        tries.append("without --year: the base year's codes")
    if by == "agent":
        tries.append("--by search: the agent reads the phrase as a diagnostic statement")
    words = query.split()
    if len(words) > 1:
        longest = max(words, key=len)
        tries.append(f'fewer words, e.g. "{longest}"')
    elif words:
        tries.append("another word for it, or a synonym a code title would use")
    index = "pcs" if system == "pcs" else "cm"
    if words:
        tries.append(
            f'the Alphabetic Index: medcoder kb index "{words[0].capitalize()}" --index {index}'
        )
    shown = query if len(query) <= 60 else query[:57] + "..."
    lines = [f'No result for "{shown}" ({", ".join(scope)}). Try:']
    return lines + [f"  - {line}" for line in tries]


def _print_hits(hits: list[dict[str, object]]) -> None:
    from rich.table import Table

    table = Table("code", "title", "score", "source")
    for hit in hits:
        table.add_row(
            str(hit["code"] or "-"), str(hit["title"]), f"{hit['score']:.4f}", str(hit["source"])
        )
    console.print(table)


@app.command()
def code(
    code: Annotated[str, typer.Argument(help="An ICD-10-CM or ICD-10-PCS code.")],
    year: Year = None,
    as_json: AsJson = False,
) -> None:
    """The full record of a code: notes (inherited ones marked), index entries to it, and
    with --year what that year's addenda changed (a deleted code names its replacements)."""
    from api.cli.render import print_code_record
    from api.code_records import code_record_dict
    from wiring.adapters import make_searcher

    settings = load_settings()
    with user_errors():
        searcher = make_searcher(settings)
        record = searcher.lookup(code, year)
        change = (
            searcher.store.code_change(record.code, record.system, year)
            if year is not None
            else None
        )
        if as_json:
            data = code_record_dict(searcher.store, record, year)
            data["fiscal_year"] = year or searcher.store.base_year
            data["change"] = _change_dict(change) if change else None
            print(json.dumps(data, indent=2))
            return
        print_code_record(searcher.store, record, as_json, year)
    if change is not None:
        console.print(f"[bold]FY{year}:[/] {change.describe()}", highlight=False, soft_wrap=True)


def _change_dict(change: CodeChange) -> dict[str, object]:
    return {
        "year": change.year,
        "system": change.system,
        "code": change.code,
        "action": change.action,
        "title": change.title,
        "former_title": change.former_title,
        "replaced_by": list(change.replaced_by),
        "heading": change.heading,
        "implied": change.implied,
        "description": change.describe(),
    }


@app.command()
def diff(
    from_year: Annotated[int, typer.Argument(help="The earlier fiscal year, e.g. 2026.")],
    to_year: Annotated[int, typer.Argument(help="The later fiscal year, e.g. 2027.")],
    system: Annotated[Literal["cm", "pcs"] | None, typer.Option(help="Code system.")] = None,
    as_json: AsJson = False,
) -> None:
    """The codes added, deleted and revised between two fiscal years."""
    if from_year >= to_year:
        fail(f"give the earlier year first: {from_year} is not before {to_year}", 2)
    from rich.table import Table

    from wiring.adapters import make_searcher

    settings = load_settings()
    with user_errors():
        store = make_searcher(settings).store
        changes = [c for c in store.changes(from_year, to_year) if not system or c.system == system]
    if as_json:
        counts: dict[str, dict[str, int]] = {}
        for change in changes:
            per_system = counts.setdefault(change.system, {})
            # Headings emptied by the deletions are not lines of the addenda: counted apart.
            action = "implied_deletions" if change.implied else change.action
            per_system[action] = per_system.get(action, 0) + 1
        payload = {
            "from": from_year,
            "to": to_year,
            "counts": counts,
            "changes": [_change_dict(c) for c in changes],
        }
        print(json.dumps(payload, indent=2))
        return
    table = Table("year", "system", "code", "change", "title", "details")
    for change in changes:
        if change.action == "revised":
            details = f"formerly: {change.former_title}"
        elif change.action == "deleted":
            state = "heading; " if change.heading else "implied; " if change.implied else ""
            details = state + (
                f"use {', '.join(change.replaced_by)}" if change.replaced_by else "no replacement"
            )
        else:
            details = ""
        table.add_row(
            f"FY{change.year}", change.system, change.code, change.action, change.title, details
        )
    console.print(table)
    console.print(f"{len(changes)} changes from FY{from_year} to FY{to_year}")


@app.command()
def index(
    path: Annotated[
        list[str], typer.Argument(help='Main term then subterms, e.g. "Diabetes" "type 2".')
    ],
    which: Annotated[Literal["cm", "eindex", "pcs"], typer.Option("--index")] = "cm",
    as_json: AsJson = False,
) -> None:
    """Navigate the Alphabetic Index by term path."""
    from rich.table import Table

    from wiring.adapters import make_searcher

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
