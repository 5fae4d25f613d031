"""`medcoder learn`: the coded history and the candidate ranker, from charts already coded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import track

from agent.candidates import find_candidates
from agent.chart import build_chart
from agent.history import HistoryStore, learn
from agent.mentions import find_mentions
from agent.models import ChartMeta
from agent.ranker import TrainingChart, coded_charts, fit_ranker
from agent.rules import resolve_code
from api.cli.common import console, fail, load_settings, user_errors
from api.wiring import cached_lexicon, history_path, make_searcher, ranker_dir
from evals.records import carried_forward
from evals.suites.codiesp import SuiteError, load_codiesp
from retrieval.store import KnowledgeStore


def learn_command(
    codiesp: Annotated[
        Path, typer.Option("--codiesp", help="A CodiEsp split folder; use the train split only.")
    ],
    folds: Annotated[int, typer.Option(min=2, max=20, help="Cross-validation folds.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print the training report.")] = False,
) -> None:
    """Learn n-gram -> code history and train the ranker from CodiEsp-format coded charts
    (dev and test must never go in: they are for evaluation)."""
    if codiesp.name in ("dev", "test"):
        fail(f"{codiesp}: the {codiesp.name} split is for evaluation; learn from train only")
    settings = load_settings()
    try:
        docs = load_codiesp(codiesp)
    except SuiteError as error:
        fail(str(error))
    with user_errors():
        searcher = make_searcher(settings)
        lexicon = cached_lexicon(searcher)
        release = str(searcher.store.meta().get("release", ""))
        charts = []
        for doc in track(docs, description="reading coded charts", console=console):
            chart = build_chart(doc.text, ChartMeta(setting="inpatient"), chart_id=doc.doc_id)
            mentions = find_mentions(chart, lexicon)
            candidates = find_candidates(chart, mentions, searcher, lexicon)
            codes = _billable(doc.diagnoses + doc.procedures, searcher.store)
            charts.append(TrainingChart(chart, mentions, candidates, codes))
        console.print(f"training the ranker on {len(charts)} charts ({folds}-fold CV) ...")
        ranker, report = fit_ranker(charts, searcher.store, folds=folds)
        source = f"codiesp:{codiesp.resolve()}"
        ranker.info |= {"source": source, "kb_release": release}
        saved = ranker.save(ranker_dir(settings))
        history = learn(coded_charts(charts))
        store = HistoryStore(history_path(settings))
        store.replace_source(source, history)
        total = store.count()
        store.close()
    report = ranker.info | {"associations": total, "ranker_file": str(saved)}
    if as_json:
        print(json.dumps(report, sort_keys=True))
        return
    for system, scores in report["cross_validation"].items():
        console.print(
            f"{system}: cut-off {scores['threshold']:.2f}, cross-validated F1 "
            f"{scores['cv_f1']:.3f}, candidate recall {scores['candidate_recall']:.3f}"
        )
    console.print(
        f"learned {total:,} n-gram -> code associations from {len(docs)} charts; "
        f"ranker saved to {saved}"
    )


def _billable(codes: list[str], store: KnowledgeStore) -> frozenset[str]:
    """The gold codes as billable codes of the loaded code set, carried forward as the eval's
    carried-forward gold is: a code since subdivided, or annotated without its 7th character
    (CodiEsp's S and T codes), goes to its default child. Left as annotated, every correctly
    completed injury code would be learned as wrong."""
    carried = (carried_forward(store, *resolve_code(raw, store)) for raw in codes)
    return frozenset(code for code in carried if code)
