"""Scoring functions: plain data in, numbers out (no I/O), as the CodiEsp track defines them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class PRF:
    precision: float
    recall: float
    f1: float
    true_positives: int
    predicted: int
    gold: int


def prf(true_positives: int, predicted: int, gold: int) -> PRF:
    precision = true_positives / predicted if predicted else 0.0
    recall = true_positives / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return PRF(precision, recall, f1, true_positives, predicted, gold)


def micro_prf(predicted: Sequence[Sequence[str]], gold: Sequence[Sequence[str]]) -> PRF:
    """Micro-averaged over documents; each document's codes count once."""
    tp = sum(len(set(p) & set(g)) for p, g in zip(predicted, gold, strict=True))
    return prf(tp, sum(len(set(p)) for p in predicted), sum(len(set(g)) for g in gold))


def average_precision(ranked: Sequence[str], gold: Sequence[str]) -> float:
    """AP of one ranked prediction list: mean of precision@k at each relevant rank, over
    all gold codes (missed gold codes count as zero)."""
    relevant = set(gold)
    if not relevant:
        return 0.0
    hits, total, seen = 0, 0.0, set()
    for rank, code in enumerate(ranked, start=1):
        if code in relevant and code not in seen:
            hits += 1
            total += hits / rank
        seen.add(code)
    return total / len(relevant)


def mean_average_precision(ranked: Sequence[Sequence[str]], gold: Sequence[Sequence[str]]) -> float:
    """MAP over documents that have gold codes (as the CodiEsp evaluation does)."""
    scores = [average_precision(r, g) for r, g in zip(ranked, gold, strict=True) if g]
    return sum(scores) / len(scores) if scores else 0.0


def category(code: str) -> str:
    """The 3-character category of a CM code (the first 4 characters of a PCS code: table
    plus body part would be another choice; CodiEsp uses the first 3 for both)."""
    return code.replace(".", "")[:3]


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def reliability(
    confidences: Sequence[float], correct: Sequence[bool], bins: int = 10
) -> list[tuple[float, float, int]]:
    """(mean confidence, share correct, count) per equal-width confidence bin, empty bins
    left out: the points of a reliability diagram."""
    filled: dict[int, list[tuple[float, bool]]] = {}
    for confidence, right in zip(confidences, correct, strict=True):
        filled.setdefault(min(int(confidence * bins), bins - 1), []).append((confidence, right))
    points = []
    for _, items in sorted(filled.items()):
        mean = sum(c for c, _ in items) / len(items)
        points.append((mean, sum(r for _, r in items) / len(items), len(items)))
    return points


def expected_calibration_error(
    confidences: Sequence[float], correct: Sequence[bool], bins: int = 10
) -> float:
    """Count-weighted mean |share correct - mean confidence| over the reliability bins."""
    points = reliability(confidences, correct, bins)
    total = sum(n for _, _, n in points)
    return sum(n * abs(right - mean) for mean, right, n in points) / total if total else 0.0
