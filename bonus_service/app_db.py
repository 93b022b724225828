"""The app's database: attached to the Flask app at start-up, found from a request or command.

The boundary (a view, a CLI command) opens the unit of work here and passes its session down
to the service verbs; the verbs never look the database up themselves.
"""

from __future__ import annotations

from flask import Flask, current_app

from bonus_service.db import Database


def init_app(app: Flask, url: str) -> None:
    """Attach the database to the app."""
    app.extensions["bonus_db"] = Database(url)


def get_db(app: Flask | None = None) -> Database:
    return (app or current_app).extensions["bonus_db"]


def unit_of_work(*, write: bool = True):
    """The current app's unit of work."""
    return get_db().unit_of_work(write=write)
