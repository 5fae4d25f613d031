"""`medcoder eval`: run the agent over an evaluation suite, compare two runs, report one."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from api.cli.common import console, errors, fail, load_settings, user_errors

# The agent, the suites, the scorers and matplotlib are imported inside the commands: this
# module is imported for every `medcoder` command, --help included.
if TYPE_CHECKING:
    from rich.table import Table

    from agent.models import Policy
    from evals.rundir import Run
    from evals.runner import RunSummary
    from evals.suites import Suite
    from wiring.settings import Settings

app = typer.Typer(
    help="Evaluate the coding agent on suites (CodiEsp, desc2code, rules, chat, JSONL files).",
    no_args_is_help=True,
)
AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
# evals.suites.SUITE_NAMES, spelled out for the help text so --help need not import the suites
# (tests/api/test_cli_imports.py checks the two agree).
SUITE_NAMES_HELP = ("codiesp-d", "codiesp-p", "codiesp", "desc2code", "rules", "addenda", "chat")


def _run_stoppers() -> tuple[type[BaseException], ...]:
    """The errors that end a run with its finished cases kept."""
    from agent.models import ChartError
    from agent.proposers.base import ProposerError
    from evals.rundir import RunError
    from retrieval.errors import KnowledgeBaseError

    return (ProposerError, ChartError, KnowledgeBaseError, RunError, OSError)


@app.command("run")
def run_command(
    suite: Annotated[str, typer.Argument(help=f"{', '.join(SUITE_NAMES_HELP)}, or a .jsonl file.")],
    data: Annotated[
        Path | None,
        typer.Option(help="CodiEsp split folder. Default: <MEDCODER_DATA_DIR>/codiesp/dev."),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            help="Cases to run: a seeded sample for CodiEsp and desc2code (desc2code: 200 "
            "unless given), else the first N of the suite."
        ),
    ] = None,
    proposer: Annotated[
        Literal["offline", "llm"] | None, typer.Option(help="Override the configured proposer.")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Run directory; an unfinished run there is continued. "
            "Default: <MEDCODER_HOME>/evals/<suite>-<time>."
        ),
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Charts coded at once (default 1 offline, 4 llm).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the CodiEsp / desc2code sample.")] = 2026,
    policy: Annotated[
        Literal["claims", "mentions"] | None,
        typer.Option(help="Coding policy (default: mentions for CodiEsp, claims otherwise)."),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Code every case of SUITE, score it and write a run directory (run.json, cases.jsonl)."""
    from evals.suites import NEEDS_KB, SUITE_NAMES, AddendaChecker
    from wiring.adapters import make_agent

    if suite not in SUITE_NAMES and not (suite.endswith(".jsonl") or Path(suite).is_file()):
        fail(f"unknown suite {suite!r}: use one of {', '.join(SUITE_NAMES)} or a .jsonl file", 2)
    if limit is not None and limit < 1:
        fail(f"--limit must be 1 or more, got {limit}", 2)
    settings = load_settings()
    if suite == "chat":  # questions about coded charts, answered and scored by evals.chat
        _run_chat(settings, proposer, out, limit, seed, as_json)
        return
    # Only desc2code and addenda need the KB to load; the others are checked before it opens.
    loaded = None if suite in NEEDS_KB else _load(suite, settings, data, None, limit, seed)
    with user_errors():
        agent: Any = make_agent(settings, proposer)
        loaded = loaded or _load(suite, settings, data, agent.searcher.store, limit, seed)
        if suite == "addenda":  # checks of the KB's code sets by year, not of the agent
            agent = AddendaChecker(agent.searcher)
        mode = agent.proposer.name
        out_dir = out or _default_out(settings, loaded.name)
        info = _run_info(settings, mode, limit, seed)
        summary = _run(loaded, agent, out_dir, workers or (4 if mode == "llm" else 1), info, policy)
    if as_json:
        print(json.dumps(_json_summary(summary), default=str))
        return
    console.print(_metrics_table(summary.metrics, f"{summary.suite}: {summary.done} cases"))
    console.print(f"run directory: {summary.run_dir}", highlight=False)


