"""/codes: the knowledge base, for the coder's modify and add dialogs."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from agent.lookup import find_codes
from api.code_records import code_record_dict
from api.deps import Reader, ServicesDep

router = APIRouter(prefix="/codes", tags=["codes"])
Year = Annotated[
    int | None,
    Query(
        ge=2000,
        le=2100,
        description="The fiscal year's code set (a chart's: its proposals' fiscal_year); "
        "default: the base year.",
    ),
]


@router.get("/search")
def search_codes(
    services: ServicesDep,
    actor: Reader,
    q: Annotated[str, Query(min_length=1, max_length=300)],
    system: Annotated[Literal["cm", "pcs"] | None, Query()] = None,
    billable_only: bool = True,
    k: Annotated[int, Query(ge=1, le=50)] = 10,
    year: Year = None,
    by: Annotated[Literal["search", "agent"], Query()] = "search",
) -> list[dict[str, Any]]:
    """Hybrid search (index terms, titles, tables) over one fiscal year's code set; with
    `by=agent`, the phrase is coded as a one-line diagnostic statement first (Index, tables,
    cues, the learned ranker: "h/o breast CA" -> Z85.3), search filling the rest (billable
    codes only; no year: the newest)."""
    agent = services.agent("offline")
    if by == "agent":
        hits = find_codes(agent, q, system=system, k=k, year=year)
    else:
        hits = agent.searcher.search(q, k=k, system=system, billable_only=billable_only, year=year)
    return [hit.as_dict() for hit in hits]


@router.get("/{code}")
def get_code(code: str, services: ServicesDep, actor: Reader, year: Year = None) -> dict[str, Any]:
    """One code in a fiscal year: title, billable flag, instructional notes (inherited ones
    marked), index entries and table cells that lead to it, and what that year's addenda
    changed about it. A code of another year is 404 saying when it was added or deleted."""
    agent = services.agent("offline")
    store = agent.searcher.store
    record = agent.searcher.lookup(code, year)
    change = store.code_change(record.code, record.system, year) if year else None
    return {
        **code_record_dict(store, record, year),
        "fiscal_year": year or store.base_year,
        "change": change.describe() if change else None,
        "kb_release": agent.kb_release,
    }
