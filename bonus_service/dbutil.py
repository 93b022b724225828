"""Statements that differ by dialect, written once."""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

# The largest id each key column can hold (PostgreSQL INTEGER, BIGINT; SQLite's are 64-bit).
MAX_INTEGER_ID = 2**31 - 1
MAX_BIGINT_ID = 2**63 - 1


def older_than(column, before: int | None, largest: int):
    """The keyset condition `column < before`, or None when it keeps every row: no `before`,
    or one past the column's range (a bound the database would refuse as out of range)."""
    if before is None or before > largest:
        return None
    return column < max(before, 0)  # nothing is older than 0; a huge negative is no bound


def insert_ignore(session: Session, table, values: dict) -> None:
    """INSERT that does nothing when the row exists (ON CONFLICT DO NOTHING on both back-ends)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(dialect.insert(table).values(**values).on_conflict_do_nothing())