def _run_chat(
    settings: Settings,
    proposer: str | None,
    out: Path | None,
    limit: int | None,
    seed: int,
    as_json: bool,
) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from evals.chat import load_chat_cases, run_chat_suite, summary_lines
    from evals.suites import SuiteError
    from wiring.adapters import make_agent

    stoppers: tuple[type[BaseException], ...] = (SuiteError, *_run_stoppers())
    try:
        cases = load_chat_cases()[:limit]
        with user_errors():
            agent = make_agent(settings, proposer)
            out_dir = out or _default_out(settings, "chat")
            info = _run_info(settings, agent.proposer.name, limit, seed)
            with Progress(
                TextColumn("chat"),
                BarColumn(),
                MofNCompleteColumn(),
                console=errors,
                transient=True,
            ) as bar:
                task = bar.add_task("chat", total=len(cases))
                summary = run_chat_suite(
                    cases, agent, out_dir, info, lambda done, _: bar.update(task, completed=done)
                )
    except stoppers as error:
        fail(str(error))
    if as_json:
        head = {"suite": "chat", "run_dir": str(summary.run_dir), "status": "finished"}
        print(json.dumps(head | _rounded(summary.metrics), default=str))
        return
    for line in summary_lines(summary.metrics):
        console.print(line, highlight=False, soft_wrap=True)
    console.print(f"run directory: {summary.run_dir}", highlight=False)


def _load(
    name: str, settings: Settings, data: Path | None, store: Any, limit: int | None, seed: int
) -> Suite:
    from evals.suites import CODIESP_SYSTEMS, SuiteError, load_suite

    if name in CODIESP_SYSTEMS and data is None:
        if settings.data_dir is None:
            fail(f"{name}: give --data (a CodiEsp split folder) or set MEDCODER_DATA_DIR", 2)
        data = settings.data_dir / "codiesp" / "dev"
    if data is not None and not data.is_dir():
        fail(f"--data {data}: not a directory")
    try:
        return load_suite(name, data=data, store=store, limit=limit, seed=seed)
    except SuiteError as error:
        fail(str(error))


def _default_out(settings: Settings, suite: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return settings.home / "evals" / f"{suite}-{stamp}"


def _run_info(settings: Settings, mode: str, limit: int | None, seed: int) -> dict[str, Any]:
    """What run.json records about the set-up (never keys or other secrets)."""
    from wiring.adapters import load_history

    llm = {
        "llm_base_url": settings.llm_base_url,
        "llm_context_tokens": settings.llm_context_tokens,
        "llm_max_tool_rounds": settings.llm_max_tool_rounds,
        "llm_fallback": settings.llm_fallback,
    }
    return {
        "proposer": mode,
        "model": settings.llm_model if mode == "llm" else None,
        "settings": {
            "embedder": settings.embedder,
            "history": load_history(settings) is not None,
            "ranker": _ranker_info(settings),
            "limit": limit,
            "seed": seed,
            **(llm if mode == "llm" else {}),
        },
    }


def _ranker_info(settings: Settings) -> dict[str, Any] | None:
    """Which trained ranker coded the run (None: hand-set scores)."""
    from wiring.adapters import load_ranker

    ranker = load_ranker(settings)
    if ranker is None:
        return None
    keys = ("source", "kb_release", "charts", "cross_validation", "thresholds")
    return {key: ranker.info.get(key) for key in keys}


def _run(
    suite: Suite,
    agent: Any,
    out_dir: Path,
    workers: int,
    info: dict[str, Any],
    policy: Policy | None = None,
) -> RunSummary:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from evals.runner import run_suite

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=errors, transient=True) as bar:
        task = bar.add_task(f"{suite.name}", total=len(suite.cases))

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            return run_suite(
                suite, agent, out_dir, workers, progress=advance, info=info, policy=policy
            )
        except _run_stoppers() as error:
            fail(f"{error}; finished cases are kept: run again with --out {out_dir} to continue")
        except KeyboardInterrupt:
            fail(f"interrupted; run again with --out {out_dir} to continue", 130)


def _json_summary(summary: RunSummary) -> dict[str, Any]:
    head = {"suite": summary.suite, "run_dir": str(summary.run_dir), "status": summary.status}
    return head | _rounded(summary.metrics)


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


def _metrics_table(metrics: dict[str, Any], title: str) -> Table:
    from rich.table import Table

    from evals.report import summary_rows

    table = Table("metric", "annotated gold", "valid gold subset", title=title)
    for row in summary_rows(metrics):
        table.add_row(*row)
    return table


