"""Logging: one JSON object per line, tied to its request by an id the client also gets back.

Each request gets a request id: the caller's `X-Request-Id` when it is a sane token (up to 64
characters of letters, digits, `-`, `_`, `.`), a fresh one otherwise. It is returned in the
`X-Request-Id` header and written into every line logged while the request runs, and the
request ends with one access line (method, path, status, duration_ms). Headers, bodies and query
strings are never logged: they carry API keys, guest tokens and login codes. The console SMS
sender's line keeps its text in `message`, so a developer still reads the code in the log.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from urllib.parse import unquote

from flask import Flask, Response, g, has_request_context, request

import sms
from bonus_service.migrate import SetupChatter

HEADER = "X-Request-Id"
SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
# Paths that name a guest by phone: the access line shows the phone masked, as the SMS
# sender's lines do (a log is read by more people than the guests' data should be).
PHONE_PATH = "/v1/guests/"
# Probes and scrapes arrive every few seconds; their access lines are DEBUG unless they fail.
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})

access_log = logging.getLogger("bonus.access")
# every attribute a plain LogRecord has; anything else on a record came in through `extra=`
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
}
# made once: json.dumps with options builds a new encoder per call (a line per request)
_ENCODE = json.JSONEncoder(ensure_ascii=False, default=str).encode


_second: tuple[int, str] = (-1, "")


def _timestamp(created: float) -> str:
    """ISO 8601 UTC with milliseconds; the part up to the second is reused within the second."""
    global _second
    whole = int(created)
    if _second[0] != whole:
        _second = (whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)))
    return f"{_second[1]}.{int((created - whole) * 1000):03d}+00:00"


class JsonFormatter(logging.Formatter):
    """A record as one JSON line: time, level, logger, message, request_id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": _timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if has_request_context():
            request_id = g.get("request_id")
            if request_id is not None:
                line["request_id"] = request_id
        attributes = vars(record)
        if not _STANDARD.issuperset(attributes):  # the common record has no extras: no loop
            line.update((k, v) for k, v in attributes.items() if k not in _STANDARD)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return _ENCODE(line)


def install_json_handler(level: int = logging.INFO) -> None:
    """JSON lines on stderr from the root logger, unless logging is already configured."""
    root = logging.getLogger()
    if root.handlers:  # a host (pytest, gunicorn --log-config) configured logging itself
        return
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(level)


def request_id(incoming: str | None) -> str:
    """The caller's id if it is a sane token, else a new one."""
    if incoming and SANE_ID.fullmatch(incoming):
        return incoming
    return secrets.token_hex(16)  # 128 random bits, as uuid4 but without building a UUID


def _begin() -> None:
    context = g._get_current_object()  # one context lookup, not one per attribute
    context.request_id = request_id(request.headers.get(HEADER))
    context.request_started = time.perf_counter()


def loggable_path(path: str) -> str:
    """The path as a log may show it: a guest's phone segment masked, in whatever form the
    client wrote the phone (the API reads «8 912 345-67-89» and «+7 (912) 345 67 89» too)."""
    if not path.startswith(PHONE_PATH):  # /v1/guests/+79123456789 → /v1/guests/+7912***89
        return path
    phone, slash, rest = unquote(path)[len(PHONE_PATH):].partition("/")
    return f"{PHONE_PATH}{sms.masked(phone)}{slash}{rest}"


def _finish(response: Response) -> Response:
    context = g._get_current_object()
    response.headers[HEADER] = context.request_id
    elapsed_ms = round((time.perf_counter() - context.request_started) * 1000, 1)
    req = request._get_current_object()  # one context lookup, not one per attribute
    method, path, status = req.method, loggable_path(req.path), response.status_code
    level = logging.DEBUG if path in QUIET_PATHS and status < 400 else logging.INFO
    if access_log.isEnabledFor(level):
        # made and handled directly (Logger.makeRecord and Logger.handle, both public):
        # Logger.log's walk up the stack for the caller's file and line would only ever find
        # this function. It stays because it paid: pairs +10.5% against Logger.log in a
        # same-run A/B (bench/checkout.py --ab access_log, docs/performance.md)
        access_log.handle(
            access_log.makeRecord(
                access_log.name, level, __file__, 0, "%s %s %s %s ms",
                (method, path, status, elapsed_ms), None,
                extra={"method": method, "path": path, "status": status,
                       "duration_ms": elapsed_ms},
            )
        )  # fmt: skip
    return response


def init_app(app: Flask) -> None:
    install_json_handler()
    # twilio's client logs every request's URL and headers at INFO: noise, not events
    logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
    chatter = logging.getLogger("alembic.runtime.migration")
    if not any(isinstance(f, SetupChatter) for f in chatter.filters):
        chatter.addFilter(SetupChatter())
    app.before_request(_begin)
    app.after_request(_finish)
