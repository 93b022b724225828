"""The databases tests run on: SQLite files, or PostgreSQL when BONUS_TEST_DATABASE_URL names a
server (it must then be reachable: CI fails rather than skips)."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

from bonus_service.db import Database
from bonus_service.models import Base

PG_URL = os.environ.get("BONUS_TEST_DATABASE_URL", "")


def create_run_database(url: str) -> str:
    """A new empty database beside `url`'s, named for this process; → its URL."""
    name = f"bonus_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return str(make_url(url).set(database=name).render_as_string(hide_password=False))


def drop_run_database(url: str, run_url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(
            text(f'DROP DATABASE IF EXISTS "{make_url(run_url).database}" WITH (FORCE)')
        )
    engine.dispose()


def wipe_postgres(url: str) -> None:
    """Every table of the database emptied, its sequences restarted."""
    names = ", ".join(t.name for t in reversed(Base.metadata.sorted_tables))
    engine = create_engine(url)
    with engine.begin() as connection:
        # replica role skips the ledger's append-only trigger: only tests wipe history
        connection.execute(text("SET LOCAL session_replication_role = replica"))
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


def fresh_database(template: str, folder: Path) -> Database:
    """A clean migrated database of its own: a copy of the SQLite template, or the PostgreSQL
    run database wiped (a test calls this once per hypothesis example)."""
    if PG_URL:
        wipe_postgres(template)
        return Database(template)
    path = folder / f"{uuid.uuid4().hex}.db"
    shutil.copy(template, path)
    return Database(f"sqlite:///{path}")


def waiting_on_guests(db: Database) -> int:
    """How many backends of this PostgreSQL database wait on a lock in the ledger's UPDATE of
    a guest."""
    query = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock' AND query ILIKE '%UPDATE guests%'"
    )
    with db.engine.connect() as connection:
        return connection.execute(query).scalar()
