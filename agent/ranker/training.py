"""Train the ranker from coded charts: features with out-of-fold history, calibration and
cut-offs chosen by cross-validation on the training charts alone.

The learned history (n-gram associations, code priors) is itself learned from the training
charts, so a chart's own codes must never inform its features: each fold's rows are built
with the history learned from the other folds, as the ranker will see a new chart.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.isotonic import IsotonicRegression

from agent.history import CodedChart, LearnedHistory, learn
from agent.models import Candidate, Chart, Mention
from agent.ranker.features import FEATURES, feature_rows, gather
from agent.ranker.model import Ranker
from retrieval.store import KnowledgeStore

FOLDS = 5
THRESHOLD_GRID = tuple(round(0.1 + 0.01 * step, 2) for step in range(71))  # 0.10 .. 0.80


@dataclass(frozen=True)
class TrainingChart:
    """A coded chart with what the agent found in it."""

    chart: Chart
    mentions: list[Mention]
    candidates: list[Candidate]
    codes: frozenset[str]


@dataclass
class Rows:
    features: np.ndarray
    labels: np.ndarray
    charts: np.ndarray  # index of the chart each row belongs to
    systems: np.ndarray
    gold: dict[str, int]  # gold codes per system, the recall denominator


def _model(seed: int) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(
        max_iter=300,
        learning_rate=0.05,
        max_leaf_nodes=31,
        min_samples_leaf=20,
        l2_regularization=1.0,
        random_state=seed,
    )


def coded_charts(charts: Sequence[TrainingChart]) -> list[CodedChart]:
    return [CodedChart(c.chart.chart_id or str(i), c.chart.text, sorted(c.codes))
            for i, c in enumerate(charts)]  # fmt: skip


def build_rows(
    charts: Sequence[TrainingChart],
    histories: Sequence[LearnedHistory | None],
    store: KnowledgeStore,
) -> Rows:
    """Feature rows of every candidate code of every chart; `histories[i]` is the history
    chart i may see (learned without it)."""
    features: list[list[float]] = []
    labels: list[bool] = []
    owners: list[int] = []
    systems: list[str] = []
    gold = {"cm": 0, "pcs": 0}
    for i, item in enumerate(charts):
        findings = gather(item.chart, item.mentions, item.candidates, histories[i], store)
        features += feature_rows(findings, item.mentions, histories[i])
        labels += [f.code in item.codes for f in findings]
        owners += [i] * len(findings)
        systems += [f.system for f in findings]
        for code in item.codes:
            gold["pcs" if code[0].isdigit() or (len(code) == 7 and "." not in code) else "cm"] += 1
    return Rows(
        np.asarray(features, dtype=np.float64).reshape(-1, len(FEATURES)),
        np.asarray(labels, dtype=bool),
        np.asarray(owners),
        np.asarray(systems),
        gold,
    )


def f1_at(probabilities: np.ndarray, rows: Rows, system: str, threshold: float) -> float:
    chosen = (probabilities >= threshold) & (rows.systems == system)
    hits = int((chosen & rows.labels).sum())
    predicted, gold = int(chosen.sum()), rows.gold[system]
    return 2 * hits / (predicted + gold) if predicted + gold else 0.0


def fit_ranker(
    charts: Sequence[TrainingChart], store: KnowledgeStore, *, folds: int = FOLDS, seed: int = 0
) -> tuple[Ranker, dict[str, Any]]:
    """The ranker trained on every chart, with calibration and cut-offs from `folds`-fold
    cross-validation, and the cross-validated scores."""
    order = list(range(len(charts)))
    random.Random(seed).shuffle(order)
    fold_of = {chart: n % folds for n, chart in enumerate(order)}
    everything = coded_charts(charts)
    fold_histories = [
        learn([c for i, c in enumerate(everything) if fold_of[i] != k]) for k in range(folds)
    ]
    rows = build_rows(charts, [fold_histories[fold_of[i]] for i in range(len(charts))], store)
    row_folds = np.asarray([fold_of[int(i)] for i in rows.charts])
    raw = np.zeros(len(rows.labels))
    for k in range(folds):
        inside = row_folds == k
        model = _model(seed).fit(rows.features[~inside], rows.labels[~inside])
        raw[inside] = model.predict_proba(rows.features[inside])[:, 1]
    calibration = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
    calibrated = calibration.fit(raw, rows.labels.astype(float)).predict(raw)
    thresholds, report = {}, {}
    for system in ("cm", "pcs"):
        if not rows.gold[system]:
            continue
        best = max(THRESHOLD_GRID, key=lambda t: (f1_at(calibrated, rows, system, t), -t))
        thresholds[system] = best
        report[system] = {"cv_f1": round(f1_at(calibrated, rows, system, best), 4),
                          "threshold": best, "gold_codes": rows.gold[system],
                          "candidate_recall": round(
                              float((rows.labels & (rows.systems == system)).sum())
                              / rows.gold[system], 4)}  # fmt: skip
    model = _model(seed).fit(rows.features, rows.labels)
    info = {
        "charts": len(charts),
        "rows": len(rows.labels),
        "folds": folds,
        "learner": "sklearn HistGradientBoostingClassifier + isotonic calibration",
        "cross_validation": report,
    }
    return Ranker(model, calibration, thresholds, FEATURES, info), info
