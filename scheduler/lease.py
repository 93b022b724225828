"""A database lease on one run of a periodic job, so that of several instances one runs it.

A run is a row of `job_runs` keyed by (name, run_key), e.g. ("expiry", "2025-03-16"). Claiming
it is one INSERT ... ON CONFLICT DO UPDATE: the first instance inserts the row; another finds it
and takes it over only if it is unfinished and its lease has lapsed (the holder died). The holder
renews the lease as it goes and closes the row when done, so a finished run is never repeated.
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from bonus_service.db import Database
from bonus_service.models import JobRun

LEASE = timedelta(minutes=10)


class LeaseLost(RuntimeError):
    """Another instance took the run over (ours had lapsed): stop writing for it."""


def new_owner() -> str:
    """Who holds a lease: host, process, and a random tag (two runs in one process differ)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"[:120]


@dataclass(frozen=True)
class Lease:
    db: Database
    run_id: int
    owner: str
    ttl: timedelta

    def renew(self, at: datetime) -> None:
        """Push the lease `ttl` past `at`; LeaseLost if the run is no longer ours."""
        self._update(at, lease_until=at + self.ttl)

    def release(self, at: datetime) -> None:
        """Give the unfinished run up at once (a failure): the next attempt may take it over."""
        self._update(at, lease_until=at)

    def finish(self, at: datetime, figures: dict) -> None:
        """Close the run with what it did; it will not run again."""
        self._update(at, lease_until=at, finished_at=at, figures=figures)

    def _update(self, at: datetime, **values) -> None:
        with self.db.unit_of_work() as session:
            changed = session.execute(
                update(JobRun)
                .where(
                    JobRun.id == self.run_id,
                    JobRun.owner == self.owner,
                    JobRun.finished_at.is_(None),
                )
                .values(**values)
            ).rowcount
            session.commit()
        if changed != 1:
            raise LeaseLost(f"job run {self.run_id} is no longer held by {self.owner}")


def claim(
    db: Database,
    name: str,
    run_key: str,
    at: datetime,
    *,
    ttl: timedelta = LEASE,
    owner: str | None = None,
) -> Lease | None:
    """The run, if it is ours to do now; None when it is finished or another holds it."""
    owner = owner or new_owner()
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(JobRun).values(
        name=name, run_key=run_key, owner=owner, attempts=1, started_at=at, lease_until=at + ttl
    )
    statement = insert.on_conflict_do_update(
        index_elements=[JobRun.name, JobRun.run_key],
        set_={
            "owner": insert.excluded.owner,
            "lease_until": insert.excluded.lease_until,
            "attempts": JobRun.attempts + 1,
        },
        where=JobRun.finished_at.is_(None) & (JobRun.lease_until < at),
    ).returning(JobRun.id)
    with db.unit_of_work() as session:
        run_id = session.scalar(statement)
        session.commit()
    return None if run_id is None else Lease(db, run_id, owner, ttl)


def held_until(db: Database, name: str, run_key: str) -> datetime | None:
    """When the lease of an unfinished run lapses; None if the run is finished or absent."""
    with db.unit_of_work(write=False) as session:
        run = session.scalar(select(JobRun).where(JobRun.name == name, JobRun.run_key == run_key))
    return None if run is None or run.finished_at is not None else run.lease_until
