"""Benchmark how the offline agent's cost grows with the size of one chart.

Charts of 2, 5, 10, 20, 50 and 100 KB (up to 10 % more) are built by joining CodiEsp dev texts
(sorted by name, a blank line between them, a text that would overshoot skipped). Each is
coded once cold (new mentions embedded, first index pages read), then 3 times; the median
of the 3 is reported with its ms per KB and the stage timings the agent reports. Cost linear
in the chart's size shows as a flat ms/KB column.

    MEDCODER_HOME=/tmp/mc-home .venv/bin/python bench/chart_size.py \
        [--data-dir ../shared/data] [--sizes 2 5 10 20 50 100] [--policy claims]
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
from wiring.adapters import make_agent
from wiring.settings import Settings

SIZES_KB = (2, 5, 10, 20, 50, 100)
RUNS = 3
STAGES = ("mentions", "candidates", "propose", "validate")
TARGETS_MS = {20: 1000.0, 100: 5000.0}  # issue 12: 20 KB under 1 s, 100 KB under 5 s


def joined_text(texts: list[str], kb: int) -> str:
    """Texts in order, joined by blank lines, skipping any that would take the chart past
    `kb` KB (UTF-8 bytes) by more than 10 %, until it holds `kb` KB."""
    parts: list[str] = []
    size, target = 0, kb * 1000
    for text in texts:
        more = len(text.encode()) + (2 if parts else 0)
        if size + more > 1.1 * target:
            continue
        parts.append(text)
        size += more
        if size >= target:
            return "\n\n".join(parts)
    sys.exit(f"the texts make no chart of {kb} KB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=os.environ.get("MEDCODER_HOME"))
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("MEDCODER_DATA_DIR", "../shared/data")),
        help="holds codiesp/dev/text_files_en",
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES_KB), help="KB")
    parser.add_argument("--policy", choices=("mentions", "claims"), default="claims")
    args = parser.parse_args()
    if args.home is None:
        sys.exit("give --home or set MEDCODER_HOME")
    folder = args.data_dir / "codiesp" / "dev" / "text_files_en"
    texts = [path.read_text(encoding="utf-8") for path in sorted(folder.glob("*.txt"))]
    if not texts:
        sys.exit(f"no CodiEsp texts in {folder}")

    started = time.perf_counter()
    agent = make_agent(Settings(home=args.home), "offline")
    agent.code(build_chart(texts[0]), args.policy)  # model, caches, SQLite pages
    open_s = time.perf_counter() - started
    rows = []
    for kb in args.sizes:
        text = joined_text(texts, kb)
        size_kb = len(text.encode()) / 1000
        chart = build_chart(text)
        begun = time.perf_counter()
        agent.code(chart, args.policy)
        cold = (time.perf_counter() - begun) * 1000
        wall: list[float] = []
        stages: dict[str, list[float]] = {stage: [] for stage in STAGES}
        for _ in range(RUNS):
            begun = time.perf_counter()
            result = agent.code(build_chart(text), args.policy)
            wall.append((time.perf_counter() - begun) * 1000)
            for stage in STAGES:
                stages[stage].append(result.timings_ms.get(stage, 0.0))
        ms = statistics.median(wall)
        rows.append(
            {
                "size": kb,
                "kb": round(size_kb, 1),
                "cold_ms": round(cold, 1),
                "ms": round(ms, 1),
                "ms_per_kb": round(ms / size_kb, 1),
                **{stage: round(statistics.median(v), 1) for stage, v in stages.items()},
            }
        )

    print(f"agent opened in {open_s:.1f} s; policy {args.policy}; median of {RUNS} runs")
    header = ["size", "KB", "cold ms", "ms", "ms/KB", *STAGES]
    print("  ".join(f"{h:>10}" for h in header))
    for row in rows:
        print("  ".join(f"{value:>10}" for value in row.values()))
    verdicts = {}
    for kb, limit in TARGETS_MS.items():
        matching = [r for r in rows if r["size"] == kb]
        if matching:
            row = matching[0]
            verdicts[f"{kb}kb"] = row["ms"] <= limit
            met = "met" if row["ms"] <= limit else "NOT met"
            print(f"target: {kb} KB chart in under {limit / 1000:.0f} s ({met})")
    print(f"machine: {machine()}")
    summary = {
        "bench": "chart_size",
        "policy": args.policy,
        "runs": RUNS,
        "open_s": round(open_s, 2),
        "rows": rows,
        "targets_ms": {f"{kb}kb": ms for kb, ms in TARGETS_MS.items()},
        "met": verdicts,
        "machine": machine(),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
