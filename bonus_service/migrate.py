"""Bring the schema to the current Alembic head; safe to rerun and to run from two places."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from bonus_service.db import Database

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# any constant: two `init-db` on one PostgreSQL queue on it instead of racing
_ADVISORY_LOCK = 7_310_442


def alembic_config(db: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    return config


def upgrade(db: Database) -> str:
    """Upgrade to head in one transaction and return the revision now in force."""
    config = alembic_config(db)
    engine = db.engine.execution_options(sqlite_begin="IMMEDIATE") if db.is_sqlite else db.engine
    with engine.begin() as connection:
        if not db.is_sqlite:
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        return MigrationContext.configure(connection).get_current_revision()


def is_current(db: Database) -> bool:
    """Whether the database is at the head revision (the readiness check asks this)."""
    head = ScriptDirectory.from_config(alembic_config(db)).get_current_head()
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision() == head


class SetupChatter(logging.Filter):
    """alembic says "Context impl …" and "Will assume …" at INFO on every configure: twice per
    readiness probe, which docs/operations.md promises to log at DEBUG. The upgrade's own
    "Running upgrade …" lines stay."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(("Context impl", "Will assume"))
