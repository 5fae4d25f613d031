"""The migrations build exactly the tables review/tables.py declares, on SQLite and on
PostgreSQL; 0002 (fiscal years) goes down and up again keeping the audit trail
append-only; 0003 (discharge status) and 0004 (queries) too; 0007 (chart access) too, its
read log append-only; 0009 (chat conversations) too."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import DatabaseError

from review.db import alembic_config, current_revision, upgrade
from review.tables import Base


@pytest.fixture
def url(database_url: str) -> str:
    return database_url


def differences(url: str) -> list[object]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))
    finally:
        engine.dispose()


def columns(url: str, table: str) -> set[str]:
    engine = create_engine(url)
    try:
        return {c["name"] for c in inspect(engine).get_columns(table)}
    finally:
        engine.dispose()


def test_migrated_schema_is_the_declared_one(url: str) -> None:
    upgrade(url)
    assert current_revision(url) == "0011"
    assert differences(url) == []
    for table in ("coding_runs", "proposals", "code_sets", "audit_events"):
        assert "fiscal_year" in columns(url, table)
    assert {"admission_date", "discharge_date", "discharge_status"} <= columns(url, "charts")


def test_0003_goes_down_and_up(url: str) -> None:
    upgrade(url)
    command.downgrade(alembic_config(url), "0002")
    assert "discharge_status" not in columns(url, "charts")
    assert current_revision(url) == "0002"
    upgrade(url)
    assert "discharge_status" in columns(url, "charts")


def test_0004_goes_down_and_up(url: str) -> None:
    upgrade(url)
    command.downgrade(alembic_config(url), "0003")
    engine = create_engine(url)
    try:
        assert "queries" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()
    upgrade(url)
    assert {"status", "answer", "indicators"} <= columns(url, "queries")


def test_0009_goes_down_and_up(url: str) -> None:
    upgrade(url)
    command.downgrade(alembic_config(url), "0008")
    engine = create_engine(url)
    try:
        tables = inspect(engine).get_table_names()
        assert "conversations" not in tables and "chat_messages" not in tables
    finally:
        engine.dispose()
    assert current_revision(url) == "0008"
    upgrade(url)
    assert differences(url) == []
    assert {"chart_id", "title", "created_by"} <= columns(url, "conversations")
    assert {"question", "answer", "refused", "answerer", "latency_ms"} <= columns(
        url, "chat_messages"
    )


def test_0002_goes_down_and_up_and_the_audit_stays_append_only(url: str) -> None:
    upgrade(url)
    command.downgrade(alembic_config(url), "0001")
    assert "fiscal_year" not in columns(url, "proposals")
    upgrade(url)
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO audit_events (at, actor, role, action, fiscal_year) "
                    "VALUES (CURRENT_TIMESTAMP, 'a', 'lead', 'test', 2027)"
                )
            )
        with pytest.raises(DatabaseError, match="append-only"), engine.begin() as connection:
            connection.execute(text("UPDATE audit_events SET fiscal_year = 2026"))
    finally:
        engine.dispose()


def test_a_committed_code_set_cannot_be_changed_or_removed(url: str) -> None:
    upgrade(url)
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO charts (text, source_format, setting, status, version, "
                    "committed_version, created_by, created_at, updated_at) VALUES ('x', "
                    "'text', 'inpatient', 'committed', 1, 1, 'a', CURRENT_TIMESTAMP, "
                    "CURRENT_TIMESTAMP)"
                )
            )
            chart_id = connection.execute(text("SELECT max(id) FROM charts")).scalar_one()
            connection.execute(
                text(
                    "INSERT INTO code_sets (chart_id, version, codes, kb_release, "
                    "committed_by, committed_at) VALUES (:c, 1, '[]', 'kb', 'a', "
                    "CURRENT_TIMESTAMP)"
                ),
                {"c": chart_id},
            )
        for statement in (
            'UPDATE code_sets SET codes = \'[{"code": "C34.90"}]\'',
            "DELETE FROM code_sets",
        ):
            with pytest.raises(DatabaseError, match="immutable"), engine.begin() as connection:
                connection.execute(text(statement))
    finally:
        engine.dispose()
    command.downgrade(alembic_config(url), "0004")
    upgrade(url)


def test_0007_goes_down_and_up_and_the_read_log_stays_append_only(url: str) -> None:
    upgrade(url)
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO charts (text, source_format, setting, status, version, "
                    "committed_version, created_by, created_at, updated_at) VALUES ('x', "
                    "'text', 'inpatient', 'new', 1, 0, 'a', CURRENT_TIMESTAMP, "
                    "CURRENT_TIMESTAMP)"
                )
            )
        command.downgrade(alembic_config(url), "0006")
        assert "chart_reads" not in inspect(engine).get_table_names()
        assert "assigned_to" not in columns(url, "charts")
        with engine.connect() as connection:  # the charts table was rebuilt on SQLite
            assert connection.execute(text("SELECT count(*) FROM charts")).scalar_one() == 1
        upgrade(url)
        assert differences(url) == []
        assert "assigned_to" in columns(url, "charts")
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO chart_reads (at, actor, role, chart_id, endpoint) "
                    "VALUES (CURRENT_TIMESTAMP, 'a', 'coder', 1, 'GET /charts/{chart_id}')"
                )
            )
        for statement in ("UPDATE chart_reads SET actor = 'b'", "DELETE FROM chart_reads"):
            with pytest.raises(DatabaseError, match="append-only"), engine.begin() as connection:
                connection.execute(text(statement))
    finally:
        engine.dispose()
