"""Train the ranker from coded charts: features with out-of-fold history, calibration and
cut-offs chosen by cross-validation on the training charts alone.

The learned history (n-gram associations, code priors) is itself learned from the training
charts, so a chart's own codes must never inform its features: each fold's rows are built
with the history learned from the other folds, as the ranker will see a new chart.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from agent.history import CodedChart, LearnedHistory, learn
from agent.models import Candidate, Chart, Mention, Policy
from agent.ranker.features import FEATURES, ROUTES, feature_rows, gather
from agent.ranker.model import Ranker, SmoothedIsotonic
from agent.ranker.trees import checked_export
from agent.rules import becomes_one_of
from retrieval.store import KnowledgeStore

if TYPE_CHECKING:
    from sklearn.ensemble import HistGradientBoostingClassifier

FOLDS = 5
MIN_CONVENTION_GOLD = 40
THRESHOLD_GRID = tuple(round(0.1 + 0.01 * step, 2) for step in range(71))  # 0.10 .. 0.80


@dataclass(frozen=True)
class TrainingChart:
    """A coded chart with what the agent found in it, and the convention it was coded
    under (CodiEsp codes every concept mentioned; US charts and reviews code claims): one
    model learns from both, and each convention gets the cut-off its own charts choose.

    (Measured: the convention as a feature let the trees split the two apart, and the claims
    side, learned from 210 short charts, then found half the codes it had on long CodiEsp
    case reports.)"""

    chart: Chart
    mentions: list[Mention]
    candidates: list[Candidate]
    codes: frozenset[str]
    policy: Policy = "mentions"


@dataclass
class Rows:
    features: np.ndarray
    labels: np.ndarray
    charts: np.ndarray  # index of the chart each row belongs to
    systems: np.ndarray
    policies: np.ndarray
    gold: dict[str, int]  # gold codes per system and per "policy:system", recall denominators


# Evidence that can only make a code likelier (another route found it, a better section, a
# stronger learned association) or less likely (negated, a relative's): constrained so the
# trees cannot learn the noise of a few hundred charts the other way round.
MONOTONIC = {
    **{f"route_{route}": 1 for route in ROUTES if route not in ("table", "search")},
    "listed": 1,
    "asked_for_by_note": 1,
    "association_strength": 1,
    "association_support": 1,
    "negated": -1,
    "family": -1,
    "negated_share": -1,
}


def _model(seed: int) -> HistGradientBoostingClassifier:
    # Imported here: sklearn takes ~0.5 s to import and only training needs it (a saved
    # ranker brings it in when unpickled).
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(
        max_iter=300,
        learning_rate=0.05,
        max_leaf_nodes=31,
        min_samples_leaf=20,
        l2_regularization=1.0,
        monotonic_cst=[MONOTONIC.get(name, 0) for name in FEATURES],
        # Early stopping holds out a random tenth of the rows: the cut-offs then moved by a
        # few hundredths from one training to the next (measured), and codes near them with.
        early_stopping=False,
        random_state=seed,
    )


def coded_charts(charts: Sequence[TrainingChart]) -> list[CodedChart]:
    return [CodedChart(c.chart.chart_id or str(i), c.chart.text, sorted(c.codes))
            for i, c in enumerate(charts)]  # fmt: skip


def _right(code: str, item: TrainingChart) -> bool:
    """A candidate is right when the chart is coded with it or, for claims, when the
    combination rules make it one of the chart's codes (I10 beside heart failure is I11.0)."""
    return code in item.codes or (item.policy == "claims" and becomes_one_of(code, item.codes))


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
    policies: list[str] = []
    gold: Counter[str] = Counter()
    for i, item in enumerate(charts):
        findings = gather(item.chart, item.mentions, item.candidates, histories[i], store)
        features += feature_rows(findings, item.mentions, histories[i])
        labels += [_right(f.code, item) for f in findings]
        owners += [i] * len(findings)
        systems += [f.system for f in findings]
        policies += [item.policy] * len(findings)
        for code in item.codes:
            system = "pcs" if code[0].isdigit() or (len(code) == 7 and "." not in code) else "cm"
            gold[system] += 1
            gold[f"{item.policy}:{system}"] += 1
    return Rows(
        np.asarray(features, dtype=np.float64).reshape(-1, len(FEATURES)),
        np.asarray(labels, dtype=bool),
        np.asarray(owners),
        np.asarray(systems),
        np.asarray(policies),
        dict(gold),
    )


def _mask(rows: Rows, key: str) -> np.ndarray:
    """Rows of a system ("cm") or of a system under one convention ("claims:cm")."""
    policy, _, system = key.rpartition(":")
    mask = rows.systems == system
    return mask & (rows.policies == policy) if policy else mask


def f1_at(probabilities: np.ndarray, rows: Rows, key: str, threshold: float) -> float:
    chosen = (probabilities >= threshold) & _mask(rows, key)
    hits = int((chosen & rows.labels).sum())
    predicted, gold = int(chosen.sum()), rows.gold.get(key, 0)
    return 2 * hits / (predicted + gold) if predicted + gold else 0.0


# Cut-offs whose cross-validated F1 is within this share of the best are as good as it.
F1_TOLERANCE = 0.025


def _steady_cutoff(f1s: Sequence[float]) -> float:
    """The middle of the cut-offs that score within F1_TOLERANCE of the best F1.

    The F1 curve is flat near its top, for claims with two humps (0.37 and 0.45 on the US
    charts), and which hump is highest depends on how the charts fall into folds: the same
    rows cross-validated over six fold draws put the highest point anywhere from 0.33 to
    0.45 (measured), and an absolute band of 0.003 moved the cut-off as far (standard
    deviation 0.048). A band of 2.5 % of the best spans both humps: the same six draws gave
    0.37-0.41 (standard deviation 0.015), each within 0.011 of its best F1."""
    top = max(f1s)
    near = [t for t, f1 in zip(THRESHOLD_GRID, f1s, strict=True) if f1 >= top * (1 - F1_TOLERANCE)]
    return near[len(near) // 2]


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
    calibration = SmoothedIsotonic.fit(raw, rows.labels.astype(float))
    calibrated = calibration.predict(raw)
    thresholds, report = {}, {}
    # One cut-off per system, and one per convention where its charts have gold enough to
    # choose one (a handful of charts would pick a cut-off by chance).
    keys = ["cm", "pcs"] + [f"{p}:{s}" for p in ("claims", "mentions") for s in ("cm", "pcs")]
    for key in keys:
        gold = rows.gold.get(key, 0)
        if not gold or (":" in key and gold < MIN_CONVENTION_GOLD):
            continue
        best = _steady_cutoff([f1_at(calibrated, rows, key, t) for t in THRESHOLD_GRID])
        thresholds[key] = best
        report[key] = {"cv_f1": round(f1_at(calibrated, rows, key, best), 4),
                       "threshold": best, "gold_codes": gold,
                       "candidate_recall": round(
                           float((rows.labels & _mask(rows, key)).sum()) / gold, 4)}  # fmt: skip
    model = _model(seed).fit(rows.features, rows.labels)
    info = {
        "charts": len(charts),
        "rows": len(rows.labels),
        "folds": folds,
        "learner": "sklearn HistGradientBoostingClassifier + smoothed isotonic calibration",
        "cross_validation": report,
    }
    trees = checked_export(model, rows.features)  # coding reads these, not scikit-learn
    return Ranker(model, calibration, thresholds, FEATURES, info, trees), info
