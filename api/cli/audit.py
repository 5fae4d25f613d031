"""`medcoder audit verify`: walk the audit trail's hash chain and name the first broken row."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from api.cli.common import console, fail, load_settings

if TYPE_CHECKING:
    from review.audit_chain import ChainReport

app = typer.Typer(help="The audit trail (append-only, hash-chained).")


def _report() -> ChainReport:
    # Imported here: SQLAlchemy and the review tables are no cost of other commands' start.
    from review.audit_chain import verify_chain
    from review.db import make_engine, read_sessions, transaction, upgrade

    url = load_settings().review_database_url
    upgrade(url)
    engine = make_engine(url)
    try:
        # A read transaction: one consistent state, and on SQLite no wait on the writers.
        with transaction(read_sessions(engine)) as session:
            return verify_chain(session)
    finally:
        engine.dispose()


@app.command("verify")
def verify_command() -> None:
    """Recompute every audit row's hash; exit 1 naming the first row changed, or the first
    after a row removed or inserted, by someone with rights on the database."""
    report = _report()
    broken = report.broken
    if broken is None:
        noun = "row" if report.rows_checked == 1 else "rows"
        console.print(f"{report.rows_checked} {noun}, chain intact", highlight=False)
        # Kept elsewhere, the head also shows rows cut off the end, which the chain cannot.
        console.print(f"head hash {report.head}", highlight=False)
        return
    chart = "no chart" if broken.chart_id is None else f"chart {broken.chart_id}"
    intact = report.rows_checked - 1
    fail(
        f"audit row {broken.id} ({broken.action}, {chart}, at {broken.at.isoformat()}): "
        f"{broken.description}; the {intact} row(s) before it are intact"
    )
