"""Benchmark the offline agent's latency per chart over CodiEsp dev charts, stage by stage.

Each chart is coded once to warm up (model, caches, SQLite pages), then each is timed on its
own; the agent reports its stage timings (mentions, candidates, propose, validate). The
trained ranker and history of the home are used, as `medcoder serve` would.

    MEDCODER_HOME=/tmp/mc-home .venv/bin/python bench/agent_latency.py \
        --data ../shared/data/codiesp/dev [--n 250] [--policy mentions]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

from machine_info import machine  # bench/ is on sys.path when a script runs

from agent.chart import build_chart
from evals.suites import load_suite
from wiring.adapters import make_agent
from wiring.settings import Settings

TARGET_P50_MS = 200.0
STAGES = ("mentions", "candidates", "propose", "validate")


def quantiles(ms: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(ms, n=100, method="inclusive") if len(ms) > 1 else ms * 99
    return {
        "p50_ms": round(statistics.median(ms), 1),
        "p90_ms": round(cuts[89], 1),
        "p99_ms": round(cuts[98], 1),
        "max_ms": round(max(ms), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=os.environ.get("MEDCODER_HOME"))
    parser.add_argument("--data", type=Path, required=True, help="a CodiEsp split folder")
    parser.add_argument("--n", type=int, default=250, help="charts (the first n, sorted)")
    parser.add_argument("--policy", choices=("mentions", "claims"), default="mentions")
    args = parser.parse_args()
    if args.home is None:
        sys.exit("give --home or set MEDCODER_HOME")

    started = time.perf_counter()
    agent = make_agent(Settings(home=args.home), "offline")
    open_s = time.perf_counter() - started
    cases = load_suite("codiesp", data=args.data).cases[: args.n]
    charts = [build_chart(c.text, c.meta, chart_id=c.case_id) for c in cases]
    for chart in charts:  # warm-up pass
        agent.code(chart, args.policy)
    wall: list[float] = []
    stages: dict[str, list[float]] = {stage: [] for stage in STAGES}
    for chart in charts:
        begun = time.perf_counter()
        result = agent.code(chart, args.policy)
        wall.append((time.perf_counter() - begun) * 1000)
        for stage in STAGES:
            stages[stage].append(result.timings_ms.get(stage, 0.0))
    results = {"per_chart": quantiles(wall)} | {s: quantiles(ms) for s, ms in stages.items()}

    print(f"agent opened in {open_s:.1f} s; {len(charts)} charts, policy {args.policy}")
    for name, row in results.items():
        print(f"  {name:12} " + "  ".join(f"{key} {value:7.1f}" for key, value in row.items()))
    p50 = results["per_chart"]["p50_ms"]
    verdict = "met" if p50 <= TARGET_P50_MS else "NOT met"
    print(f"target: per-chart p50 <= {TARGET_P50_MS:.0f} ms ({verdict})")
    print(f"machine: {machine()}")
    summary = {
        "bench": "agent_latency",
        "n": len(charts),
        "policy": args.policy,
        "open_s": round(open_s, 2),
        **results,
        "target_p50_ms": TARGET_P50_MS,
        "machine": machine(),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
