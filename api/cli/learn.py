"""`medcoder learn`: the coded history and the candidate ranker, from charts already coded:
CodiEsp train, charts written by hand as training cases, and charts coders committed in review."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli.common import console, fail, load_settings, user_errors

if TYPE_CHECKING:
    from agent.models import ChartMeta, Policy
    from retrieval.store import KnowledgeStore
    from wiring.settings import Settings

# Fewer coded charts than this cannot support 5-fold cross-validated cut-offs.
MIN_CHARTS = 20
_ROOT = Path(__file__).resolve().parents[2]
# Evaluation suites live here; a case learned from would be scored on itself.
_EVAL_CASES = (_ROOT / "evals" / "cases").resolve()
# US-style charts coded under the Official Guidelines, written for training (never scored).
BUILTIN_CASES = _ROOT / "agent" / "ranker" / "cases"


def builtin_case_files() -> list[Path]:
    return sorted(BUILTIN_CASES.glob("*.jsonl"))


@dataclass
class CodedDoc:
    doc_id: str
    text: str
    meta: ChartMeta
    codes: list[str]
    # CodiEsp's annotators coded every concept mentioned; the US charts and the committed
    # reviews are coded for claims. The ranker learns both conventions apart.
    policy: Policy = "claims"
    # The fiscal year the codes belong to (None: the knowledge base's base year, FY2026 for
    # CodiEsp's 2020 annotations and the hand-written cases).
    year: int | None = None


def learn_command(
    codiesp: Annotated[
        Path | None,
        typer.Option("--codiesp", help="A CodiEsp split folder; use the train split only."),
    ] = None,
    cases: Annotated[
        list[Path] | None,
        typer.Option(
            "--cases",
            help="JSON Lines charts with gold codes (the rules-suite format); "
            "training cases, never an evaluation suite. Repeatable.",
        ),
    ] = None,
    builtin_cases: Annotated[
        bool,
        typer.Option(
            "--builtin-cases/--no-builtin-cases",
            help="Also learn from medcoder's own US-style training charts "
            "(agent/ranker/cases/*.jsonl).",
        ),
    ] = True,
    reviews: Annotated[
        bool,
        typer.Option(
            "--reviews",
            help="Also learn from every chart committed in the review "
            "database (MEDCODER_DATABASE_URL, else the local SQLite).",
        ),
    ] = False,
    folds: Annotated[int, typer.Option(min=2, max=20, help="Cross-validation folds.")] = 5,
    seed: Annotated[
        int,
        typer.Option(
            help="Seed of the cross-validation folds and the model: another seed "
            "shows how much the scores owe to the draw."
        ),
    ] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the training report.")] = False,
) -> None:
    """Learn n-gram -> code history and train the ranker from coded charts. The ranker is
    trained on every source given in this run (give them all each time); dev and test splits
    and the evaluation suites must never go in: they are for evaluation."""
    # Imported here: the agent, sklearn and the KB are no cost of other commands' start.
    from rich.progress import track

    from agent.candidates import find_candidates
    from agent.chart import build_chart
    from agent.history import HistoryStore, learn
    from agent.mentions import find_mentions
    from agent.ranker import TrainingChart, coded_charts, fit_ranker
    from wiring.adapters import cached_lexicon, history_path, make_searcher, ranker_dir

    settings = load_settings()
    sources: dict[str, list[CodedDoc]] = {}
    if codiesp is not None:
        sources[f"codiesp:{codiesp.resolve()}"] = _codiesp_docs(codiesp)
    for path in [*(builtin_case_files() if builtin_cases else []), *(cases or [])]:
        sources[f"cases:{path.resolve()}"] = _case_docs(path)
    if reviews:
        sources["reviews"] = _review_docs(settings)
    if not sources:
        fail("nothing to learn from: give --codiesp DIR, --cases FILE or --reviews")
    total_docs = sum(len(docs) for docs in sources.values())
    if total_docs < MIN_CHARTS:
        fail(f"only {total_docs} coded charts; the ranker needs at least {MIN_CHARTS} "
             "(add --codiesp with the CodiEsp train split)")  # fmt: skip
    with user_errors():
        searcher = make_searcher(settings)
        lexicon = cached_lexicon(searcher)
        release = str(searcher.store.meta().get("release", ""))
        by_source: dict[str, list[TrainingChart]] = {}
        for source, docs in sources.items():
            charts = by_source.setdefault(source, [])
            for doc in track(docs, description=f"reading {source.split(':')[0]}", console=console):
                chart = build_chart(doc.text, doc.meta, chart_id=doc.doc_id)
                mentions = find_mentions(chart, lexicon)
                coded_in = searcher.for_year(doc.year)
                candidates = find_candidates(chart, mentions, coded_in, lexicon)
                codes = _billable(doc.codes, coded_in.store)
                charts.append(TrainingChart(chart, mentions, candidates, codes, doc.policy))
        everything = [chart for charts in by_source.values() for chart in charts]
        console.print(f"training the ranker on {len(everything)} charts ({folds}-fold CV) ...")
        ranker, _ = fit_ranker(everything, searcher.store, folds=folds, seed=seed)
        counts = {source: len(charts) for source, charts in by_source.items()}
        ranker.info |= {"source": ", ".join(sources), "sources": counts, "kb_release": release}
        saved = ranker.save(ranker_dir(settings))
        store = HistoryStore(history_path(settings))
        for source, charts in by_source.items():
            store.replace_source(source, learn(coded_charts(charts)))
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
    parts = ", ".join(f"{n} {source.split(':')[0]}" for source, n in counts.items())
    console.print(
        f"learned {total:,} n-gram -> code associations from {total_docs} charts ({parts}); "
        f"ranker saved to {saved}"
    )


def _codiesp_docs(folder: Path) -> list[CodedDoc]:
    from agent.models import ChartMeta
    from evals.suite import SuiteError
    from evals.suites.codiesp import load_codiesp

    if folder.name in ("dev", "test"):
        fail(f"{folder}: the {folder.name} split is for evaluation; learn from train only")
    try:
        docs = load_codiesp(folder)
    except SuiteError as error:
        fail(str(error))
    # CodiEsp's clinical cases are hospital reports; coded as an inpatient record.
    meta = ChartMeta(setting="inpatient")
    return [CodedDoc(d.doc_id, d.text, meta, d.diagnoses + d.procedures, "mentions") for d in docs]


def _case_docs(path: Path) -> list[CodedDoc]:
    from evals.suite import SuiteError
    from evals.suites.jsonl import load_jsonl_suite

    if path.resolve().is_relative_to(_EVAL_CASES):
        fail(f"{path}: this is an evaluation suite; learning from it would score it on itself")
    try:
        suite = load_jsonl_suite(path)
    except SuiteError as error:
        fail(str(error))
    return [CodedDoc(f"case:{c.case_id}", c.text, c.meta, [g.code for g in c.gold])
            for c in suite.cases]  # fmt: skip


def _review_docs(settings: Settings) -> list[CodedDoc]:
    from review.db import make_engine, sessions, transaction, upgrade
    from review.learning import reviewed_charts

    url = settings.review_database_url
    upgrade(url)
    engine = make_engine(url)
    try:
        with transaction(sessions(engine)) as session:
            labels = reviewed_charts(session)
    finally:
        engine.dispose()
    console.print(
        f"{len(labels.charts)} committed charts in review; decisions: "
        + (", ".join(f"{n} {status}" for status, n in labels.decisions.items()) or "none")
    )
    return [
        CodedDoc(c.source_id, c.text, c.meta, list(c.codes), year=c.fiscal_year)
        for c in labels.charts
    ]


def _billable(codes: list[str], store: KnowledgeStore) -> frozenset[str]:
    """The gold codes as billable codes of the loaded code set, carried forward as the eval's
    carried-forward gold is: a code since subdivided, or annotated without its 7th character
    (CodiEsp's S and T codes), goes to its default child. Left as annotated, every correctly
    completed injury code would be learned as wrong."""
    from agent.rules import resolve_code
    from evals.records import carried_forward

    carried = (carried_forward(store, *resolve_code(raw, store)) for raw in codes)
    return frozenset(code for code in carried if code)
