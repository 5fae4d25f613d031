"""Benchmark description -> code: search each billable ICD-10-CM code's long title.

Samples billable FY2026 codes (leaf categories/subcategories of the simple_icd_10_cm tabular)
with a fixed seed, searches the long title with system="cm" and checks that the code comes back.

    MEDCODER_HOME=/tmp/mc-home .venv/bin/python bench/desc2code.py [--n 1000] [--seed 2026]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

import simple_icd_10_cm as cm
from machine_info import machine  # bench/ is on sys.path when a script runs

from wiring.adapters import make_searcher
from wiring.settings import Settings

TARGET_TOP1 = 0.99
GPT4_TOP1 = 0.339  # bare GPT-4, Soroush et al., NEJM AI 2024


def billable_codes() -> list[str]:
    all_codes = cm.get_all_codes(True)
    return sorted({c for c in all_codes if cm.is_leaf(c) and cm.is_category_or_subcategory(c)})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=os.environ.get("MEDCODER_HOME"))
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    if args.home is None:
        sys.exit("give --home or set MEDCODER_HOME")

    searcher = make_searcher(Settings(home=args.home))
    population = billable_codes()
    sample = random.Random(args.seed).sample(population, args.n)
    top1 = top10 = 0
    misses: list[dict[str, object]] = []
    started = time.perf_counter()
    for code in sample:
        title = cm.get_description(code)
        found = [hit.code for hit in searcher.search(title, k=10, system="cm")]
        rank = found.index(code) + 1 if code in found else None
        top1 += rank == 1
        top10 += rank is not None
        if rank != 1:
            misses.append({"code": code, "rank": rank, "top3": found[:3], "title": title})
    seconds = time.perf_counter() - started

    n = len(sample)
    print(f"{n} of {len(population)} billable ICD-10-CM codes, seed {args.seed}, {seconds:.0f} s")
    print(f"top-1  {top1 / n:7.2%}   (target >= {TARGET_TOP1:.0%}; bare GPT-4 {GPT4_TOP1:.1%})")
    print(f"top-10 {top10 / n:7.2%}")
    for miss in misses[:10]:
        print(f"  miss {miss['code']:9} rank {miss['rank']}  got {miss['top3']}  {miss['title']}")
    print(f"machine: {machine()}")
    summary = {
        "bench": "desc2code",
        "n": n,
        "seed": args.seed,
        "top1": round(top1 / n, 4),
        "top10": round(top10 / n, 4),
        "misses": len(misses),
        "first_misses": misses[:10],
        "target_top1": TARGET_TOP1,
        "gpt4_top1": GPT4_TOP1,
        "seconds": round(seconds, 1),
        "machine": machine(),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
