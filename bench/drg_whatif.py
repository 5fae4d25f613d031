"""Benchmark the MS-DRG what-if of a large chart: every proposal grouped with and without it.

A chart of 60 proposals (a principal, 49 secondary diagnoses, 10 procedures, drawn with a seed
from a fixed list of common inpatient codes) is grouped once per proposal each way, as the
review screen asks; repeated, and the median total time is printed.

    .venv/bin/python bench/drg_whatif.py [--repeats 50]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import date

from machine_info import machine  # bench/ is on sys.path when a script runs

from agent.drg import Claim, MsdrgGrouper, impacts

TARGET_TOTAL_MS = 50.0
# Common inpatient secondary diagnoses (none, CC and MCC) and procedures.
SECONDARY = [
    "I10",
    "E11.9",
    "E78.5",
    "N17.9",
    "I50.23",
    "J96.01",
    "E87.1",
    "D62",
    "N18.30",
    "I48.91",
    "E66.9",
    "Z79.4",
    "Z79.01",
    "F17.210",
    "K21.9",
    "J44.9",
    "G47.33",
    "E03.9",
    "D64.9",
    "R65.20",
    "A41.9",
    "N39.0",
    "E87.6",
    "E86.0",
    "I25.10",
    "Z95.1",
    "Z86.73",
    "F32.A",
    "G93.40",
    "E43",
    "L89.154",
    "J18.9",
    "I11.0",
    "I13.0",
    "N18.6",
    "Z99.2",
    "K59.00",
    "R41.82",
    "M81.0",
    "Z87.891",
    "E11.22",
    "E11.42",
    "E11.65",
    "I35.0",
    "I27.20",
    "D69.6",
    "E83.42",
    "E87.20",
    "R13.10",
]
PROCEDURES = [
    "5A1955Z",
    "0BH17EZ",
    "02HV33Z",
    "30233N1",
    "0DJ08ZZ",
    "5A1D70Z",
    "0W9930Z",
    "B2111ZZ",
    "4A023N6",
    "0DB98ZX",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    claim = Claim(
        principal="I21.4",
        secondary=tuple(SECONDARY),
        procedures=tuple(PROCEDURES),
        age=72,
        sex="M",
        discharged=date(2026, 6, 30),
        poa=tuple((code, "Y") for code in SECONDARY),  # a complete claim reports every POA
    )
    codes = [*claim.secondary, *claim.procedures]
    grouper = MsdrgGrouper()
    try:
        result = grouper.group(claim)
        impacts(grouper, claim, codes)  # warm-up
        totals = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            impacts(grouper, claim, codes)
            totals.append((time.perf_counter() - started) * 1000)
    finally:
        grouper.close()
    p50 = statistics.median(totals)
    verdict = "met" if p50 < TARGET_TOTAL_MS else "NOT met"
    print(f"chart of {len(codes) + 1} codes grouped to DRG {result.drg} (v{result.version})")
    print(f"what-if of all {len(codes)} proposals: p50 {p50:.1f} ms, max {max(totals):.1f} ms")
    print(f"target: < {TARGET_TOTAL_MS:.0f} ms in total ({verdict})")
    print(f"machine: {machine()}")
    summary = {
        "bench": "drg_whatif",
        "proposals": len(codes) + 1,
        "p50_ms": round(p50, 2),
        "max_ms": round(max(totals), 2),
        "target_ms": TARGET_TOTAL_MS,
        "machine": machine(),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
