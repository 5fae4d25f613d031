"""`medcoder learn`: phrase -> code associations from charts coders already coded."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import track

from agent.chart import build_chart
from agent.history import CodedChart, HistoryStore, learn
from agent.lexicon import Lexicon
from agent.mentions import find_mentions
from agent.models import ChartMeta
from api.cli.common import console, fail, load_settings, user_errors
from api.wiring import history_path, make_searcher
from evals.suites.codiesp import SuiteError, load_codiesp


def learn_command(
    codiesp: Annotated[
        Path, typer.Option("--codiesp", help="A CodiEsp split folder; use the train split only.")
    ],
) -> None:
    """Learn from CodiEsp-format coded charts (dev and test must never go in)."""
    if codiesp.name in ("dev", "test"):
        fail(f"{codiesp}: the {codiesp.name} split is for evaluation; learn from train only")
    settings = load_settings()
    try:
        docs = load_codiesp(codiesp)
    except SuiteError as error:
        fail(str(error))
    with user_errors():
        searcher = make_searcher(settings)
        lexicon = Lexicon.from_store(searcher.store)
        charts = []
        for doc in track(docs, description="reading coded charts", console=console):
            chart = build_chart(doc.text, ChartMeta())
            phrases = [m.text for m in find_mentions(chart, lexicon)]
            charts.append(CodedChart(doc.doc_id, phrases, doc.diagnoses + doc.procedures))
        rows = learn(charts, searcher.store)
        store = HistoryStore(history_path(settings))
        store.replace_source(f"codiesp:{codiesp.resolve()}", rows)
        total = store.count()
        store.close()
    console.print(
        f"learned {len(rows):,} phrase -> code associations from {len(docs)} charts "
        f"({total:,} in the history store)"
    )
