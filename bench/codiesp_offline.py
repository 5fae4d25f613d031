"""Offline agent on CodiEsp (English text): micro P/R/F1, MAP, latency per chart.

Usage: MEDCODER_HOME=... python bench/codiesp_offline.py [--split DIR] [--limit N]
Scores diagnoses (D) and procedures (P) as annotated and on the gold codes that are valid
FY2026 codes in the loaded knowledge base (CodiEsp used the Spanish edition, and its P codes
are often truncated).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from agent.chart import build_chart
from agent.models import ChartMeta
from api.settings import Settings
from api.wiring import make_agent
from evals.metrics import category, mean_average_precision, micro_prf, percentile
from evals.suites.codiesp import load_codiesp

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", type=Path, default=REPO.parent / "shared/data/codiesp/dev")
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    agent = make_agent(Settings(), "offline")
    store = agent.searcher.store
    docs = load_codiesp(args.split, args.limit)
    agent.code(build_chart(docs[0].text, ChartMeta()))  # warm caches before timing
    ranked: dict[str, list[list[str]]] = {"cm": [], "pcs": []}
    latencies, invalid, total = [], 0, 0
    for doc in docs:
        started = time.perf_counter()
        result = agent.code(build_chart(doc.text, ChartMeta(setting="inpatient")))
        latencies.append((time.perf_counter() - started) * 1000)
        by_confidence = sorted(result.proposals, key=lambda p: -p.confidence)
        for system in ("cm", "pcs"):
            ranked[system].append([p.code for p in by_confidence if p.system == system])
        total += len(result.proposals)
        invalid += sum(
            1 for p in result.proposals if not (r := store.get(p.code, p.system)) or not r.billable
        )
    report: dict[str, object] = {
        "docs": len(docs),
        "machine": f"{os.cpu_count()} cpu, {platform.machine()}",
        "invalid_code_rate": invalid / max(total, 1),
    }
    for system, gold in (
        ("cm", [d.diagnoses for d in docs]),
        ("pcs", [d.procedures for d in docs]),
    ):
        valid = [[c for c in g if (r := store.get(c, system)) and r.billable] for g in gold]
        for name, reference in (("annotated", gold), ("valid", valid)):
            scores = micro_prf(ranked[system], reference)
            report[f"{system}_{name}"] = {
                "precision": round(scores.precision, 4),
                "recall": round(scores.recall, 4),
                "f1": round(scores.f1, 4),
                "map": round(mean_average_precision(ranked[system], reference), 4),
                "category_f1": round(
                    micro_prf(
                        [[category(c) for c in r] for r in ranked[system]],
                        [[category(c) for c in g] for g in reference],
                    ).f1,
                    4,
                ),
                "gold_codes": scores.gold,
            }
    report["latency_ms"] = {
        "p50": round(percentile(latencies, 0.5), 1),
        "p95": round(percentile(latencies, 0.95), 1),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
