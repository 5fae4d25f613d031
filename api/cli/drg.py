"""`medcoder drg`: the MS-DRG of a code set typed on the command line, and what each
secondary diagnosis and procedure does to it."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import console, fail


def drg_command(
    chart: Annotated[
        str | None,
        typer.Argument(
            help="A chart (.txt or FHIR .json) to code offline and group, instead of --pdx."
        ),
    ] = None,
    pdx: Annotated[str | None, typer.Option("--pdx", help="Principal diagnosis (I21.4).")] = None,
    sdx: Annotated[
        list[str] | None,
        typer.Option("--sdx", help="A secondary diagnosis; repeat for each (--sdx N17.9)."),
    ] = None,
    pcs: Annotated[
        list[str] | None,
        typer.Option("--pcs", help="An ICD-10-PCS procedure; repeat for each."),
    ] = None,
    age: Annotated[int | None, typer.Option(min=0, max=124, help="Age in years.")] = None,
    sex: Annotated[str, typer.Option(help="M, F or U.")] = "U",
    discharge_status: Annotated[
        int, typer.Option(min=1, max=99, help="CMS discharge status (1: home).")
    ] = 1,
    discharged: Annotated[
        str | None,
        typer.Option(help="Discharge date, YYYY-MM-DD (default today); picks the version."),
    ] = None,
    poa: Annotated[
        list[str] | None,
        typer.Option(help="Present on admission, CODE=Y|N|U|W; repeat for each diagnosis."),
    ] = None,
    hac_exempt: Annotated[
        bool, typer.Option(help="The hospital is exempt from the HAC / POA rules.")
    ] = False,
    weights: Annotated[
        Path | None,
        typer.Option(help="The CMS Table 5 file (CSV or tab-separated) for relative weights."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Group a claim to its MS-DRG (CMS grouper v40-v44, offline) and show, for each
    secondary diagnosis and procedure, the DRG without it and with it. Given a chart, the
    offline agent codes it for a claim and its proposals are grouped (the first-sequenced
    diagnosis as principal); the options give what the chart does not say."""
    from agent.drg import Claim, DrgError, MsdrgGrouper, impacts, load_weights

    if (chart is None) == (pdx is None):
        fail("give a chart file or --pdx (not both)")
    if chart is not None:
        pdx, sdx, pcs = _coded(chart, age, sex, discharged)
    assert pdx is not None
    if sex.upper() not in ("M", "F", "U"):
        fail(f"--sex {sex!r}: use M, F or U")
    try:
        day = date.fromisoformat(discharged) if discharged else date.today()
    except ValueError:
        fail(f"--discharged {discharged!r}: not a date (YYYY-MM-DD)")
    indicators = []
    for given in poa or ():
        code, _, flag = given.partition("=")
        if not code or flag.upper() not in ("Y", "N", "U", "W"):
            fail(f"--poa {given!r}: write CODE=Y, N, U or W (N17.9=Y)")
        indicators.append((code, flag.upper()))
    claim = Claim(
        principal=pdx,
        secondary=tuple(sdx or ()),
        procedures=tuple(pcs or ()),
        age=age,
        sex="M" if sex.upper() == "M" else "F" if sex.upper() == "F" else "U",
        discharge_status=discharge_status,
        discharged=day,
        poa=tuple(indicators),
        hac_exempt=hac_exempt,
    )
    grouper = MsdrgGrouper()
    try:
        table = load_weights(weights) if weights else {}
        result = grouper.group(claim)
        effects = impacts(grouper, claim, [*claim.secondary, *claim.procedures])
    except DrgError as error:
        fail(str(error))
    finally:
        grouper.close()
    if as_json:
        print(
            json.dumps(
                {
                    "drg": result.drg,
                    "title": result.title,
                    "mdc": result.mdc,
                    "severity": result.severity,
                    "version": result.version,
                    "return_code": result.return_code,
                    "weight": table.get(result.drg) if result.drg else None,
                    "codes": [
                        {
                            "code": e.code,
                            "severity": e.severity,
                            "excluded": e.excluded,
                            "drg_without": e.without.drg,
                            "drg_with": e.with_code.drg,
                        }
                        for e in effects
                    ],
                }
            )
        )
        return
    console.print(
        f"MS-DRG v{result.version}: DRG {result.drg} {result.title} "
        f"(MDC {result.mdc}, {result.severity}, {result.return_code})",
        highlight=False,
    )
    if result.drg in table:
        console.print(f"relative weight {table[result.drg]:.4f} (Table 5)", highlight=False)
    if result.ungroupable:
        console.print(
            f"[yellow]warning:[/] the claim is ungroupable as coded ({result.return_code})",
            highlight=False,
        )
    for effect in effects:
        console.print(f"  {effect.message()}", highlight=False)


def _coded(
    file: str, age: int | None, sex: str, discharged: str | None
) -> tuple[str, list[str], list[str]]:
    """The chart's proposals as a claim: principal, secondary diagnoses, procedures."""
    from agent.chart import load_chart
    from agent.models import ChartError, ChartMeta
    from api.cli.code import read_input
    from api.cli.common import load_settings, user_errors
    from wiring.adapters import make_agent

    settings = load_settings()
    try:
        meta = ChartMeta.model_validate(
            {
                "setting": "inpatient",
                "age": age,
                "sex": {"M": "M", "F": "F"}.get(sex.upper()),
                "discharge_date": discharged,
            }
        )
    except ValueError as error:
        fail(f"the chart's options: {error}")
    try:
        loaded = load_chart(read_input(file), meta=meta, max_bytes=settings.max_chart_bytes)
        with user_errors():
            proposals = make_agent(settings, "offline").code(loaded, "claims").proposals
    except ChartError as error:
        fail(str(error))
    diagnoses = [p.code for p in proposals if p.system == "cm"]
    if not diagnoses:
        fail(f"{file}: the agent proposed no diagnosis to group")
    procedures = [p.code for p in proposals if p.system == "pcs"]
    return diagnoses[0], diagnoses[1:], procedures
