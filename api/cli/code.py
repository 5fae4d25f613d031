"""`medcoder code FILE`: propose codes for one chart."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.table import Table

from agent.chart import load_chart
from agent.models import ChartError, ChartMeta, CodingResult
from agent.proposers.base import ProposerError
from api.cli.common import console, fail, load_settings, user_errors
from api.wiring import make_agent


def code(
    file: Annotated[str, typer.Argument(help="A .txt chart, a FHIR R4 .json, or - for stdin.")],
    setting: Annotated[Literal["inpatient", "outpatient"], typer.Option()] = "inpatient",
    age: Annotated[int | None, typer.Option(help="Patient age in years.")] = None,
    sex: Annotated[Literal["F", "M"] | None, typer.Option(help="Patient sex: F or M.")] = None,
    proposer: Annotated[
        Literal["offline", "llm"] | None,
        typer.Option(help="Override the configured proposer."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Propose ICD-10-CM / ICD-10-PCS codes for a chart, each with evidence and citations."""
    settings = load_settings()
    if age is not None and age < 0:
        fail(f"--age must be 0 or more, got {age}", 2)
    data = _read(file)
    try:
        chart = load_chart(
            data,
            meta=ChartMeta(setting=setting, age=age, sex=sex),
            max_bytes=settings.max_chart_bytes,
            source_name=file,
        )
    except ChartError as error:
        fail(str(error))
    with user_errors():
        agent = make_agent(settings, proposer)
        try:
            result = agent.code(chart)
        except ProposerError as error:
            fail(f"the {agent.proposer.name} proposer failed: {error}")
    if as_json:
        print(result.model_dump_json(indent=2))
    else:
        print_result(result)


def _read(file: str) -> bytes:
    if file == "-":
        return sys.stdin.buffer.read()
    path = Path(file)
    if not path.is_file():
        fail(f"{file}: no such file")
    return path.read_bytes()


def print_result(result: CodingResult) -> None:
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
    console.print(
        f"{result.proposer} proposer, {result.kb_release}, "
        f"{result.timings_ms.get('total', 0):.0f} ms",
        highlight=False,
    )
    console.print(json.dumps(result.usage.model_dump()), highlight=False)
