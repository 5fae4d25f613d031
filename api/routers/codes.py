"""/codes: the knowledge base, for the coder's modify and add dialogs."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

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
    """One code with its title, billable flag and instructional notes (inherited marked)."""
    searcher = services.agent("offline").searcher
    record = searcher.lookup(code)
    notes = searcher.store.notes_with_inherited(record.code) if record.system == "cm" else []
    return {
        "code": record.code,
        "system": record.system,
        "title": record.title,
        "billable": record.billable,
        "kind": record.kind,
        "parent": record.parent,
        "inclusion_terms": list(record.inclusion_terms),
        "notes": [{"kind": n.kind, "text": n.text, "defined_at": n.defined_at} for n in notes],
        "kb_release": services.agent("offline").kb_release,
    }
