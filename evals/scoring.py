"""Scores of a run from its case records: plain data in, numbers out (no I/O, no KB).

Only the code systems a suite scores count for P/R/F1 and MAP (codiesp-d ignores proposed
PCS codes); the invalid-code rate and citation checks cover every proposal."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from evals.chapters import chapter_of
from evals.metrics import (
    PRF,
    category,
    expected_calibration_error,
    mean_average_precision,
    micro_prf,
    percentile,
    prf,
    reliability,
)
from evals.records import CaseRecord

THRESHOLDS = tuple(round(0.05 * step, 2) for step in range(20))  # 0.0 .. 0.95


def ranked(record: CaseRecord, systems: Collection[str], floor: float = 0.0) -> list[str]:
    """Predicted codes of `systems`, highest confidence first (records are stored ranked)."""
    return [p.code for p in record.predicted if p.system in systems and p.confidence >= floor]


def ranked_list(record: CaseRecord, systems: Collection[str]) -> list[str]:
    """The proposals, then the codes considered below the cut-off: the ranked list CodiEsp's
    MAP is defined over (a participant's whole ranked output), where F1 counts proposals."""
    proposed = ranked(record, systems)
    return proposed + [c.code for c in record.considered if c.system in systems]


def gold(record: CaseRecord, systems: Collection[str], valid_only: bool = False) -> list[str]:
    return [g.code for g in record.gold if g.system in systems and (g.valid or not valid_only)]


def carried_gold(record: CaseRecord, systems: Collection[str]) -> list[str]:
    """Gold codes carried forward to the KB's code set (those that have no successor left out)."""
    found = [g.carried for g in record.gold if g.system in systems and g.carried]
    return list(dict.fromkeys(found))


def macro_prf(predicted: Sequence[Sequence[str]], reference: Sequence[Sequence[str]]) -> PRF:
    """Unweighted mean over every code that is predicted or gold somewhere (as scikit-learn's
    average="macro": a code never predicted has precision 0). Counts are micro totals."""
    labels = sorted({c for codes in [*predicted, *reference] for c in codes})
    if not labels:
        return prf(0, 0, 0)
    scores = [_label_prf(label, predicted, reference) for label in labels]
    mean = [sum(values) / len(labels) for values in zip(*scores, strict=True)]
    micro = micro_prf(predicted, reference)
    return PRF(mean[0], mean[1], mean[2], micro.true_positives, micro.predicted, micro.gold)


def _label_prf(
    label: str, predicted: Sequence[Sequence[str]], reference: Sequence[Sequence[str]]
) -> tuple[float, float, float]:
    hits = [(label in p, label in g) for p, g in zip(predicted, reference, strict=True)]
    one = prf(sum(p and g for p, g in hits), sum(p for p, _ in hits), sum(g for _, g in hits))
    return one.precision, one.recall, one.f1


def code_scores(
    predicted: Sequence[Sequence[str]], reference: Sequence[Sequence[str]]
) -> dict[str, float]:
    """Micro and macro P/R/F1, MAP (ranked lists) and 3-character category F1."""
    micro, macro = micro_prf(predicted, reference), macro_prf(predicted, reference)
    categories = micro_prf(
        [[category(c) for c in p] for p in predicted], [[category(c) for c in g] for g in reference]
    )
    return {
        "precision": micro.precision,
        "recall": micro.recall,
        "f1": micro.f1,
        "macro_precision": macro.precision,
        "macro_recall": macro.recall,
        "macro_f1": macro.f1,
        "map": mean_average_precision(predicted, reference),
        "category_f1": categories.f1,
        "gold_codes": micro.gold,
        "predicted_codes": micro.predicted,
    }


def case_f1(record: CaseRecord, systems: Collection[str]) -> float:
    """F1 of one case; a case with nothing to find and nothing proposed scores 1."""
    predicted, reference = ranked(record, systems), gold(record, systems)
    if not predicted and not reference:
        return 1.0
    return micro_prf([predicted], [reference]).f1


def principal_accuracy(records: Sequence[CaseRecord]) -> tuple[float | None, int]:
    """Share of cases with a gold principal diagnosis whose first-sequenced CM code is it."""
    judged = [r for r in records if r.principal]
    if not judged:
        return None, 0
    right = sum(r.predicted_principal == r.principal for r in judged)
    return right / len(judged), len(judged)


def calibration(records: Sequence[CaseRecord], systems: Collection[str]) -> dict[str, Any]:
    """How well confidence predicts correctness, over every code shown with a confidence
    (proposals and the codes considered below the cut-off), against the annotated gold."""
    confidences: list[float] = []
    correct: list[bool] = []
    for record in records:
        reference = set(gold(record, systems))
        shown = [(p.code, p.system, p.confidence) for p in record.predicted]
        shown += [(c.code, c.system, c.confidence) for c in record.considered]
        for code, system, confidence in shown:
            if system in systems:
                confidences.append(confidence)
                correct.append(code in reference)
    return {
        "expected_calibration_error": expected_calibration_error(confidences, correct),
        "reliability": [
            {"confidence": mean, "accuracy": right, "codes": n}
            for mean, right, n in reliability(confidences, correct)
        ],
    }


def must_not_proposed(records: Sequence[CaseRecord]) -> float | None:
    """Of the codes cases say must not appear, the share that was proposed (lower is better)."""
    traps = [(r, code) for r in records for code in r.must_not]
    hits = sum(any(p.code == code for p in r.predicted) for r, code in traps)
    return share(hits, len(traps))


def share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def invalid_code_rate(records: Sequence[CaseRecord]) -> float:
    predicted = [p for r in records for p in r.predicted]
    return sum(not p.valid for p in predicted) / len(predicted) if predicted else 0.0


def evidence_overlap(records: Sequence[CaseRecord]) -> float | None:
    """Of the correctly predicted codes whose gold has evidence spans, the share whose
    predicted evidence overlaps one of them."""
    judged = overlapping = 0
    for record in records:
        found = {(p.code, p.system): p for p in record.predicted}
        for code in record.gold:
            predicted = found.get((code.code, code.system))
            if predicted is None or not code.evidence:
                continue
            judged += 1
            overlapping += any(
                s.start < g.end and g.start < s.end
                for s in predicted.evidence
                for g in code.evidence
            )
    return share(overlapping, judged)


def cost_and_latency(records: Sequence[CaseRecord]) -> dict[str, Any]:
    n = max(len(records), 1)
    latencies = [r.latency_ms for r in records]
    cost = sum(r.usage.estimated_cost_usd for r in records)
    return {
        "latency_ms": {
            "p50": percentile(latencies, 0.5),
            "p95": percentile(latencies, 0.95),
            "mean": sum(latencies) / n,
        },
        "tokens_per_chart": {
            "prompt": sum(r.usage.prompt_tokens for r in records) / n,
            "completion": sum(r.usage.completion_tokens for r in records) / n,
        },
        "model_calls_per_chart": sum(r.usage.model_calls for r in records) / n,
        "cost_per_chart_usd": cost / n,
        "cost_usd": cost,
    }


def score_run(records: Sequence[CaseRecord], systems: Collection[str]) -> dict[str, Any]:
    """Every metric of a run: annotated gold at the top level, the gold codes valid in the
    KB under "valid_subset", and per code system when the suite scores more than one."""
    predicted = [ranked(r, systems) for r in records]
    longer = [ranked_list(r, systems) for r in records]
    annotated = [gold(r, systems) for r in records]
    valid = [gold(r, systems, valid_only=True) for r in records]
    carried = [carried_gold(r, systems) for r in records]
    accuracy, judged = principal_accuracy(records)
    scores: dict[str, Any] = {
        "cases": len(records),
        **code_scores(predicted, annotated),
        "gold_not_valid": sum(len(a) - len(v) for a, v in zip(annotated, valid, strict=True)),
        "valid_subset": code_scores(predicted, valid)
        | {"ranked_map": mean_average_precision(longer, valid)},
        "ranked_map": mean_average_precision(longer, annotated),
        "carried_forward": code_scores(predicted, carried)
        | {"ranked_map": mean_average_precision(longer, carried)},
        "calibration": calibration(records, systems),
        "must_not_proposed": must_not_proposed(records),
        "first_correct": share(
            sum(bool(p) and p[0] in set(g) for p, g in zip(predicted, annotated, strict=True)),
            sum(bool(g) for g in annotated),
        ),
        "nothing_proposed": share(sum(not p for p in predicted), len(records)),
        "principal_accuracy": accuracy,
        "principal_cases": judged,
        "invalid_code_rate": invalid_code_rate(records),
        "span_validity": share(sum(r.spans_valid for r in records), sum(r.spans for r in records)),
        "citation_validity": share(
            sum(r.citations_resolved for r in records), sum(r.citations for r in records)
        ),
        "evidence_overlap": evidence_overlap(records),
        **cost_and_latency(records),
    }
    if len(systems) > 1:
        scores["by_system"] = {
            system: code_scores(
                [ranked(r, {system}) for r in records], [gold(r, {system}) for r in records]
            )
            for system in sorted(systems)
        }
    return scores


def f1_by_chapter(records: Sequence[CaseRecord]) -> dict[str, PRF]:
    """Micro P/R/F1 of CM codes within each ICD-10-CM chapter (gold or predicted there)."""
    counts: dict[str, list[int]] = {}
    for record in records:
        predicted, reference = set(ranked(record, {"cm"})), set(gold(record, {"cm"}))
        for code in predicted | reference:
            tally = counts.setdefault(chapter_of(code), [0, 0, 0])
            tally[0] += code in predicted and code in reference
            tally[1] += code in predicted
            tally[2] += code in reference
    return {chapter: prf(*tally) for chapter, tally in counts.items()}


def pr_by_threshold(
    records: Sequence[CaseRecord],
    systems: Collection[str],
    thresholds: Sequence[float] = THRESHOLDS,
) -> list[tuple[float, PRF]]:
    """Micro P/R/F1 keeping only proposals at or above each confidence threshold."""
    reference = [gold(r, systems) for r in records]
    return [
        (t, micro_prf([ranked(r, systems, floor=t) for r in records], reference))
        for t in thresholds
    ]
