"""Two runs side by side: the change in every metric, and the cases that got better or worse."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from evals.rundir import Run
from evals.scoring import case_f1, score_run

# Metrics where a smaller number is the better one (the CLI colours deltas by this).
LOWER_IS_BETTER = (
    "invalid_code_rate",
    "latency_ms",
    "tokens_per_chart",
    "cost",
    "model_calls",
    "calibration.expected_calibration_error",
    "must_not_proposed",
    "nothing_proposed",
)


@dataclass
class CaseChange:
    id: str
    f1_a: float
    f1_b: float


@dataclass
class Comparison:
    run_a: str
    run_b: str
    metrics: dict[str, tuple[float | None, float | None]]  # name -> (a, b)
    wins: list[CaseChange] = field(default_factory=list)  # F1 higher in b
    losses: list[CaseChange] = field(default_factory=list)  # F1 lower in b
    ties: int = 0
    only_in_a: int = 0
    only_in_b: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "run_a": self.run_a,
            "run_b": self.run_b,
            "metrics": {
                name: {"a": a, "b": b, "delta": delta(a, b)}
                for name, (a, b) in self.metrics.items()
            },
            "cases": {
                "wins": [vars(c) for c in self.wins],
                "losses": [vars(c) for c in self.losses],
                "ties": self.ties,
                "only_in_a": self.only_in_a,
                "only_in_b": self.only_in_b,
            },
        }


def delta(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else b - a


def flat_numbers(metrics: Mapping[str, Any], prefix: str = "") -> dict[str, float | None]:
    """{"latency_ms": {"p50": 3}} -> {"latency_ms.p50": 3}; counts and rates alike."""
    flat: dict[str, float | None] = {}
    for name, value in metrics.items():
        key = f"{prefix}{name}"
        if isinstance(value, Mapping):
            flat |= flat_numbers(value, key + ".")
        elif value is None or (isinstance(value, int | float) and not isinstance(value, bool)):
            flat[key] = value
    return flat


def lower_is_better(metric: str) -> bool:
    return metric.startswith(LOWER_IS_BETTER) or metric == "gold_not_valid"


def compare_runs(a: Run, b: Run) -> Comparison:
    """Metrics of each run scored on its own cases; per-case F1 on the cases both ran,
    scored on the code systems of run a."""
    metrics_a = flat_numbers(score_run(a.records, a.systems))
    metrics_b = flat_numbers(score_run(b.records, b.systems))
    names = list(dict.fromkeys([*metrics_a, *metrics_b]))
    comparison = Comparison(
        run_a=str(a.path),
        run_b=str(b.path),
        metrics={name: (metrics_a.get(name), metrics_b.get(name)) for name in names},
    )
    by_id_b = {r.id: r for r in b.records}
    ids_a = {r.id for r in a.records}
    comparison.only_in_a = len(ids_a - set(by_id_b))
    comparison.only_in_b = len(set(by_id_b) - ids_a)
    for record in a.records:
        other = by_id_b.get(record.id)
        if other is None:
            continue
        change = CaseChange(record.id, case_f1(record, a.systems), case_f1(other, a.systems))
        if change.f1_b > change.f1_a + 1e-9:
            comparison.wins.append(change)
        elif change.f1_b < change.f1_a - 1e-9:
            comparison.losses.append(change)
        else:
            comparison.ties += 1
    comparison.wins.sort(key=lambda c: c.f1_a - c.f1_b)
    comparison.losses.sort(key=lambda c: c.f1_b - c.f1_a)
    return comparison
