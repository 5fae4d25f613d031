"""/codes: the knowledge base, for the coder's modify and add dialogs."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from api.code_records import code_record_dict
from api.deps import Reader, ServicesDep

router = APIRouter(prefix="/codes", tags=["codes"])


@router.get("/search")
def search_codes(
    services: ServicesDep,
    actor: Reader,
    q: Annotated[str, Query(min_length=1, max_length=300)],
    system: Annotated[Literal["cm", "pcs"] | None, Query()] = None,
    billable_only: bool = True,
    k: Annotated[int, Query(ge=1, le=50)] = 10,
) -> list[dict[str, Any]]:
    """Hybrid search (index terms, titles, tables) over the loaded code set."""
    searcher = services.agent("offline").searcher
    hits = searcher.search(q, k=k, system=system, billable_only=billable_only)
    return [hit.as_dict() for hit in hits]


@router.get("/{code}")
def get_code(code: str, services: ServicesDep, actor: Reader) -> dict[str, Any]:
    """One code: title, billable flag, instructional notes (inherited ones marked), index
    entries and table cells that lead to it."""
    agent = services.agent("offline")
    record = agent.searcher.lookup(code)
    return {**code_record_dict(agent.searcher.store, record), "kb_release": agent.kb_release}
