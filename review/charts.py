"""Charts: created from text or FHIR, listed by status, and locked for each change."""

from __future__ import annotations

from typing import Any, Literal, cast

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Table,
    bindparam,
    case,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from agent.chart import coding_year
from agent.models import Chart, ChartMeta, FiscalYearError
from review.actors import Actor
from review.audit import now, record_event
from review.errors import Conflict, InvalidInput, NotFound
from review.states import chart_state
from review.tables import ChartRow, CodingRunRow, ProposalRow

STATUSES = ("new", "coded", "in_review", "committed")
# UPDATE ... RETURNING the row: refresh any copy already loaded in this session.
FRESH_ROWS = {"synchronize_session": False, "populate_existing": True}


def create_chart(
    session: Session, *, chart: Chart, source_format: str, external_id: str | None, actor: Actor
) -> ChartRow:
    stamp = now()
    row = ChartRow(
        external_id=external_id,
        text=chart.text,
        source_format=source_format,
        setting=chart.meta.setting,
        age=chart.meta.age,
        sex=chart.meta.sex,
        encounter_date=chart.meta.encounter_date,
        admission_date=chart.meta.admission_date,
        discharge_date=chart.meta.discharge_date,
        discharge_status=chart.meta.discharge_status,
        status="new",
        version=1,
        committed_version=0,
        created_by=actor.name,
        created_at=stamp,
        updated_at=stamp,
    )
    session.add(row)
    session.flush()
    # The audit row records that a chart arrived, not its text (the text is patient data
    # and stays in the chart row).
    after = {**chart_state(row), "source_format": source_format, "chars": len(chart.text)}
    record_event(session, actor=actor, action="chart.create", chart_id=row.id, after=after)
    return row


def chart_meta(row: ChartRow) -> ChartMeta:
    """The agent's metadata of a stored chart (validated when the chart was created)."""
    return ChartMeta.model_construct(
        setting=row.setting,
        age=row.age,
        sex=row.sex,
        encounter_date=row.encounter_date,
        admission_date=row.admission_date,
        discharge_date=row.discharge_date,
        discharge_status=row.discharge_status,
    )


def date_year(meta: ChartMeta, years: list[int], *, field_prefix: str = "meta") -> int:
    """The fiscal year of the chart's date of service among `years` (the newest without a
    date); a date in no year held is InvalidInput naming the date's field and the years."""
    try:
        return coding_year(meta, years).year
    except FiscalYearError as error:
        raise InvalidInput(
            str(error), field=f"{field_prefix}.{error.field}", fiscal_years=error.years
        ) from None


def chart_year(session: Session, row: ChartRow, years: list[int], base_year: int) -> int:
    """The fiscal year whose code set a chart's review uses: the year its latest coding run
    used (`base_year` for a run made before years were recorded), else that of its date of
    service."""
    run = session.scalar(
        select(CodingRunRow)
        .where(CodingRunRow.chart_id == row.id)
        .order_by(CodingRunRow.id.desc())
        .limit(1)
    )
    if run is not None:
        return run.fiscal_year or base_year
    return date_year(chart_meta(row), years)


def get_chart(session: Session, *, chart_id: int) -> ChartRow:
    row = session.get(ChartRow, chart_id)
    if row is None:
        raise NotFound(f"chart {chart_id} does not exist")
    return row


def _chart_filters(
    *,
    assigned_to: int | Literal["none"] | None,
    visible_to: int | None,
    external_id: str | None,
) -> list[ColumnElement[bool]]:
    """The worklist's conditions other than status (shared by the page and its counts)."""
    conditions: list[ColumnElement[bool]] = []
    if assigned_to == "none":
        conditions.append(ChartRow.assigned_to.is_(None))
    elif assigned_to is not None:
        conditions.append(ChartRow.assigned_to == assigned_to)
    if visible_to is not None:
        conditions.append(or_(ChartRow.assigned_to.is_(None), ChartRow.assigned_to == visible_to))
    if external_id:
        # ILIKE on PostgreSQL, lower() LIKE on SQLite; % and _ in the search are plain
        # characters (autoescape), not wildcards.
        conditions.append(ChartRow.external_id.icontains(external_id, autoescape=True))
    return conditions


def count_charts(
    session: Session,
    *,
    assigned_to: int | Literal["none"] | None = None,
    visible_to: int | None = None,
    external_id: str | None = None,
) -> dict[str, int]:
    """Charts per status (every status, 0 when none) under the same filters as list_charts,
    whatever status the page itself shows: what the worklist's tabs count."""
    conditions = _chart_filters(
        assigned_to=assigned_to, visible_to=visible_to, external_id=external_id
    )
    query = select(ChartRow.status, func.count()).where(*conditions).group_by(ChartRow.status)
    counts = dict.fromkeys(STATUSES, 0)
    for status, count in session.execute(query):
        counts[status] = count
    return counts


