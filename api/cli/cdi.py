"""`medcoder cdi FILE`: documentation gaps of one chart, with compliant query drafts."""

from __future__ import annotations

import json
from typing import Annotated, Literal

import typer

from api.cli.common import console, fail, load_settings, user_errors


def cdi_command(
    file: Annotated[str, typer.Argument(help="A .txt chart, a FHIR R4 .json, or - for stdin.")],
    setting: Annotated[Literal["inpatient", "outpatient"], typer.Option()] = "inpatient",
    age: Annotated[int | None, typer.Option(min=0, max=124, help="Age in years.")] = None,
    sex: Annotated[Literal["F", "M"] | None, typer.Option(help="Patient sex: F or M.")] = None,
    date: Annotated[str | None, typer.Option("--date", help="Date of service, YYYY-MM-DD.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Code the chart offline, then list each proposal the documentation leaves unspecific
    while the chart holds clinical indicators, with a query draft to edit and send."""
    from agent.cdi import compliance_problems, draft_query, find_gaps
    from agent.chart import load_chart
    from agent.models import ChartError
    from api.cli.code import options_meta, read_input
    from wiring.adapters import make_agent

    settings = load_settings()
    meta = options_meta(setting, age, sex, date, None, None)
    try:
        chart = load_chart(read_input(file), meta=meta, max_bytes=settings.max_chart_bytes)
    except ChartError as error:
        fail(str(error))
    with user_errors():
        try:
            result = make_agent(settings, "offline").code(chart)
        except ChartError as error:
            fail(str(error))
    titles = {p.code: p.title for p in result.proposals}
    drafts = [draft_query(gap) for gap in find_gaps(chart.text, list(titles), titles)]
    if as_json:
        found = [
            {
                "kind": d.kind,
                "code": d.code,
                "indicators": [
                    {"what": i.what, "quote": i.evidence.quote, "start": i.evidence.start}
                    for i in d.indicators
                ],
                "question": d.question,
                "options": list(d.options),
                "compliance_problems": compliance_problems(d, chart.text),
            }
            for d in drafts
        ]
        print(json.dumps(found, indent=2))
        return
    if not drafts:
        console.print("no documentation gap found in the proposals", highlight=False)
    for draft in drafts:
        console.print(f"[bold]{draft.kind}[/] (proposed {draft.code})", highlight=False)
        console.print(draft.text(), highlight=False, markup=False)
        console.print()
