"""Commit and reopen a chart; read its committed code sets; export one as FHIR or CSV."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from api.access import ChartReader, chart_public
from api.deps import (
    INT4_MAX,
    IdempotencyKey,
    IfMatch,
    Lead,
    RowId,
    ServicesDep,
    etag,
    expected_version,
)
from api.once import run_once
from api.schemas.charts import ChartPublic
from api.schemas.code_sets import CodeSetPublic, CommitCreate, CommitPublic, ReopenCreate
from review.charts import get_chart
from review.commit import code_set, code_sets, commit_chart, reopen_chart
from review.db import transaction
from review.errors import Conflict
from review.export import ExportCode, ExportCodeSet, csv_text, fhir_bundle
from review.tables import ChartRow, CodeSetRow

router = APIRouter(prefix="/charts/{chart_id}", tags=["code sets"])


@router.post("/commit", status_code=201, response_model=CommitPublic)
def post_commit(
    chart_id: RowId,
    request: Request,
    services: ServicesDep,
    actor: Lead,
    version_header: IfMatch,
    idempotency_key: IdempotencyKey = None,
    body: CommitCreate | None = None,
) -> JSONResponse:
    """Refused (409, every blocker listed with its rule) while a proposal is undecided or a
    blocker remains; `override_reason` commits over the overridable ones. The answer carries
    the warnings the set was committed with."""
    body = body or CommitCreate()
    expected = expected_version(version_header, body.version, required=False)
    codebook = services.codebook()

    def work(session: Session) -> tuple[int, Any, dict[str, str]]:
        done = commit_chart(
            session,
            chart_id=chart_id,
            expected_version=expected,
            codebook=codebook,
            actor=actor,
            override_reason=body.override_reason,
        )
        chart_version = get_chart(session, chart_id=chart_id).version
        public = CommitPublic.model_validate(
            {
                **CodeSetPublic.model_validate(done.code_set).model_dump(),
                "warnings": [p.as_dict() for p in done.warnings],
                "overridden": [p.as_dict() for p in done.overridden],
                "override_reason": done.override_reason,
            }
        ).model_dump(mode="json")
        return 201, public, {"ETag": etag(chart_version)}

    return run_once(
        services=services, request=request, actor=actor, key=idempotency_key, body=body, work=work
    )


@router.post("/reopen", response_model=ChartPublic)
def post_reopen(
    chart_id: RowId,
    body: ReopenCreate,
    request: Request,
    services: ServicesDep,
    actor: Lead,
    version_header: IfMatch,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    expected = expected_version(version_header, body.version, required=False)

    def work(session: Session) -> tuple[int, Any, dict[str, str]]:
        chart = reopen_chart(
            session, chart_id=chart_id, expected_version=expected, reason=body.reason, actor=actor
        )
        return (
            200,
            chart_public(session, chart, ChartPublic).model_dump(mode="json"),
            {"ETag": etag(chart.version)},
        )

    return run_once(
        services=services, request=request, actor=actor, key=idempotency_key, body=body, work=work
    )


@router.get("/code-sets", response_model=list[CodeSetPublic])
def get_code_sets(
    chart_id: RowId, services: ServicesDep, actor: ChartReader
) -> list[CodeSetPublic]:
    with transaction(services.readers) as session:
        get_chart(session, chart_id=chart_id)
        return [CodeSetPublic.model_validate(r) for r in code_sets(session, chart_id=chart_id)]


@router.get("/code-sets/{version}", response_model=CodeSetPublic)
def get_code_set(
    chart_id: RowId, version: RowId, services: ServicesDep, actor: ChartReader
) -> CodeSetPublic:
    with transaction(services.readers) as session:
        return CodeSetPublic.model_validate(code_set(session, chart_id=chart_id, version=version))


@router.get("/export", responses={200: {"content": {"text/csv": {}}}})
def get_export(
    chart_id: RowId,
    services: ServicesDep,
    actor: ChartReader,
    format: Annotated[Literal["fhir", "csv"], Query()] = "fhir",
    version: Annotated[
        int | None, Query(ge=1, le=INT4_MAX, description="Default: the latest.")
    ] = None,
) -> Response:
    """The committed code set as a FHIR R4 Bundle (Claim + Conditions) or as CSV."""
    with transaction(services.readers) as session:
        chart = get_chart(session, chart_id=chart_id)
        if chart.committed_version == 0:
            raise Conflict(f"chart {chart_id} has no committed code set to export yet")
        row = code_set(session, chart_id=chart_id, version=version or chart.committed_version)
        exported = _export_input(chart, row)
    if format == "csv":
        name = f"chart-{chart_id}-v{row.version}.csv"
        return Response(
            csv_text(exported),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return JSONResponse(fhir_bundle(exported), media_type="application/fhir+json")


def _export_input(chart: ChartRow, row: CodeSetRow) -> ExportCodeSet:
    return ExportCodeSet(
        chart_id=chart.id,
        external_id=chart.external_id,
        version=row.version,
        committed_at=row.committed_at,
        committed_by=row.committed_by,
        kb_release=row.kb_release,
        fiscal_year=row.fiscal_year,
        setting=chart.setting,
        encounter_date=chart.encounter_date,
        codes=tuple(
            ExportCode(
                sequence=c["sequence"],
                code=c["code"],
                system=c["system"],
                title=c["title"],
                principal=c["principal"],
                origin=c["origin"],
                action=c["action"],
            )
            for c in row.codes
        ),
    )
