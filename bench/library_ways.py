"""The library's own way of each hand-written mechanism the service still has, for
`bench/checkout.py --ab` (served by bench/ab_app.py; docs/performance.md has the figures).

Each entry of LIBRARY_WAYS puts one mechanism of a built app back to what the library offers
for it. A mechanism that lost its A/B was put back to the library's way in the service itself
and has no entry left. Importing this module builds no app (the bench imports it for the names).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from flask import Flask


def _logging_log(app: Flask) -> None:
    """The access line through `Logger.log` (which finds the caller and filters the level)."""
    import logging
    import time

    from flask import g, request

    from bonus_service import logs

    def finish(response):
        context = g._get_current_object()
        response.headers[logs.HEADER] = context.request_id
        elapsed_ms = round((time.perf_counter() - context.request_started) * 1000, 1)
        req = request._get_current_object()
        method, path, status = req.method, logs.loggable_path(req.path), response.status_code
        level = logging.DEBUG if path in logs.QUIET_PATHS and status < 400 else logging.INFO
        logs.access_log.log(
            level, "%s %s %s %s ms", method, path, status, elapsed_ms,
            extra={"method": method, "path": path, "status": status, "duration_ms": elapsed_ms},
        )  # fmt: skip
        return response

    hooks = app.after_request_funcs[None]
    hooks[hooks.index(logs._finish)] = finish


def _sqlalchemy_execute(app: Flask) -> None:
    """The hot statements through `Connection.execute` (SQLAlchemy's compiled cache, result
    objects, error translation), instead of db.run / Database.read_row's direct cursor."""
    from bonus_service import db

    def run(session, statement, params: dict) -> list:
        result = session.connection().execute(statement, params)
        return result.all() if result.returns_rows else []

    def read_row(self, statement, params: dict):
        with self.reader.connect() as connection:
            return connection.execute(statement, params).first()

    kept = db.run
    for name, module in list(sys.modules.items()):  # `from bonus_service.db import run` too
        if name.startswith("bonus_service") and getattr(module, "run", None) is kept:
            module.run = run
    db.Database.read_row = read_row


def _marshmallow_dump(app: Flask) -> None:
    """The quote's answer dumped by its schema, as flask-smorest's `@blp.response` would."""
    from bonus_service.schemas import QuoteOut

    QuoteOut.fast_dump = staticmethod(QuoteOut().dump)  # one instance, as flask-smorest keeps


LIBRARY_WAYS: dict[str, Callable[[Flask], None]] = {
    "db": _sqlalchemy_execute,
    "access_log": _logging_log,
    "fast_dump": _marshmallow_dump,
}
