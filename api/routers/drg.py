"""/charts/{id}/drg: the MS-DRG of the working code set and each undecided proposal's effect."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Query

from api.access import ChartReader
from api.deps import RowId, ServicesDep
from api.schemas.drg import ChartDrgPublic, CodeSeverityPublic, PendingImpactPublic
from review.db import transaction
from review.drg import chart_drg
from review.errors import InvalidInput

_CODE = re.compile(r"[A-Za-z0-9]{3}(?:\.?[A-Za-z0-9]{1,4})?")

router = APIRouter(tags=["drg"])


@router.get("/charts/{chart_id}/drg", response_model=ChartDrgPublic)
def get_drg(
    chart_id: RowId,
    services: ServicesDep,
    actor: ChartReader,
    with_codes: Annotated[
        list[str] | None,
        Query(alias="with", max_length=50, description="What-if: codes to add (repeat)."),
    ] = None,
    without: Annotated[
        list[str] | None,
        Query(max_length=50, description="What-if: codes to take out (repeat)."),
    ] = None,
) -> ChartDrgPublic:
    """422 for an outpatient chart or a what-if code the grouper does not know, 409 when
    no principal diagnosis is decided or proposed or a code of the set is not in the
    grouper's code set."""
    for code in [*(with_codes or ()), *(without or ())]:
        if not _CODE.fullmatch(code):
            raise InvalidInput(f"{code!r} is not an ICD-10 code", field="query.with")
    with transaction(services.readers) as session:
        found = chart_drg(
            session,
            chart_id=chart_id,
            grouper=services.grouper(),
            add=with_codes or (),
            remove=without or (),
        )
    result = found.result
    return ChartDrgPublic(
        chart_id=chart_id,
        grouper_version=result.version,
        drg=result.drg,
        title=result.title,
        mdc=result.mdc,
        severity=result.severity,
        weight=services.drg_weights().get(result.drg) if result.drg is not None else None,
        return_code=result.return_code,
        ungroupable=result.ungroupable,
        principal=found.claim.principal,
        secondary=list(found.claim.secondary),
        procedures=list(found.claim.procedures),
        codes=[
            CodeSeverityPublic(
                code=c.code, severity=c.severity, excluded=c.excluded, drives_drg=c.drives_drg
            )
            for c in result.diagnoses
        ],
        pending=[
            PendingImpactPublic(
                proposal_id=p.proposal_id,
                code=p.impact.code,
                severity=p.impact.severity,
                excluded=p.impact.excluded,
                sets_drg=p.impact.sets_drg,
                drg_without=p.impact.without.drg,
                drg_with=p.impact.with_code.drg,
                changes_drg=p.impact.changes_drg,
                message=p.impact.message(),
            )
            for p in found.pending
        ],
        notes=found.notes,
    )
