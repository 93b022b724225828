"""Bring the schema to the current Alembic head; safe to rerun and to run from two places."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
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


@dataclass(frozen=True)
class Schema:
    """Where the database's schema stands against this release's migrations."""

    revision: str | None  # the database's; None before the first init-db
    head: str  # this release's newest migration
    ahead: bool  # migrated by a later release: a revision this release does not know

    @property
    def usable(self) -> bool:
        """This release can serve it: at its head, or ahead of it. Migrations are additive
        (docs/operations.md), so during a rolling deploy, or after rolling back a release,
        the older release keeps serving a schema a newer one migrated."""
        return self.revision == self.head or self.ahead


def upgrade(db: Database) -> Schema:
    """Upgrade to head in one transaction; a schema a later release migrated is left as it is."""
    config = alembic_config(db)
    engine = db.engine.execution_options(sqlite_begin="IMMEDIATE") if db.is_sqlite else db.engine
    with engine.connect() as connection:
        if db.is_sqlite:
            _sqlite_foreign_keys(connection, on=False)
        try:
            with connection.begin():
                if not db.is_sqlite:
                    connection.execute(
                        text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_LOCK}
                    )
                before = _schema(config, connection)
                if before.ahead:
                    return before  # alembic would stop at the revision it cannot locate
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
                if db.is_sqlite:
                    _no_dangling_references(connection)
                return _schema(config, connection)
        finally:
            if db.is_sqlite:
                _sqlite_foreign_keys(connection, on=True)


def _sqlite_foreign_keys(connection, *, on: bool) -> None:
    """SQLite changes a table by copying it and dropping the old one, which enforced foreign
    keys refuse for a table others refer to (alembic's batch mode: they must be off). The
    pragma is ignored inside a transaction, so it goes on the DBAPI connection before BEGIN."""
    cursor = connection.connection.cursor()
    try:
        cursor.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    finally:
        cursor.close()


def _no_dangling_references(connection) -> None:
    """What the foreign keys would have refused, found before the upgrade commits."""
    found = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if found:
        raise RuntimeError(f"the upgrade left rows whose references dangle: {found[:5]}")


def schema(db: Database) -> Schema:
    """The database's schema against this release's (the readiness check asks this)."""
    with db.engine.connect() as connection:
        return _schema(alembic_config(db), connection)


def _schema(config: Config, connection) -> Schema:
    script = ScriptDirectory.from_config(config)
    revision = MigrationContext.configure(connection).get_current_revision()
    try:
        known = revision is None or script.get_revision(revision) is not None
    except CommandError:  # alembic's "Can't locate revision": a later release's
        known = False
    return Schema(revision, script.get_current_head(), ahead=not known)


class SetupChatter(logging.Filter):
    """alembic says "Context impl …" and "Will assume …" at INFO on every configure: twice per
    readiness probe, which docs/operations.md promises to log at DEBUG. The upgrade's own
    "Running upgrade …" lines stay."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(("Context impl", "Will assume"))
