"""Benchmark lay / clinical paraphrases -> code, from bench/paraphrases.jsonl.

Each line: {"query", "system" ("cm" | "pcs"), "expected": [acceptable billable codes]}. A query
counts as a hit at k when any expected code is among the first k results. Runs as
searched, and with billable_only=True (what a coder can submit). Expected codes are
checked (exist in the KB, billable) before anything is measured. A third run answers each
query with the agent's lookup (`medcoder kb search --by agent`, `GET /codes/search?by=agent`):
the phrase coded as a one-line diagnostic statement, then search; a fourth the same with every
query typed in lower case, as people type into a search box.

    MEDCODER_HOME=/tmp/mc-home .venv/bin/python bench/paraphrase.py [--any-system]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import simple_icd_10_cm as cm
from machine_info import machine  # bench/ is on sys.path when a script runs

from agent.lookup import find_codes
from retrieval.errors import KnowledgeBaseError
from wiring.adapters import make_agent, make_searcher
from wiring.settings import Settings

CASES = Path(__file__).resolve().parent / "paraphrases.jsonl"


def check_expected(searcher, case: dict) -> list[str]:
    """Problems with the case's expected codes (unknown, not billable, wrong system)."""
    problems = []
    for code in case["expected"]:
        try:
            record = searcher.lookup(code)
        except KnowledgeBaseError as error:
            problems.append(f"{code}: {error}")
            continue
        billable = record.billable and (
            record.system == "pcs" or (cm.is_leaf(code) and cm.is_category_or_subcategory(code))
        )
        if record.code != code or record.system != case["system"] or not billable:
            problems.append(f"{code}: {record.system} {record.kind} billable={record.billable}")
    return problems


def evaluate(find, cases: list[dict], any_system: bool):
    """(top-1 hits, top-10 hits, cases whose first result is not an expected code);
    `find(query, system)` answers a query with ranked hits."""
    top1 = top10 = 0
    misses = []
    for case in cases:
        system = None if any_system else case["system"]
        hits = find(case["query"], system)
        found = [hit.code for hit in hits]
        ranks = [found.index(code) + 1 for code in case["expected"] if code in found]
        top1 += 1 in ranks
        top10 += bool(ranks)
        if 1 not in ranks:
            got = f"{hits[0].code} {hits[0].title[:50]}" if hits else "nothing"
            misses.append({**case, "rank": min(ranks, default=None), "got": got})
    return top1, top10, misses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=os.environ.get("MEDCODER_HOME"))
    parser.add_argument("--cases", type=Path, default=CASES)
    parser.add_argument(
        "--any-system", action="store_true", help="search CM and PCS together (no system filter)"
    )
    args = parser.parse_args()
    if args.home is None:
        sys.exit("give --home or set MEDCODER_HOME")

    searcher = make_searcher(Settings(home=args.home))
    cases = [json.loads(line) for line in args.cases.read_text().splitlines() if line.strip()]
    problems = [f"{c['query']!r}: {p}" for c in cases for p in check_expected(searcher, c)]
    if problems:
        sys.exit("bad expected codes:\n  " + "\n  ".join(problems))

    n = len(cases)
    print(f"{n} paraphrases ({sum(c['system'] == 'pcs' for c in cases)} PCS), k=10")
    summary: dict[str, object] = {
        "bench": "paraphrase",
        "n": n,
        "system_filter": not args.any_system,
    }
    agent = make_agent(Settings(home=args.home), "offline")
    finders = {
        "default": lambda q, system: searcher.search(q, k=10, system=system),
        "billable_only": lambda q, system: searcher.search(
            q, k=10, system=system, billable_only=True
        ),
        # The phrase coded as a one-line statement by the agent, then search (billable).
        "agent": lambda q, system: find_codes(agent, q, system=system, k=10),
        # The same, typed the way a search box is: all in lower case ("cad", "s/p l bka").
        "agent_lower_case": lambda q, system: find_codes(agent, q.lower(), system=system, k=10),
    }
    for mode, find in finders.items():
        top1, top10, misses = evaluate(find, cases, args.any_system)
        print(f"\n{mode}: top-1 {top1 / n:.2%}  top-10 {top10 / n:.2%}  not first: {len(misses)}")
        for miss in misses:
            want, rank = "/".join(miss["expected"]), miss["rank"] or ">10"
            print(f"  {miss['query']!r:50} want {want}  rank {rank}  got {miss['got']}")
        summary[mode] = {
            "top1": round(top1 / n, 4),
            "top10": round(top10 / n, 4),
            "misses": [{"query": m["query"], "rank": m["rank"]} for m in misses],
        }
    print(f"\nmachine: {machine()}")
    print(json.dumps({**summary, "machine": machine()}))


if __name__ == "__main__":
    main()
