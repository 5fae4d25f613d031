"""A run's report: the numbers as rows (the CLI prints them as tables) and a self-contained
report.html with the figures embedded as PNG data URIs."""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals.chapters import chapter_order
from evals.figures import (
    f1_by_chapter_png,
    latency_histogram_png,
    pr_by_threshold_png,
    reliability_png,
)
from evals.rundir import Run, load_run
from evals.scoring import case_f1, f1_by_chapter, gold, pr_by_threshold, ranked, score_run

REPORT_FILE = "report.html"
_RATES = ("precision", "recall", "f1", "map", "validity", "rate", "accuracy", "overlap")


@dataclass
class CaseResult:
    id: str
    f1: float
    missed: list[str]
    extra: list[str]


def format_value(name: str, value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and any(part in name for part in _RATES):
        return f"{value:.3f}"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 1 or value == 0 else f"{value:.4f}"
    return str(value)


_HEADLINE = (
    "precision",
    "recall",
    "f1",
    "macro_f1",
    "map",
    "ranked_map",
    "category_f1",
    "gold_codes",
)
_CHECKS = (
    "gold_not_valid",
    "must_not_proposed",
    "first_correct",
    "nothing_proposed",
    "principal_accuracy",
    "invalid_code_rate",
    "span_validity",
    "citation_validity",
    "evidence_overlap",
    "cost_per_chart_usd",
)
_RUN_KEYS = (
    "suite",
    "source",
    "status",
    "cases",
    "proposer",
    "model",
    "prompt_version",
    "kb_release",
    "started",
    "finished",
    "workers",
    "settings",
    "policy",
)


def summary_rows(metrics: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(metric, annotated gold, valid gold subset) for the headline numbers."""
    valid = metrics.get("valid_subset", {})
    rows = [(n, format_value(n, metrics.get(n)), format_value(n, valid.get(n))) for n in _HEADLINE]
    rows += [(n, format_value(n, metrics.get(n)), "") for n in _CHECKS]
    carried = metrics.get("carried_forward", {})
    rows.append(("f1, gold carried forward", format_value("f1", carried.get("f1")), ""))
    ece = metrics.get("calibration", {}).get("expected_calibration_error")
    rows.append(("expected calibration error", format_value("error_rate", ece), ""))
    latency, tokens = metrics.get("latency_ms", {}), metrics.get("tokens_per_chart", {})
    p50, p95 = latency.get("p50", 0.0), latency.get("p95", 0.0)
    rows.append(("latency p50 / p95 (ms)", f"{p50:.0f} / {p95:.0f}", ""))
    prompt, completion = tokens.get("prompt", 0.0), tokens.get("completion", 0.0)
    rows.append(("tokens per chart (prompt / completion)", f"{prompt:.0f} / {completion:.0f}", ""))
    return rows


def chapter_rows(run: Run) -> list[tuple[str, str, str, str, str]]:
    scores = f1_by_chapter(run.records)
    return [
        (name, f"{s.precision:.3f}", f"{s.recall:.3f}", f"{s.f1:.3f}", str(s.gold))
        for name, s in sorted(scores.items(), key=lambda item: chapter_order(item[0]))
    ]


def worst_cases(run: Run, limit: int = 15) -> list[CaseResult]:
    results = []
    for record in run.records:
        predicted, reference = ranked(record, run.systems), gold(record, run.systems)
        results.append(
            CaseResult(
                record.id,
                case_f1(record, run.systems),
                [c for c in reference if c not in predicted],
                [c for c in predicted if c not in reference],
            )
        )
    return sorted(results, key=lambda r: (r.f1, r.id))[:limit]


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _image(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def render_html(run_dir: Path) -> Path:
    """Write <run_dir>/report.html and return its path (raises RunError on a bad run dir)."""
    run = load_run(run_dir)
    metrics = score_run(run.records, run.systems)
    info_rows = [(key, str(run.info.get(key))) for key in _RUN_KEYS]
    cases = [(c.id, f"{c.f1:.3f}", " ".join(c.missed), " ".join(c.extra)) for c in worst_cases(run)]
    sections = [
        f"<h1>Evaluation: {html.escape(str(run.info['suite']))}</h1>",
        _table(("run", ""), info_rows),
        f"<h2>Scores ({len(run.records)} cases)</h2>",
        _table(("metric", "annotated gold", "valid gold subset"), summary_rows(metrics)),
        "<h2>Figures</h2>",
        _image(f1_by_chapter_png(f1_by_chapter(run.records)), "F1 by ICD-10-CM chapter"),
        _image(pr_by_threshold_png(pr_by_threshold(run.records, run.systems)), "precision-recall"),
        _image(latency_histogram_png([r.latency_ms for r in run.records]), "latency histogram"),
        _image(reliability_png(metrics["calibration"]), "reliability diagram"),
        "<h2>F1 by ICD-10-CM chapter</h2>",
        _table(("chapter", "precision", "recall", "F1", "gold"), chapter_rows(run)),
        "<h2>Lowest-scoring cases</h2>",
        _table(("case", "F1", "missed gold", "extra predicted"), cases),
    ]
    style = (
        "body{font-family:sans-serif;margin:2em;max-width:70em}"
        "table{border-collapse:collapse;margin:1em 0}"
        "td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left}"
        "img{display:block;margin:1em 0;max-width:100%}"
    )
    page = (
        f'<!doctype html><html><head><meta charset="utf-8"><title>medcoder eval '
        f"{html.escape(str(run.info['suite']))}</title><style>{style}</style></head>"
        f"<body>{''.join(sections)}</body></html>"
    )
    path = run_dir / REPORT_FILE
    path.write_text(page, encoding="utf-8")
    return path
