"""Benchmark the offline chat's answer latency on one coded chart, per kind of question.

A multi-problem inpatient chart (written for this benchmark) is coded once, the way the review
workspace codes it; then about 30 questions of kinds 1-6 (why / where a code, find in the
chart, find a code, code-set rules, guidelines, follow-ups) are answered `--rounds` times
each. Only the answer is timed: coding the chart is the agent's cost (bench/agent_latency.py),
and a follow-up's earlier turns are answered once, outside the clock. The first round is
reported apart: a code search codes its phrase with the agent, whose search caches the
later rounds hit.

    MEDCODER_HOME=/tmp/mc-home .venv/bin/python bench/chat_latency.py [--rounds 20]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path

from machine_info import machine  # bench/ is on sys.path when a script runs

from agent.chart import build_chart
from agent.chat import Turn, answer_offline
from agent.models import ChartMeta
from evals.chat import chat_context
from wiring.adapters import make_agent
from wiring.settings import Settings

TARGET_P50_MS = 100.0
CHART = """DISCHARGE SUMMARY
Admitted: 2026-03-02. Discharged: 2026-03-07.
HISTORY OF PRESENT ILLNESS: 78-year-old woman with heart failure with reduced ejection
fraction (EF 30%), type 2 diabetes and chronic kidney disease, admitted with five days of
progressive dyspnea, orthopnea and bilateral leg swelling. Weight up 6 kg. Denies chest pain.
PAST MEDICAL HISTORY: Paroxysmal atrial fibrillation on apixaban. Hypertension. COPD.
Left total knee arthroplasty in 2019. History of colon polyps.
SOCIAL HISTORY: Former smoker, quit in 2008. No alcohol.
FAMILY HISTORY: Brother with colon cancer.
HOSPITAL COURSE: BNP 3,120. Chest x-ray with pulmonary vascular congestion and small bilateral
effusions; pneumonia was considered and ruled out (afebrile, procalcitonin normal). Diuresed
with IV furosemide, net negative 5.2 L. Creatinine peaked at 2.3 from a baseline of 1.6 and
returned to 1.7. Glucose ranged 180-260; basal insulin started and continued at discharge.
Rate controlled in atrial fibrillation on metoprolol.
DISCHARGE DIAGNOSES:
1. Acute on chronic systolic congestive heart failure.
2. Type 2 diabetes mellitus with diabetic chronic kidney disease, CKD stage 3b.
3. Hypertension.
4. Paroxysmal atrial fibrillation, on long-term anticoagulation.
5. Chronic obstructive pulmonary disease, stable.
"""
META = ChartMeta(
    setting="inpatient",
    age=78,
    sex="F",
    admission_date=date(2026, 3, 2),
    discharge_date=date(2026, 3, 7),
)
# (kind, earlier questions, the timed question). Kind 1 questions about the chart's own
# proposals and dropped codes are added once the chart is coded.
QUESTIONS: list[tuple[str, list[str], str]] = [
    ("find_in_chart", [], "Is sepsis mentioned?"),
    ("find_in_chart", [], "Does the chart mention pneumonia?"),
    ("find_in_chart", [], "Is smoking documented?"),
    ("find_in_chart", [], "Is colon cancer mentioned?"),
    ("find_in_chart", [], "Did the patient have chest pain?"),
    ("find_in_chart", [], "Is kidney disease documented?"),
    ("find_code", [], "What's the code for diabetic gastroparesis?"),
    ("find_code", [], "Code for a left hip fracture, initial encounter?"),
    ("find_code", [], "Code for acute on chronic diastolic heart failure"),
    ("find_code", [], "What's the code for CKD stage 3b?"),
    ("find_code", [], "Code for long-term use of anticoagulants"),
    ("code_rules", [], "Can I code I10 with I12.9?"),
    ("code_rules", [], "Excludes1 notes for K35?"),
    ("code_rules", [], "What must be coded first with F02.80?"),
    ("code_rules", [], "Which 7th character for a healing fracture visit?"),
    ("code_rules", [], "What additional code does E11.22 need?"),
    ("guideline", [], "What does the guideline say about uncertain diagnoses?"),
    ("guideline", [], "What does the guideline say about hypertension with CKD?"),
    ("guideline", [], "What does the guideline say about a condition both acute and chronic?"),
    ("guideline", [], "What do the PCS guidelines say about excision versus resection?"),
    (
        "follow_up",
        ["What's the code for a left hip fracture, initial encounter?"],
        "And the right?",
    ),
    ("follow_up", ["Why did you propose I50.23?"], "Does it have a code first note?"),
    ("follow_up", ["Excludes1 notes for F32.9?"], "And the Excludes2?"),
    ("follow_up", ["Code for COPD with acute exacerbation?"], "What about with acute bronchitis?"),
    ("follow_up", ["Code for a pressure ulcer of the right heel, stage 2?"], "And the left heel?"),
]
KINDS = ("why", "find_in_chart", "find_code", "code_rules", "guideline", "follow_up")


def quantiles(ms: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(ms, n=10, method="inclusive") if len(ms) > 1 else ms * 9
    return {
        "p50_ms": round(statistics.median(ms), 2),
        "p90_ms": round(cuts[8], 2),
        "max_ms": round(max(ms), 2),
        "n": len(ms),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=os.environ.get("MEDCODER_HOME"))
    parser.add_argument("--rounds", type=int, default=20, help="times each question is asked")
    args = parser.parse_args()
    if args.home is None:
        sys.exit("give --home or set MEDCODER_HOME")

    started = time.perf_counter()
    agent = make_agent(Settings(home=args.home), "offline")
    open_s = time.perf_counter() - started
    chart = build_chart(CHART, META, chart_id="bench-chat")
    begun = time.perf_counter()
    result = agent.code(chart)
    coding_ms = (time.perf_counter() - begun) * 1000
    context = chat_context(chart, agent, result)

    # Kind 1 about what this chart's coding produced (its first proposals, dropped codes).
    asks = ("Why did you propose", "Where does the chart support", "What supports", "Why")
    questions: list[tuple[str, list[str], str]] = [
        ("why", [], f"{ask} {p.code}?") for p, ask in zip(result.proposals, asks, strict=False)
    ]
    questions += [("why", [], f"Why was {d.code} dropped?") for d in result.dropped[:2]]
    questions += QUESTIONS
    histories: list[list[Turn]] = []
    for _, earlier, _ in questions:  # the earlier turns are answered once, untimed
        turns: list[Turn] = []
        for asked in earlier:
            turns.append(Turn(question=asked, answer=answer_offline(asked, context, turns)))
        histories.append(turns)

    first: dict[str, list[float]] = {kind: [] for kind in KINDS}
    every: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for round_number in range(args.rounds):
        for (kind, _, question), history in zip(questions, histories, strict=True):
            clock = time.perf_counter()
            answer_offline(question, context, history)
            ms = (time.perf_counter() - clock) * 1000
            every[kind].append(ms)
            if round_number == 0:
                first[kind].append(ms)

    overall = quantiles([ms for values in every.values() for ms in values])
    results = {"overall": overall} | {kind: quantiles(every[kind]) for kind in KINDS}
    first_round = {"overall": quantiles([ms for values in first.values() for ms in values])}
    first_round |= {kind: quantiles(first[kind]) for kind in KINDS}

    proposed = " ".join(p.code for p in result.proposals)
    print(f"agent opened in {open_s:.1f} s; chart coded in {coding_ms:.0f} ms: {proposed}")
    print(f"{len(questions)} questions x {args.rounds} rounds (answer latency, ms)")
    for label, table in (("all rounds", results), ("first round", first_round)):
        print(f"  {label}")
        for name, row in table.items():
            cells = "  ".join(f"{key} {value:8.2f}" for key, value in row.items() if key != "n")
            print(f"    {name:14} {cells}  n {row['n']}")
    p50 = overall["p50_ms"]
    verdict = "met" if p50 < TARGET_P50_MS else "NOT met"
    print(f"target: answer p50 < {TARGET_P50_MS:.0f} ms on a coded chart ({verdict})")
    print(f"machine: {machine()}")
    summary = {
        "bench": "chat_latency",
        "questions": len(questions),
        "rounds": args.rounds,
        "open_s": round(open_s, 2),
        "coding_ms": round(coding_ms, 1),
        "all_rounds": results,
        "first_round": first_round,
        "target_p50_ms": TARGET_P50_MS,
        "machine": machine(),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
