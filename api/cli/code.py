"""`medcoder code FILE`: propose codes for one chart, or for a batch of them (--out).

The top level stays light (see api.cli.common): the agent, the knowledge base and Rich's
tables are imported when the command runs."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from api.cli.common import console, fail, load_settings, user_errors

if TYPE_CHECKING:
    from agent.models import ChartMeta, CodingResult


def code(
    file: Annotated[
        str,
        typer.Argument(
            help="A .txt chart, a FHIR R4 .json, or - for stdin. A batch (needs --out): a "
            "directory of .txt / .json charts, a .jsonl file (one POST /charts body per "
            "line), or a FHIR Bundle of type batch, transaction, collection or searchset."
        ),
    ],
    setting: Annotated[
        Literal["inpatient", "outpatient"] | None,
        typer.Option(help="Care setting (default inpatient); in a batch, every chart's."),
    ] = None,
    age: Annotated[int | None, typer.Option(help="Patient age in years.")] = None,
    sex: Annotated[Literal["F", "M"] | None, typer.Option(help="Patient sex: F or M.")] = None,
    date: Annotated[
        str | None,
        typer.Option(
            "--date",
            help="Date of service, YYYY-MM-DD: an inpatient's discharge date, an "
            "outpatient's visit date. Its fiscal year chooses the code set (FY2027: "
            "2026-10-01 to 2027-09-30); without a date, the newest year the KB holds.",
        ),
    ] = None,
    admission_date: Annotated[
        str | None, typer.Option(help="Inpatient admission date, YYYY-MM-DD.")
    ] = None,
    discharge_date: Annotated[
        str | None, typer.Option(help="Inpatient discharge date, YYYY-MM-DD (same as --date).")
    ] = None,
    proposer: Annotated[
        Literal["offline", "llm"] | None,
        typer.Option(help="Override the configured proposer."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Code a batch into this file, one JSON line per chart; run the same "
            "command again to resume (coded charts are skipped, failed ones retried).",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Propose ICD-10-CM / ICD-10-PCS codes for a chart, each with evidence and citations,
    in the code set of the fiscal year of its date of service; or for a batch of charts."""
    from agent.batch_input import is_batch_path

    settings = load_settings()
    if out is not None or (file != "-" and is_batch_path(Path(file))):
        one_chart = {"--age": age, "--sex": sex, "--date": date}
        one_chart |= {"--admission-date": admission_date, "--discharge-date": discharge_date}
        given = [name for name, value in one_chart.items() if value is not None]
        results = check_batch_options(file, out, given)
        from api.cli.code_batch import run_batch

        run_batch(Path(file), results, settings=settings, proposer=proposer, setting=setting)
        return
    from agent.chart import load_chart
    from agent.models import ChartError
    from agent.proposers.base import ProposerError
    from wiring.adapters import make_agent

    if age is not None and age < 0:
        fail(f"--age must be 0 or more, got {age}", 2)
    meta = options_meta(setting or "inpatient", age, sex, date, admission_date, discharge_date)
    data = read_input(file)
    try:
        chart = load_chart(data, meta=meta, max_bytes=settings.max_chart_bytes, source_name=file)
    except ChartError as error:
        fail(str(error))
    with user_errors():
        agent = make_agent(settings, proposer)
        try:
            result = agent.code(chart)
        except ChartError as error:  # a date of service in a year the KB does not hold
            fail(str(error))
        except ProposerError as error:
            fail(f"the {agent.proposer.name} proposer failed: {error}")
    if as_json:
        print(result.model_dump_json(indent=2))
    else:
        print_result(result)


def check_batch_options(file: str, out: Path | None, one_chart: list[str]) -> Path:
    """The results file of a batch; usage errors (exit 2): no --out, stdin, options that
    describe one chart."""
    if file == "-":
        fail("--out codes a batch, read from a directory or a file, not from stdin", 2)
    if out is None:
        fail(
            f"{file} is a batch (a directory, JSON lines or a FHIR Bundle of charts): add "
            "--out results.jsonl to write one JSON line per chart",
            2,
        )
    if not Path(file).exists():
        fail(f"{file}: no such file or directory")
    if one_chart:
        fail(
            f"{', '.join(one_chart)} describe one chart; in a batch give each chart's "
            'dates, age and sex in its JSON line ("meta") or its FHIR resources',
            2,
        )
    return out


def options_meta(
    setting: str,
    age: int | None,
    sex: str | None,
    date: str | None,
    admission_date: str | None,
    discharge_date: str | None,
) -> ChartMeta:
    """The chart metadata the options give; a bad date is a usage error naming its option."""
    from pydantic import ValidationError

    from agent.models import ChartMeta

    fields: dict[str, Any] = {"setting": setting, "age": age, "sex": sex}
    fields |= {"admission_date": admission_date, "discharge_date": discharge_date}
    options = {"admission_date": "--admission-date", "discharge_date": "--discharge-date"}
    if date is not None:
        # An inpatient's date of service is the discharge date, an outpatient's the visit.
        if setting == "outpatient":
            fields["encounter_date"], options["encounter_date"] = date, "--date"
        elif discharge_date is None:
            fields["discharge_date"], options["discharge_date"] = date, "--date"
        elif discharge_date != date:
            fail("--date and --discharge-date differ; give one of them", 2)
    try:
        return ChartMeta.model_validate(fields)
    except ValidationError as error:
        first = error.errors()[0]
        where = options.get(str(first["loc"][0]), "--date") if first["loc"] else "dates"
        message = str(first["msg"]).removeprefix("Value error, ")
        fail(f"{where}: {message}", 2)


def read_input(file: str) -> bytes:
    if file == "-":
        return sys.stdin.buffer.read()
    path = Path(file)
    if not path.is_file():
        fail(f"{file}: no such file")
    return path.read_bytes()


def print_result(result: CodingResult) -> None:
    from rich.table import Table

    table = Table("#", "code", "title", "conf.", "evidence", "citations", title="Proposals")
    for p in result.proposals:
        evidence = "; ".join(f'"{s.quote}" @{s.start}' for s in p.evidence[:2])
        citations = ", ".join(c.source_id for c in p.citations[:3])
        warn = "\n[yellow]" + "; ".join(p.warnings) + "[/]" if p.warnings else ""
        table.add_row(
            str(p.sequence), p.code, p.title + warn, f"{p.confidence:.2f}", evidence, citations
        )
    console.print(table)
    if result.dropped:
        dropped = Table("code", "reason", "proposer", title="Dropped")
        for d in result.dropped:
            dropped.add_row(d.code, d.reason, d.proposer)
        console.print(dropped)
    year = result.coding_year.describe() if result.coding_year else "the base year"
    console.print(
        f"{result.proposer} proposer, code set {year}, {result.kb_release}, "
        f"{result.timings_ms.get('total', 0):.0f} ms",
        highlight=False,
    )
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    console.print(json.dumps(result.usage.model_dump()), highlight=False)
