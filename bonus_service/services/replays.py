"""Replays in the background: each runs `simulate` in a thread of its own and reports progress.

A replay of the whole history takes longer than a request may (gunicorn's 30 s timeout), so the
caller starts one, answers with its id, and the page asks for the progress until it is done.
The registry lives in the process that started the replays: the progress of a replay is seen
by the worker that runs it, and a restart forgets them (a replay writes nothing; run it again).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

import rules
from bonus_service.clock import utcnow
from bonus_service.db import Database
from bonus_service.services.simulate import MissingVersion, Simulation, simulate

logger = logging.getLogger("bonus.replays")
KEEP_FINISHED = 20  # finished replays kept for their pages; older ones are forgotten


class UnknownReplay(LookupError):
    """No replay with this id (never started here, or forgotten since)."""


@dataclass(frozen=True)
class ReplayJob:
    """A replay as its page shows it: how far it is, and its result or why it failed."""

    id: str
    candidate_version: str
    status: str  # "running", "done" or "failed"
    started_at: datetime
    done: int = 0
    total: int | None = None
    finished_at: datetime | None = None
    result: Simulation | None = None
    error: str | None = None


class Replays:
    """The replays of this process; `start` returns at once, `get` reads one's state."""

    def __init__(self, db: Database, clock: Callable[[], datetime] = utcnow):
        self._db, self._clock = db, clock
        self._jobs: dict[str, ReplayJob] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()

    def start(self, book: rules.ProgramBook, candidate: rules.Program, since: datetime,
              until: datetime, **options) -> ReplayJob:  # fmt: skip
        """Begin replaying in a thread; `options` are simulate's (top, top_guests, batch_size)."""
        job = ReplayJob(uuid.uuid4().hex, candidate.version, "running", self._clock())
        thread = threading.Thread(
            target=self._run, args=(job.id, book, candidate, since, until, options),
            name=f"replay-{job.id[:8]}", daemon=True,
        )  # fmt: skip
        with self._lock:
            self._jobs[job.id] = job
            self._threads[job.id] = thread
            self._forget_old()
        thread.start()
        return job

    def get(self, job_id: str) -> ReplayJob:
        with self._lock:
            try:
                return self._jobs[job_id]
            except KeyError:
                raise UnknownReplay(job_id) from None

    def wait(self, job_id: str, timeout: float | None = None) -> ReplayJob:
        """The replay once finished (or as it is after `timeout` seconds)."""
        with self._lock:
            thread = self._threads.get(job_id)
        if thread is not None:
            thread.join(timeout)
        return self.get(job_id)

    def _run(self, job_id, book, candidate, since, until, options) -> None:
        try:
            with self._db.unit_of_work(write=False) as session:
                result = simulate(session, book, candidate, since, until,
                                  progress=lambda done, total: self._update(
                                      job_id, done=done, total=total),
                                  **options)  # fmt: skip
        except MissingVersion as error:
            self._update(job_id, status="failed", error=str(error), finished_at=self._clock())
        except Exception as error:  # a thread's failure must reach the page, not vanish
            logger.exception("replay %s failed", job_id)
            self._update(job_id, status="failed", error=f"{type(error).__name__}: {error}",
                         finished_at=self._clock())  # fmt: skip
        else:
            self._update(job_id, status="done", result=result, finished_at=self._clock())
        finally:
            with self._lock:
                self._threads.pop(job_id, None)

    def _update(self, job_id: str, **changes) -> None:
        with self._lock:
            self._jobs[job_id] = replace(self._jobs[job_id], **changes)

    def _forget_old(self) -> None:
        finished = [j for j in self._jobs.values() if j.status != "running"]
        finished.sort(key=lambda j: j.finished_at)
        for job in finished[: max(len(finished) - KEEP_FINISHED, 0)]:
            del self._jobs[job.id]
