"""The report's figures as PNG bytes, drawn with matplotlib's Agg canvas (no display, no
pyplot global state, so it is safe from a web worker thread)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from evals.chapters import chapter_order
from evals.metrics import PRF


def _png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return buffer.getvalue()


def f1_by_chapter_png(scores: dict[str, PRF]) -> bytes:
    chapters = sorted(scores, key=chapter_order)
    figure = Figure(figsize=(8, 0.35 * max(len(chapters), 3) + 1))
    axes = figure.add_subplot()
    f1 = [scores[c].f1 for c in chapters]
    axes.barh(chapters, f1, color="#4c72b0")
    for y, chapter in enumerate(chapters):
        axes.text(min(f1[y] + 0.01, 0.9), y, f"n={scores[chapter].gold}", va="center", fontsize=8)
    axes.set_xlim(0, 1)
    axes.invert_yaxis()
    axes.set_xlabel("F1 (ICD-10-CM codes; n = gold codes in the chapter)")
    axes.set_title("F1 by ICD-10-CM chapter")
    return _png(figure)


def pr_by_threshold_png(points: Sequence[tuple[float, PRF]]) -> bytes:
    figure = Figure(figsize=(8, 4))
    left, right = figure.subplots(1, 2)
    thresholds = [t for t, _ in points]
    for name, color in (("precision", "#4c72b0"), ("recall", "#dd8452"), ("f1", "#55a868")):
        left.plot(thresholds, [getattr(s, name) for _, s in points], label=name, color=color)
    left.set_xlabel("confidence threshold")
    left.set_ylim(0, 1)
    left.legend()
    left.set_title("By confidence threshold")
    right.plot([s.recall for _, s in points], [s.precision for _, s in points], marker=".")
    right.set_xlabel("recall")
    right.set_ylabel("precision")
    right.set_xlim(0, 1)
    right.set_ylim(0, 1)
    right.set_title("Precision-recall")
    return _png(figure)


def latency_histogram_png(latencies_ms: Sequence[float]) -> bytes:
    figure = Figure(figsize=(8, 3.5))
    axes = figure.add_subplot()
    axes.hist(list(latencies_ms) or [0.0], bins=30, color="#8172b3")
    axes.set_xlabel("latency per chart (ms)")
    axes.set_ylabel("charts")
    axes.set_title("Latency")
    return _png(figure)


def reliability_png(calibration: dict[str, Any]) -> bytes:
    """Reliability diagram: share correct against mean confidence per confidence bin."""
    points = calibration.get("reliability", [])
    figure = Figure(figsize=(5, 5))
    axes = figure.add_subplot()
    axes.plot([0, 1], [0, 1], linestyle="--", color="#999999", label="perfectly calibrated")
    axes.plot(
        [p["confidence"] for p in points],
        [p["accuracy"] for p in points],
        marker="o",
        color="#4c72b0",
        label="codes shown (proposed and considered)",
    )
    for point in points:
        axes.annotate(str(point["codes"]), (point["confidence"], point["accuracy"]), fontsize=7)
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.set_xlabel("confidence")
    axes.set_ylabel("share correct")
    ece = calibration.get("expected_calibration_error", 0.0)
    axes.set_title(f"Reliability (expected calibration error {ece:.3f})")
    axes.legend(loc="upper left", fontsize=8)
    return _png(figure)
