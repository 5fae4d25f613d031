"""Description -> code: a billable ICD-10-CM code's title is the whole chart; gold is the code.

The sample is drawn with a seed from the billable CM codes of the loaded knowledge base, so
it follows the code set the agent is checked against (FY2026 today)."""

from __future__ import annotations

import random

from agent.models import ChartMeta
from evals.suite import Case, GoldCode, Suite, SuiteError
from retrieval.store import KnowledgeStore

DEFAULT_SIZE = 200
DEFAULT_SEED = 2026


def billable_cm_codes(store: KnowledgeStore) -> list[tuple[str, str]]:
    """(code, title) of every billable CM code, sorted by code."""
    every = store.codes_with_prefix("", limit=1_000_000)  # both systems, ordered by code
    return [(r.code, r.title) for r in every if r.system == "cm" and r.billable]


def desc2code_suite(
    store: KnowledgeStore, size: int = DEFAULT_SIZE, seed: int = DEFAULT_SEED
) -> Suite:
    population = billable_cm_codes(store)
    if not population:
        raise SuiteError("desc2code: the knowledge base holds no billable ICD-10-CM codes")
    chosen = random.Random(seed).sample(population, min(size, len(population)))
    cases = [
        Case(
            case_id=code,
            text=title,
            meta=ChartMeta(setting="outpatient"),
            gold=[GoldCode(code=code, system="cm")],
        )
        for code, title in chosen
    ]
    release = store.meta().get("release", "unknown")
    return Suite(
        name="desc2code",
        source=f"{len(cases)} of {len(population)} billable ICD-10-CM codes of {release}, "
        f"sampled with seed {seed}; the long title is the chart",
        cases=cases,
        systems=("cm",),
        year=store.base_year,  # the titles sampled are the base year's
    )
