"""The bonus program book: the versions shipped in rules/ (or BONUS_RULES_DIR) and the versions
published in the database, read again by every instance while it runs.

Published versions never change and never go, so an instance asks the database how many there
are at most every REFRESH_SECONDS and reads them again only when the count moved: a publication
(through any instance) reaches every instance within REFRESH_SECONDS plus one request, and a
version takes effect at its own `effective_from` with no restart.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime

from flask import Flask, current_app
from sqlalchemy.exc import DBAPIError

import rules
from bonus_service.app_db import get_db
from bonus_service.clock import utcnow
from bonus_service.db import Database
from bonus_service.services import programs
from bonus_service.settings import Settings, SettingsError

logger = logging.getLogger("bonus.program")
REFRESH_SECONDS = 5.0


class Shelf:
    """The book this instance decides by, read again from the database when it may be stale."""

    def __init__(self, files: rules.ProgramBook, db: Database,
                 clock: Callable[[], float] = time.monotonic):  # fmt: skip
        self.files, self._db, self._clock = files, db, clock
        self._book, self._count = files, None
        self._checked = float("-inf")
        self._lock = threading.Lock()

    def book(self) -> rules.ProgramBook:
        if self._clock() - self._checked >= REFRESH_SECONDS:
            self.refresh()
        return self._book

    def mark_stale(self) -> None:
        """Read the database on the next look (this instance just published)."""
        self._checked = float("-inf")

    def refresh(self) -> rules.ProgramBook:
        """Read the published versions now if their count moved."""
        with self._lock:
            try:
                with self._db.unit_of_work(write=False) as session:
                    count = programs.published_count(session)
                    if count != self._count:
                        self._book = combined(self.files, programs.published(session))
                        self._count = count
            except DBAPIError as error:  # the book already read still decides: log, go on
                logger.warning("program versions not re-read: %s", error.orig or error)
            except rules.ProgramError as error:  # a stored version the files now contradict
                logger.error("program versions not re-read: %s", error)
            self._checked = self._clock()
            return self._book


def combined(files: rules.ProgramBook, stored: list[tuple[rules.Program, str]]
             ) -> rules.ProgramBook:
    """The shipped files and the published versions; a version stored from a file (init-db's
    seed) is the file's."""
    shipped = set(files.versions)
    extra = [(program, source) for program, source in stored if program.version not in shipped]
    return rules.ProgramBook([*files, *(p for p, _ in extra)],
                             [*(p.version for p in files), *(s for _, s in extra)])


def init_app(app: Flask, config: Settings) -> None:
    try:
        book = rules.load_book(config.rules_dir)
        # a book of future versions only would answer 500 to every quote until the first
        # begins: refused at start-up (once one is in force, one always is)
        book.in_force(utcnow())
    except rules.ProgramError as error:
        raise SettingsError(f"BONUS_RULES_DIR: {error}") from None
    app.extensions["bonus_programs"] = Shelf(book, get_db(app))
    app.extensions["bonus_rules"] = book


def shelf(app: Flask | None = None) -> Shelf:
    return (app or current_app).extensions["bonus_programs"]


def book() -> rules.ProgramBook:
    current = shelf().book()
    current_app.extensions["bonus_rules"] = current
    return current


def in_force(now: datetime) -> rules.Program:
    return book().in_force(now)
