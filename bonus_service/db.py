"""Engines, sessions and the unit of work: the only place that commits."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str) -> Engine:
    """An engine set up for real concurrent use on SQLite or PostgreSQL."""
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


def _sqlite_engine(url: str) -> Engine:
    # pysqlite defers BEGIN until the first write, which turns a read-then-write into a lock
    # upgrade that can fail under load; we take control of BEGIN ourselves (SQLAlchemy recipe).
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # A writing unit of work takes the write lock up front (IMMEDIATE), so two writers
        # queue on busy_timeout instead of deadlocking on an upgrade.
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


class Database:
    """The app's engine and session factories for reading and for writing."""

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        writer = (
            self.engine.execution_options(sqlite_begin="IMMEDIATE")
            if self.is_sqlite
            else self.engine
        )
        self._read = sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        self._write = sessionmaker(writer, expire_on_commit=False, autoflush=False)

    @contextmanager
    def unit_of_work(self, *, write: bool = True) -> Iterator[Session]:
        """A transaction that rolls back unless the block calls session.commit()."""
        session = (self._write if write else self._read)()
        try:
            yield session
        finally:
            # close() rolls back whatever was not committed and, unlike rollback(), leaves
            # loaded objects readable after the block
            session.close()

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()


def init_app(app: Flask, url: str) -> None:
    """Attach the database to the app."""
    app.extensions["bonus_db"] = Database(url)


def get_db(app: Flask | None = None) -> Database:
    return (app or current_app).extensions["bonus_db"]


def unit_of_work(*, write: bool = True):
    """The current app's unit of work."""
    return get_db().unit_of_work(write=write)
