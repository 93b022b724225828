"""Statements that differ by dialect, written once."""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_ignore(session: Session, table, values: dict) -> None:
    """INSERT that does nothing when the row exists (ON CONFLICT DO NOTHING on both back-ends)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(dialect.insert(table).values(**values).on_conflict_do_nothing())
