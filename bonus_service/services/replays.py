"""Replays in the background: each runs `simulate` in a thread of its own; its `replay_jobs` row
holds the progress and then the result, so any worker (and any page) can read them.

A replay of the whole history takes longer than a request may (gunicorn's 30 s timeout), so the
caller starts one, answers with its id, and the page asks for the progress until it is done.
A replay writes nothing but its own row. While it runs, a second thread writes the row's `beat_at`
every BEAT_SECONDS. A process that dies while replaying (a worker restarted, a deploy) stops
beating: once its last beat is older than STALE_AFTER, the replay reads as failed, saying so, and
the page offers to start it again; its row is left as it was.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update

import rules
from bonus_service.clock import utcnow
from bonus_service.db import Database
from bonus_service.errors import NotFound
from bonus_service.models import ReplayJob as ReplayRow
from bonus_service.services.simulate import MissingVersion, Simulation, simulate

logger = logging.getLogger("bonus.replays")
PROGRESS_SECONDS = 1.0  # the row's progress is written at most this often (and at the end)
BEAT_SECONDS = 10.0  # how often a running replay's thread says it is alive
# Twelve missed beats: a busy database may delay a beat's write by seconds, never by minutes.
STALE_AFTER = timedelta(minutes=2)
ABANDONED = "the process running it stopped (no sign of life for 2 minutes)"


class UnknownReplay(NotFound):
    """No replay with this id."""

    def __init__(self, job_id: str):
        super().__init__("No replay of this version with this id.")
        self.job_id = job_id


@dataclass(frozen=True)
class ReplayJob:
    """A replay as its page shows it: how far it is, and its result or why it failed."""

    id: str
    candidate_version: str
    since: datetime
    until: datetime
    status: str  # "running", "done" or "failed"
    started_at: datetime
    done: int = 0
    total: int | None = None
    finished_at: datetime | None = None
    result: Simulation | None = None
    error: str | None = None


class Replays:
    """Start replays in this process; read any replay's state from the database."""

    def __init__(self, db: Database, clock: Callable[[], datetime] = utcnow):
        self._db, self._clock = db, clock
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()

    def start(self, book: rules.ProgramBook, candidate: rules.Program, since: datetime,
              until: datetime, **options) -> ReplayJob:  # fmt: skip
        """Record the replay and begin it in a thread; `options` are simulate's (top,
        top_guests, batch_size). Returns at once."""
        job = ReplayJob(uuid.uuid4().hex, candidate.version, since, until, "running",
                        self._clock())  # fmt: skip
        with self._db.unit_of_work() as session:
            session.add(ReplayRow(id=job.id, candidate_version=job.candidate_version,
                                  since=since, until=until, status=job.status, done=0,
                                  started_at=job.started_at, beat_at=job.started_at))  # fmt: skip
            session.commit()
        job_id = job.id
        thread = threading.Thread(
            target=self._run, args=(job_id, book, candidate, since, until, options),
            name=f"replay-{job_id[:8]}", daemon=True,
        )  # fmt: skip
        with self._lock:
            self._threads[job_id] = thread
        thread.start()
        return job

    def get(self, job_id: str) -> ReplayJob:
        with self._db.unit_of_work(write=False) as session:
            row = session.get(ReplayRow, job_id)
            if row is None:
                raise UnknownReplay(job_id)
            status, error = row.status, row.error
            last_beat = row.beat_at or row.started_at
            if status == "running" and self._clock() - last_beat > STALE_AFTER:
                status, error = "failed", ABANDONED
            return ReplayJob(
                row.id, row.candidate_version, row.since, row.until, status, row.started_at,
                row.done, row.total, row.finished_at,
                Simulation.from_data(row.result) if row.result is not None else None, error,
            )  # fmt: skip

    def wait(self, job_id: str, timeout: float | None = None) -> ReplayJob:
        """The replay once this process's thread for it has finished (or after `timeout` s)."""
        with self._lock:
            thread = self._threads.get(job_id)
        if thread is not None:
            thread.join(timeout)
        return self.get(job_id)

    def _run(self, job_id, book, candidate, since, until, options) -> None:
        stop = threading.Event()
        beat = threading.Thread(target=self._beat, args=(job_id, stop),
                                name=f"replay-beat-{job_id[:8]}", daemon=True)  # fmt: skip
        beat.start()
        try:
            with self._db.unit_of_work(write=False) as session:
                result = simulate(session, book, candidate, since, until,
                                  progress=self._progress(job_id), **options)  # fmt: skip
        except MissingVersion as error:
            self._write(job_id, status="failed", error=str(error), finished_at=self._clock())
        except Exception as error:  # a thread's failure must reach the page, not vanish
            logger.exception("replay %s failed", job_id)
            self._write(job_id, status="failed", error=f"{type(error).__name__}: {error}",
                        finished_at=self._clock())  # fmt: skip
        else:
            self._write(job_id, status="done", done=result.orders + result.refused,
                        result=result.as_data(), finished_at=self._clock())  # fmt: skip
        finally:
            stop.set()
            beat.join()
            with self._lock:
                self._threads.pop(job_id, None)

    def _beat(self, job_id: str, stop: threading.Event) -> None:
        while not stop.wait(BEAT_SECONDS):
            try:
                self._write(job_id, beat_at=self._clock())
            except Exception:  # a missed beat is retried at the next; the replay goes on
                logger.warning("replay %s: its beat was not written", job_id, exc_info=True)

    def _progress(self, job_id: str) -> Callable[[int, int | None], None]:
        written = [-PROGRESS_SECONDS]  # monotonic time of the last write: a rate, not a date

        def report(done: int, total: int | None) -> None:
            if time.monotonic() - written[0] >= PROGRESS_SECONDS or done == total:
                self._write(job_id, done=done, total=total)
                written[0] = time.monotonic()

        return report

    def _write(self, job_id: str, **values) -> None:
        with self._db.unit_of_work() as session:
            session.execute(update(ReplayRow).where(ReplayRow.id == job_id).values(**values))
            session.commit()
