"""Evaluation suites by name: each loads cases (chart text, metadata, gold codes)."""

from __future__ import annotations

from pathlib import Path

from agent.models import System
from evals.suite import Suite, SuiteError
from evals.suites.addenda import AddendaChecker, addenda_suite
from evals.suites.codiesp import codiesp_suite
from evals.suites.desc2code import DEFAULT_SEED, DEFAULT_SIZE, desc2code_suite
from evals.suites.jsonl import load_jsonl_suite
from retrieval.store import KnowledgeStore

RULES_FILE = Path(__file__).resolve().parent.parent / "cases" / "rules.jsonl"
CODIESP_SYSTEMS: dict[str, tuple[System, ...]] = {
    "codiesp-d": ("cm",),
    "codiesp-p": ("pcs",),
    "codiesp": ("cm", "pcs"),
}
SUITE_NAMES = (*CODIESP_SYSTEMS, "desc2code", "rules", "addenda", "chat")
# Suites loaded from the knowledge base itself (the others load before it opens).
NEEDS_KB = ("desc2code", "addenda")
RULES_YEAR = 2026


def load_suite(
    name: str,
    *,
    data: Path | None = None,
    store: KnowledgeStore | None = None,
    limit: int | None = None,
    seed: int = DEFAULT_SEED,
) -> Suite:
    """The suite called `name` (see SUITE_NAMES) or read from a JSONL file path.

    `data` is the CodiEsp split folder (codiesp-*); `store` the knowledge base desc2code
    samples from and whose addenda the addenda suite checks. `limit` keeps N cases: a
    seeded sample for CodiEsp and desc2code (default 200 there), the first N of a JSONL
    file or of the addenda checks."""
    if limit is not None and limit < 1:
        raise SuiteError(f"limit must be 1 or more, got {limit}")
    if name in CODIESP_SYSTEMS:
        if data is None:
            raise SuiteError(f"{name}: give the CodiEsp split folder (for example .../dev)")
        return codiesp_suite(data, CODIESP_SYSTEMS[name], limit, seed, name=name)
    if name == "desc2code":
        if store is None:
            raise SuiteError("desc2code: needs a knowledge base to sample codes from")
        return desc2code_suite(store, limit or DEFAULT_SIZE, seed)
    if name == "addenda":
        if store is None:
            raise SuiteError("addenda: needs a knowledge base whose addenda it checks")
        return addenda_suite(store, limit)
    if name == "chat":  # questions about coded charts: its own cases and scorer
        raise SuiteError("chat: not a coding suite; evals.chat runs it (medcoder eval run chat)")
    if name == "rules":
        # Written and coded for FY2026, the code set it is scored in.
        rules = load_jsonl_suite(RULES_FILE, "rules").model_copy(update={"year": RULES_YEAR})
        return _first(rules, limit)
    path = Path(name)
    if path.suffix == ".jsonl" or path.is_file():
        return _first(load_jsonl_suite(path), limit)
    raise SuiteError(
        f"unknown suite {name!r}: use one of {', '.join(SUITE_NAMES)} or a .jsonl file"
    )


def _first(suite: Suite, limit: int | None) -> Suite:
    return suite if limit is None else suite.model_copy(update={"cases": suite.cases[:limit]})


__all__ = [
    "NEEDS_KB",
    "SUITE_NAMES",
    "AddendaChecker",
    "Suite",
    "SuiteError",
    "load_suite",
]