def _load_run(path: Path) -> Run:
    from evals.rundir import RunError, load_run

    try:
        return load_run(path)
    except RunError as error:
        fail(str(error))


@app.command("compare")
def compare_command(
    run_a: Annotated[Path, typer.Argument(help="The baseline run directory.")],
    run_b: Annotated[Path, typer.Argument(help="The run compared with it.")],
    as_json: AsJson = False,
) -> None:
    """Per-metric deltas (B minus A) and the cases whose F1 went up or down."""
    from rich.table import Table

    from evals.compare import compare_runs, delta, lower_is_better
    from evals.report import format_value

    comparison = compare_runs(_load_run(run_a), _load_run(run_b))
    if as_json:
        print(json.dumps(_rounded(comparison.as_json())))
        return
    table = Table("metric", "A", "B", "B - A", title=f"{run_a.name} -> {run_b.name}")
    for name, (a, b) in comparison.metrics.items():
        change = delta(a, b)
        better = change is not None and (change < 0 if lower_is_better(name) else change > 0)
        colour = "" if not change else "green" if better else "red"
        shown = format_value(name, change) if change is not None else "-"
        cell = f"[{colour}]{shown}[/]" if colour else shown
        table.add_row(name, format_value(name, a), format_value(name, b), cell)
    console.print(table)
    console.print(
        f"cases: {len(comparison.wins)} better, {len(comparison.losses)} worse, "
        f"{comparison.ties} unchanged; only in A {comparison.only_in_a}, "
        f"only in B {comparison.only_in_b}",
        highlight=False,
    )
    for label, cases in (("better", comparison.wins), ("worse", comparison.losses)):
        for case in cases[:10]:
            console.print(
                f"  {label}: {case.id}  F1 {case.f1_a:.3f} -> {case.f1_b:.3f}",
                highlight=False,
            )


@app.command("report")
def report_command(
    run: Annotated[Path, typer.Argument(help="A run directory.")],
    html: Annotated[bool, typer.Option("--html", help="Also write report.html there.")] = False,
) -> None:
    """Tables of a run's scores, chapters and weakest cases; --html adds figures."""
    from rich.table import Table

    from evals.report import chapter_rows, render_html, worst_cases
    from evals.rundir import RunError
    from evals.scoring import score_run

    loaded = _load_run(run)
    metrics = score_run(loaded.records, loaded.systems)
    console.print(_metrics_table(metrics, f"{loaded.info['suite']}: {len(loaded.records)} cases"))
    chapters = Table("chapter", "P", "R", "F1", "gold", title="ICD-10-CM chapters")
    for row in chapter_rows(loaded):
        chapters.add_row(*row)
    console.print(chapters)
    cases = Table("case", "F1", "missed gold", "extra predicted", title="Lowest-scoring cases")
    for case in worst_cases(loaded, 10):
        cases.add_row(case.id, f"{case.f1:.3f}", " ".join(case.missed), " ".join(case.extra))
    console.print(cases)
    if html:
        try:
            path = render_html(run)
        except (RunError, OSError) as error:
            fail(str(error))
        console.print(f"wrote {path}", highlight=False)


@app.command("cdi")
def cdi_command(
    cases: Annotated[
        Path | None,
        typer.Option(help="A CDI suite in JSON Lines (default: evals/cases/cdi.jsonl)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the metrics as JSON.")] = False,
) -> None:
    """Score the documentation-gap engine on a CDI suite: gap precision and recall, the
    indicators quoted, and the share of compliant query drafts."""
    from evals.cdi import CDI_FILE, load_cdi_cases, score_cdi

    path = cases or CDI_FILE
    try:
        loaded = load_cdi_cases(path)
    except (OSError, ValueError, KeyError) as error:
        fail(f"{path}: not a CDI suite ({error})")
    metrics = score_cdi(loaded).metrics()
    if as_json:
        print(json.dumps(metrics))
        return
    for name in ("cases", "gaps_expected", "gaps_found", "precision", "recall"):
        console.print(f"{name:18} {metrics[name]}", highlight=False)
    for name in ("indicator_recall", "compliant_queries"):
        console.print(f"{name:18} {metrics[name]}", highlight=False)
    for miss in metrics["misses"]:
        console.print(f"missed      {miss}", highlight=False)
    for alarm in metrics["false_alarms"]:
        console.print(f"false alarm {alarm}", highlight=False)
