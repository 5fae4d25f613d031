"""The audit trail's hash chain, on SQLite and PostgreSQL: rows appended through
record_event verify intact (also from several threads at once); a row changed or removed by
someone who first dropped the triggers is named, by verify_chain and by `medcoder audit
verify`; rows written before the chain existed are chained by migration 0006."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import JSON, DateTime, Engine, Integer, String, column, insert, table, text
from sqlalchemy.exc import DatabaseError
from typer.testing import CliRunner

from api.cli.main import app
from review.actors import Actor
from review.audit import record_event
from review.audit_chain import GENESIS, ChainReport, verify_chain
from review.db import alembic_config, make_engine, read_sessions, sessions, transaction, upgrade

LEAD = Actor(user_id=1, name="lee", role="lead", request_id="req-1")


@pytest.fixture
def url(database_url: str) -> str:
    upgrade(database_url)
    return database_url


@pytest.fixture
def engine(url: str) -> Iterator[Engine]:
    engine = make_engine(url)
    yield engine
    engine.dispose()


def append(engine: Engine, count: int, *, start: int = 0) -> None:
    """`count` events, each in its own transaction, with JSON, versions and no chart."""
    factory = sessions(engine)
    for number in range(start, start + count):
        with transaction(factory) as session:
            record_event(
                session,
                actor=LEAD,
                action="decision.modify",
                chart_id=number % 3 or None,
                proposal_id=number,
                before={"code": "I50.9", "confidence": 0.1, "spans": [[1, 2]]},
                after={"code": "I50.33", "note": "acute on chronic, übersetzt"},
                reason="more_specific",
                versions={
                    "model": "m",
                    "prompt_version": "p1",
                    "kb_release": "kb",
                    "fiscal_year": 2027,
                },
            )


def verify(engine: Engine, page: int = 7) -> ChainReport:
    # A small page so the walk crosses page boundaries.
    with transaction(read_sessions(engine)) as session:
        return verify_chain(session, page=page)


def ids(engine: Engine) -> list[int]:
    with engine.connect() as connection:
        return list(connection.execute(text("SELECT id FROM audit_events ORDER BY id")).scalars())


def as_dba(engine: Engine, *statements: str) -> None:
    """What someone with rights on the database can do: lift the triggers, then write."""
    drop = (
        ["DROP TRIGGER audit_events_append_only ON audit_events"]
        if engine.dialect.name == "postgresql"
        else ["DROP TRIGGER audit_events_no_update", "DROP TRIGGER audit_events_no_delete"]
    )
    with engine.begin() as connection:
        for statement in [*drop, *statements]:
            connection.execute(text(statement))


def test_rows_written_through_record_event_verify_intact(engine: Engine) -> None:
    append(engine, 20)
    report = verify(engine)
    assert report.intact and report.rows_checked == 20
    with engine.connect() as connection:
        links = connection.execute(
            text("SELECT prev_hash, row_hash FROM audit_events ORDER BY id")
        ).all()
    assert links[0].prev_hash == GENESIS
    assert all(row.prev_hash == before.row_hash for before, row in itertools.pairwise(links))
    assert report.head == links[-1].row_hash
    assert verify(engine, page=1000) == report


def test_an_empty_trail_is_intact(engine: Engine) -> None:
    assert verify(engine) == ChainReport(rows_checked=0, head=GENESIS)


@pytest.mark.parametrize(
    "change",
    ["actor = 'mallory'", """"after" = '{"code": "I50.23"}'""", "fiscal_year = 2026"],
)
def test_a_row_altered_in_the_database_is_named(engine: Engine, change: str) -> None:
    append(engine, 12)
    target = ids(engine)[8]
    as_dba(engine, f"UPDATE audit_events SET {change} WHERE id = {target}")
    report = verify(engine)
    assert report.broken is not None
    assert (report.broken.id, report.broken.problem) == (target, "altered")
    assert report.rows_checked == 9
    assert report.broken.action == "decision.modify" and report.broken.at.tzinfo is not None


def test_a_deleted_row_breaks_the_link_at_the_next_row(engine: Engine) -> None:
    append(engine, 12)
    rows = ids(engine)
    as_dba(engine, f"DELETE FROM audit_events WHERE id = {rows[4]}")
    report = verify(engine)
    assert report.broken is not None
    assert (report.broken.id, report.broken.problem) == (rows[5], "link")
    assert "deleted" in report.broken.description


def test_a_row_slipped_in_without_a_hash_is_named(engine: Engine) -> None:
    append(engine, 3)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO audit_events (at, actor, role, action) "
                "VALUES (CURRENT_TIMESTAMP, 'mallory', 'lead', 'chart.create')"
            )
        )
    report = verify(engine)
    assert report.broken is not None and report.broken.problem == "unchained"
    assert report.broken.id == ids(engine)[-1]


def test_concurrent_appends_make_one_chain(engine: Engine) -> None:
    threads, each = 4, 25
    start = threading.Barrier(threads)
    errors: list[BaseException] = []

    def work(number: int) -> None:
        try:
            start.wait()
            append(engine, each, start=number * each)
        except BaseException as error:  # reported below, not lost in the thread
            errors.append(error)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    report = verify(engine)
    assert report.intact and report.rows_checked == threads * each
    with engine.connect() as connection:
        prevs = connection.execute(text("SELECT prev_hash FROM audit_events")).scalars().all()
    assert len(set(prevs)) == threads * each  # no two rows chain from the same one


def test_the_cli_says_intact_then_names_the_altered_row(
    url: str, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEDCODER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MEDCODER_DATABASE_URL", url)
    runner = CliRunner()
    append(engine, 5)
    intact = runner.invoke(app, ["audit", "verify"])
    assert intact.exit_code == 0, intact.output
    assert "5 rows, chain intact" in intact.output
    target = ids(engine)[2]
    as_dba(engine, f"UPDATE audit_events SET actor = 'mallory' WHERE id = {target}")
    broken = runner.invoke(app, ["audit", "verify"])
    assert broken.exit_code == 1
    assert f"audit row {target} (decision.modify" in broken.output
    assert "row altered" in broken.output


# The audit table as revision 0005's record_event wrote it (before the chain's columns).
AUDIT_0005 = table(
    "audit_events",
    column("at", DateTime(timezone=True)),
    column("actor", String()),
    column("role", String()),
    column("action", String()),
    column("chart_id", Integer()),
    column("before", JSON()),
    column("after", JSON()),
    column("fiscal_year", Integer()),
)


def test_rows_from_before_the_chain_are_chained_by_the_migration(url: str) -> None:
    command.downgrade(alembic_config(url), "0005")
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            columns = connection.execute(text("SELECT * FROM audit_events")).keys()
            assert "row_hash" not in columns
            for number in range(15):
                at = datetime(2026, 11, 30, 8, number, 5, 123456 * (number % 2), tzinfo=UTC)
                values = {"at": at, "actor": "a", "role": "coder", "action": "chart.create"}
                before = {"status": "new", "n": number} if number % 3 else None
                connection.execute(
                    insert(AUDIT_0005),
                    {**values, "chart_id": number, "before": before, "after": {"x": [number]}},
                )
            connection.execute(
                text(
                    "INSERT INTO audit_events (at, actor, role, action, fiscal_year) "
                    "VALUES (CURRENT_TIMESTAMP, 'a', 'lead', 'test', 2027)"
                )
            )
        with pytest.raises(DatabaseError, match="append-only"), engine.begin() as connection:
            connection.execute(text("UPDATE audit_events SET actor = 'b'"))
        upgrade(url)
        report = verify(engine)
        assert report.intact and report.rows_checked == 16
        append(engine, 3)
        assert verify(engine).rows_checked == 19 and verify(engine).intact
        for statement in ("UPDATE audit_events SET actor = 'b'", "DELETE FROM audit_events"):
            with pytest.raises(DatabaseError, match="append-only"), engine.begin() as connection:
                connection.execute(text(statement))
    finally:
        engine.dispose()
