"""`medcoder chat FILE`: code a chart offline, then ask questions about it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from api.cli.common import console, fail, load_settings, user_errors

if TYPE_CHECKING:
    from agent.chat import ChatAnswer

QUIT = {"", "exit", "quit"}


def chat_command(
    file: Annotated[str, typer.Argument(help="A .txt chart, a FHIR R4 .json, or - for stdin.")],
    ask: Annotated[
        str | None, typer.Option("--ask", help="Answer this one question and exit.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="With --ask: print the answer as JSON.")
    ] = False,
    setting: Annotated[Literal["inpatient", "outpatient"], typer.Option()] = "inpatient",
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Reference data folder (models).")
    ] = None,
) -> None:
    """Code the chart offline, then answer questions about it from the chart, its proposals
    and the knowledge base, every citation verified: why a code, is something mentioned,
    the code for a phrase, a code's notes, guideline sections. Without --ask, a prompt
    loop (an empty line or "exit" quits) where follow-ups refer back."""
    from rich.prompt import Prompt

    from agent.chart import load_chart
    from agent.chat import Turn
    from agent.chat.context import result_context
    from agent.models import ChartError, ChartMeta
    from api.cli.code import read_input
    from retrieval.errors import QueryError
    from wiring.adapters import make_agent, make_chat_answerer

    if as_json and ask is None:
        fail("--json needs --ask (the prompt loop prints text)", 2)
    settings = load_settings(data_dir)
    if ask is not None:
        ask = _checked(ask, settings.chat_question_max_chars)
    try:
        chart = load_chart(
            read_input(file),
            meta=ChartMeta(setting=setting),
            max_bytes=settings.max_chart_bytes,
            source_name=file,
        )
    except ChartError as error:
        fail(str(error))
    with user_errors():
        agent = make_agent(settings, "offline")
        try:
            result = agent.code(chart)
        except ChartError as error:
            fail(str(error))
        context = result_context(agent, chart, result)
    answerer = make_chat_answerer(settings)

    def answer(question: str, history: list[Turn]) -> ChatAnswer:
        with user_errors():
            try:
                return answerer.answer(question, context, history)
            except QueryError as error:
                fail(str(error))

    if ask is not None:
        found = answer(ask, [])
        if as_json:
            print(found.model_dump_json(indent=2))
        else:
            _show(found)
        return
    codes = ", ".join(p.code for p in result.proposals) or "none"
    console.print(
        f"FY{context.chart.fiscal_year} code set; proposals: {codes}. Ask about this chart "
        '(an empty line or "exit" quits).',
        highlight=False,
        markup=False,
    )
    for warning in result.warnings:
        console.print(f"warning: {warning}", style="yellow", highlight=False, markup=False)
    history: list[Turn] = []
    while True:
        try:
            question = Prompt.ask("[bold]?[/]", console=console, default="", show_default=False)
        except EOFError:
            break
        if question.strip().lower() in QUIT:
            break
        if len(question.strip()) > settings.chat_question_max_chars:
            console.print(
                f"at most {settings.chat_question_max_chars} characters; ask something shorter",
                highlight=False,
            )
            continue
        found = answer(question.strip(), history)
        _show(found)
        history.append(Turn(question=question.strip(), answer=found))


def _checked(question: str, max_chars: int) -> str:
    text = question.strip()
    if not text:
        fail("--ask: the question is empty", 2)
    if len(text) > max_chars:
        fail(f"--ask: the question is {len(text)} characters; at most {max_chars}", 2)
    return text


def _show(answer: ChatAnswer) -> None:
    from agent.chat import ChartQuote, KbSource

    # Chart text may hold [brackets]: printed as is, never read as Rich markup.
    console.print(answer.text, highlight=False, markup=False)
    for citation in answer.citations:
        if isinstance(citation, ChartQuote):
            flags = f" [{', '.join(citation.flags)}]" if citation.flags else ""
            line = f'  chart {citation.start}-{citation.end}: "{citation.quote}"{flags}'
        elif isinstance(citation, KbSource):
            line = f"  kb {citation.source_id}" + (f" ({citation.label})" if citation.label else "")
        else:
            line = f"  guideline {citation.section_id}"
        console.print(line, style="dim", highlight=False, markup=False)
