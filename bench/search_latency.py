"""Benchmark hybrid search latency (k=10) over a fixed mix of 1,000 queries.

Queries: billable CM and PCS titles, lower-cased / truncated title fragments and the lay
paraphrases of bench/paraphrases.jsonl. Every query runs once to warm up, then each is timed
on its own.

    MEDCODER_HOME=/tmp/mc-home .venv/bin/python bench/search_latency.py [--n 1000] [--seed 2026]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import simple_icd_10_cm as cm
from machine_info import machine  # bench/ is on sys.path when a script runs

from retrieval.kb import open_searcher
from retrieval.layout import KBLayout
from wiring.adapters import make_embedder, make_searcher
from wiring.settings import Settings

BENCH = Path(__file__).resolve().parent

TARGET_P50_MS = 10.0


def fragment(title: str, rng: random.Random) -> str:
    """A lower-cased run of 2-5 consecutive words, as someone half-remembering a title types."""
    words = title.lower().replace(",", "").split()
    size = min(len(words), rng.randint(2, 5))
    start = rng.randint(0, len(words) - size)
    return " ".join(words[start : start + size])


def make_queries(home: Path, n: int, seed: int) -> list[tuple[str, str]]:
    """(kind, query) pairs: 40 % CM titles, 15 % PCS titles, 30 % fragments, 15 % paraphrases."""
    rng = random.Random(seed)
    cm_codes = sorted(
        {c for c in cm.get_all_codes(True) if cm.is_leaf(c) and cm.is_category_or_subcategory(c)}
    )
    cm_titles = [cm.get_description(c) for c in rng.sample(cm_codes, n)]
    kb = KBLayout(home).current() / "kb.sqlite"  # PCS titles live only in the KB
    with sqlite3.connect(f"file:{kb}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT title FROM codes WHERE system = 'pcs' AND billable ORDER BY code"
        ).fetchall()
    pcs_titles = [row[0] for row in rng.sample(rows, n)]
    lines = (BENCH / "paraphrases.jsonl").read_text().splitlines()
    paraphrases = [json.loads(line)["query"] for line in lines if line.strip()]
    n_cm, n_pcs, n_frag = int(n * 0.40), int(n * 0.15), int(n * 0.30)
    queries = (
        [("cm_title", t) for t in cm_titles[:n_cm]]
        + [("pcs_title", t) for t in pcs_titles[:n_pcs]]
        + [("fragment", fragment(t, rng)) for t in cm_titles[n_cm : n_cm + n_frag]]
    )
    queries += [("paraphrase", rng.choice(paraphrases)) for _ in range(n - len(queries))]
    rng.shuffle(queries)
    return queries


def time_each(run: Callable[[str], object], queries: list[str]) -> list[float]:
    for query in queries:  # warm-up pass: model, mmaps, SQLite pages
        run(query)
    timings = []
    for query in queries:
        started = time.perf_counter_ns()
        run(query)
        timings.append((time.perf_counter_ns() - started) / 1e6)
    return timings


def summarise(ms: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(ms, n=100, method="inclusive")
    return {
        "p50_ms": round(statistics.median(ms), 2),
        "p95_ms": round(cuts[94], 2),
        "p99_ms": round(cuts[98], 2),
        "mean_ms": round(statistics.fmean(ms), 2),
        "max_ms": round(max(ms), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=os.environ.get("MEDCODER_HOME"))
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args()
    if args.home is None:
        sys.exit("give --home or set MEDCODER_HOME")

    settings = Settings(home=args.home)
    started = time.perf_counter()
    searcher = make_searcher(settings)
    open_s = time.perf_counter() - started
    queries = make_queries(args.home, args.n, args.seed)
    texts = [q for _, q in queries]
    hybrid = time_each(lambda q: searcher.search(q, k=args.k), texts)
    results = {"hybrid": summarise(hybrid)}
    for kind in ("cm_title", "pcs_title", "fragment", "paraphrase"):
        results[f"hybrid/{kind}"] = summarise(
            [t for t, (k, _) in zip(hybrid, queries, strict=True) if k == kind]
        )

    # Where the time goes: exact phrase + BM25 without vectors, and embedding the query alone.
    lexical = open_searcher(args.home, None)
    results["lexical_only"] = summarise(time_each(lambda q: lexical.search(q, k=args.k), texts))
    embedder = make_embedder(settings)
    results["embed_only"] = summarise(time_each(lambda q: embedder.embed([q]), texts))

    print(f"searcher opened in {open_s:.1f} s; {len(texts)} queries, k={args.k}")
    for name, row in results.items():
        print(f"  {name:22} " + "  ".join(f"{key} {value:7.2f}" for key, value in row.items()))
    p50 = results["hybrid"]["p50_ms"]
    verdict = "met" if p50 < TARGET_P50_MS else "NOT met"
    print(f"target: hybrid p50 < {TARGET_P50_MS:.0f} ms ({verdict})")
    print(f"machine: {machine()}")
    summary = {
        "bench": "search_latency",
        "n": len(texts),
        "k": args.k,
        "seed": args.seed,
        "open_s": round(open_s, 2),
        **results,
        "target_p50_ms": TARGET_P50_MS,
        "machine": machine(),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