def list_charts(
    session: Session,
    *,
    status: str | None,
    offset: int,
    limit: int,
    assigned_to: int | Literal["none"] | None = None,
    visible_to: int | None = None,
    external_id: str | None = None,
    counts: dict[str, int] | None = None,
) -> tuple[list[ChartRow], int]:
    """A page of charts, newest first, and how many match in all; `assigned_to` keeps the
    charts of one user ("none": unassigned ones), `visible_to` those a coder restricted to
    their charts sees (assigned to them or to no one), `external_id` those whose external id
    contains it (any case). With `counts` (count_charts of the same filters) the total
    is taken from them rather than counted again."""
    conditions = _chart_filters(
        assigned_to=assigned_to, visible_to=visible_to, external_id=external_id
    )
    if status is not None:
        conditions.append(ChartRow.status == status)
    query = select(ChartRow).where(*conditions)
    if counts is not None:
        total = counts.get(status, 0) if status is not None else sum(counts.values())
    else:
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(ChartRow.id.desc()).offset(offset).limit(limit))
    return list(rows), total


_CHARTS = cast(Table, ChartRow.__table__)
# Start (or continue) the review of the chart an active proposal belongs to: the version
# bump takes the chart's row lock, as lock_chart(start_review=True) does.
_START_REVIEW = {
    "version": _CHARTS.c.version + 1,
    "updated_at": bindparam("stamp"),
    # Two comparisons rather than IN: an IN list is re-rendered into the SQL on every run.
    "status": case(
        (_CHARTS.c.status == "new", "in_review"),
        (_CHARTS.c.status == "coded", "in_review"),
        else_=_CHARTS.c.status,
    ),
}
_PROPOSALS = cast(Table, ProposalRow.__table__)
_LOCK_PROPOSAL_CHART = (
    update(_CHARTS)
    .where(
        _CHARTS.c.id
        == select(_PROPOSALS.c.chart_id)
        .where(_PROPOSALS.c.id == bindparam("pid"), _PROPOSALS.c.active.is_(True))
        .scalar_subquery(),
        _CHARTS.c.status != "committed",
    )
    .values(_START_REVIEW)
)


def lock_proposal_chart(session: Session, *, proposal_id: int) -> bool:
    """`lock_chart(start_review=True)` of the chart an active proposal belongs to, for the
    hot path of decisions: one prebuilt statement, without a round trip to look the chart up
    first. False when nothing was locked: the proposal is missing or replaced, or its chart
    committed; the caller finds out which (lock_chart says why)."""
    # On the session's connection: the ORM layer adds nothing to a Core statement but CPU.
    result = session.connection().execute(
        _LOCK_PROPOSAL_CHART, {"pid": proposal_id, "stamp": now()}
    )
    return cast(CursorResult[Any], result).rowcount == 1


def lock_chart(
    session: Session,
    *,
    chart_id: int,
    expected_version: int | None = None,
    to_status: str | None = None,
    start_review: bool = False,
    allow_committed: bool = False,
) -> ChartRow:
    """Bump the chart's version with an UPDATE, which holds the row lock until the
    transaction ends: a decision and a commit on one chart are thereby serialized, so no
    decision can slip in after (or during) a commit."""
    values: dict[str, object] = {"version": ChartRow.version + 1, "updated_at": now()}
    if to_status is not None:
        values["status"] = to_status
    elif start_review:
        values["status"] = case(
            (ChartRow.status.in_(("new", "coded")), "in_review"), else_=ChartRow.status
        )
    conditions = [ChartRow.id == chart_id]
    if expected_version is not None:
        conditions.append(ChartRow.version == expected_version)
    if not allow_committed:
        conditions.append(ChartRow.status != "committed")
    query = update(ChartRow).where(*conditions).values(values).returning(ChartRow)
    locked = session.scalars(query, execution_options=FRESH_ROWS).first()
    if locked is not None:
        return locked
    row = session.get(ChartRow, chart_id, populate_existing=True)
    if row is None:
        raise NotFound(f"chart {chart_id} does not exist")
    if not allow_committed and row.status == "committed":
        raise Conflict(
            f"chart {chart_id} is committed (code set v{row.committed_version}); "
            "a lead must reopen it before anything changes",
            current=chart_state(row),
        )
    raise Conflict(
        f"chart {chart_id} is at version {row.version}, not {expected_version}: "
        "reload it and try again",
        current=chart_state(row),
    )
