"""Engines for SQLite (the default, one file in WAL mode) and PostgreSQL, and migrations."""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str, *, sqlite_synchronous: str = "NORMAL", pool_size: int = 20) -> Engine:
    """An engine for `url`; SQLite connections get WAL, a busy timeout and foreign keys."""
    if make_url(url).get_backend_name() != "sqlite":
        return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
    _sqlite_pragmas(engine, sqlite_synchronous)
    return engine


def _sqlite_pragmas(engine: Engine, synchronous: str) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's BEGIN below be the only transaction control (pysqlite's own
        # deferred BEGIN would let two writers both read, then one fail to upgrade its lock).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives a killed process; FULL also survives power loss.
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        # Writers take the write lock up front; readers (WAL) never wait for it.
        deferred = connection.get_execution_options().get("read_only", False)
        connection.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")


def sessions(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def read_sessions(engine: Engine) -> sessionmaker[Session]:
    """Sessions for reading only: on SQLite they neither take nor wait for the write lock."""
    return sessionmaker(engine.execution_options(read_only=True), expire_on_commit=False)


class _WriterLock:
    """One writer at a time per SQLite file: threads queue on a lock, processes (uvicorn
    workers) on flock() of a file beside the database. Both block in the kernel and wake at
    once; SQLite's own busy handler polls with sleeps of up to 100 ms, which wrecks tail
    latency under load."""

    def __init__(self, database: str) -> None:
        self._thread_lock = threading.Lock()
        self._file = None if database in ("", ":memory:") else open(f"{database}.writer", "a")  # noqa: SIM115

    def __enter__(self) -> None:
        self._thread_lock.acquire()
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_EX)

    def __exit__(self, *_exc: object) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
        self._thread_lock.release()


_WRITER_LOCKS: dict[str, _WriterLock] = {}
_LOCKS_GUARD = threading.Lock()


def _writer_lock(factory: sessionmaker[Session]) -> _WriterLock | None:
    bind = factory.kw.get("bind")
    if (
        bind is None
        or bind.dialect.name != "sqlite"
        or bind.get_execution_options().get("read_only")
    ):
        return None
    with _LOCKS_GUARD:
        if str(bind.url) not in _WRITER_LOCKS:
            _WRITER_LOCKS[str(bind.url)] = _WriterLock(bind.url.database or "")
        return _WRITER_LOCKS[str(bind.url)]


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: committed when the block ends, rolled back if it raises."""
    lock = _writer_lock(factory)
    if lock is None:
        with factory() as session, session.begin():
            yield session
        return
    with lock, factory() as session, session.begin():
        yield session


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str) -> None:
    """Apply every migration not yet applied (creates the SQLite folder if needed)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), "head")


def current_revision(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
