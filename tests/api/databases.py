"""Fresh review databases for tests: a SQLite file, or a PostgreSQL database cloned from a
migrated template (CREATE DATABASE ... TEMPLATE is much faster than migrating each time)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from review.db import upgrade

POSTGRES_URL = os.environ.get(
    "MEDCODER_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _admin() -> psycopg.Connection:
    url = make_url(POSTGRES_URL)
    return psycopg.connect(
        host=url.host, port=url.port, user=url.username, dbname=url.database, autocommit=True
    )


def _url_for(name: str) -> str:
    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


class PostgresDatabases:
    """Owns one migrated template per test session and the clones made from it."""

    def __init__(self) -> None:
        self.template = f"medcoder_tpl_{uuid.uuid4().hex[:10]}"
        self.created: list[str] = []
        with _admin() as admin:
            admin.execute(f'CREATE DATABASE "{self.template}"')
        upgrade(_url_for(self.template))

    def fresh(self) -> str:
        name = f"medcoder_t_{uuid.uuid4().hex[:12]}"
        with _admin() as admin:
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        self.created.append(name)
        return _url_for(name)

    def drop_all(self) -> None:
        with _admin() as admin:
            for name in [*self.created, self.template]:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def postgres_databases() -> Iterator[PostgresDatabases]:
    databases = PostgresDatabases()
    try:
        yield databases
    finally:
        databases.drop_all()


def sqlite_url(folder: Path) -> str:
    return f"sqlite:///{folder / 'review.sqlite'}"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresDatabases]:
    with postgres_databases() as databases:
        yield databases


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return sqlite_url(tmp_path)
    databases: PostgresDatabases = request.getfixturevalue("postgres")
    return databases.fresh()
