"""Rows as plain dicts: the shape audit rows record and a 409 returns as the current state."""

from __future__ import annotations

from typing import Any

from review.tables import ChartRow, ProposalRow


def chart_state(row: ChartRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "status": row.status,
        "version": row.version,
        "committed_version": row.committed_version,
    }


def decision_state(row: ProposalRow) -> dict[str, Any]:
    """What a decision changes on a proposal (before/after in the audit trail)."""
    return {
        "status": row.status,
        "final_code": row.final_code,
        "reason": row.reason,
        "note": row.note,
        "principal": row.principal,
        "decided_by": row.decided_by,
        "version": row.version,
    }


def proposal_state(row: ProposalRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "chart_id": row.chart_id,
        "code": row.code,
        "system": row.system,
        "origin": row.origin,
        **decision_state(row),
    }
