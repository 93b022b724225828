"""RFC 9457 problem details: every error the service answers, in one shape."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from flask import Flask, Response, json, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from bonus_service import errors as domain
from bonus_service import logs

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"


class Problem(HTTPException):
    """An error with a status, a title, a detail and, for bad input, the fields at fault."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        errors: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        **extra: object,
    ):
        super().__init__(description=detail)
        self.code = status
        self.title = title
        self.errors = dict(errors or {})
        self.extra_headers = dict(headers or {})
        self.extra = extra


# The one mapping of the domain's refusals to HTTP: a subclass answers as its nearest listed
# ancestor (a spending code refused is consent refused: 403). A bare DomainError has no
# status on purpose: raising one is a bug, answered 500 and logged.
STATUS: dict[type[domain.DomainError], int] = {
    domain.NotFound: 404,
    domain.Conflict: 409,
    domain.Invalid: 422,
    domain.NotPermitted: 403,
    domain.ConsentRequired: 403,
    domain.LoginCodeRefused: 401,
    domain.RateLimited: 429,
    domain.Unavailable: 503,
}


def status_of(error: domain.DomainError) -> int:
    """The HTTP status a domain refusal answers with."""
    for kind in type(error).__mro__:
        if kind in STATUS:
            return STATUS[kind]
    raise LookupError(f"no HTTP status for {type(error).__name__}: {error}")


def retry_headers(error: domain.DomainError) -> dict[str, str]:
    """Retry-After for a refusal that says when to try again (pages answer it too)."""
    return {"Retry-After": str(error.retry_after)} if error.retry_after is not None else {}


def from_domain(error: domain.DomainError) -> Problem:
    """The problem a domain refusal answers: its status, detail, fields, facts and headers."""
    return Problem(
        status_of(error),
        error.detail,
        errors=error.errors,
        headers=retry_headers(error),
        **error.facts,
    )


def invalid(field: str, reason: str, status: int = 422, **extra: object) -> Problem:
    """Bad input in one named field."""
    return Problem(status, f"{field}: {reason}", errors={field: reason}, **extra)


def flatten_messages(messages: object, prefix: str = "") -> dict[str, str]:
    """marshmallow's nested error dict → {"order.items.0.qty": "reason; reason"}."""
    if isinstance(messages, Mapping):
        flat: dict[str, str] = {}
        for key, value in messages.items():
            name = key if key != "_schema" else ""
            path = f"{prefix}.{name}" if prefix and name else (name or prefix)
            flat.update(flatten_messages(value, path))
        return flat
    if isinstance(messages, list | tuple) and all(isinstance(m, str) for m in messages):
        return {prefix or "body": "; ".join(messages)}
    if isinstance(messages, list | tuple):
        return flatten_messages(dict(enumerate(messages)), prefix)
    return {prefix or "body": str(messages)}


def _webargs_errors(error: HTTPException) -> dict[str, str]:
    data = getattr(error, "data", None) or {}
    messages = data.get("messages") or data.get("errors") or {}
    flat: dict[str, str] = {}
    for location, fields in messages.items() if isinstance(messages, Mapping) else ():
        where = "" if location in ("json", "view_args", "path") else location
        flat.update(flatten_messages(fields, where))
    return flat


def problem_response(error: HTTPException | domain.DomainError) -> Response:
    """Render any HTTPException or domain refusal as application/problem+json."""
    if isinstance(error, domain.DomainError):
        error = from_domain(error)
    status = error.code or 500
    errors = error.errors if isinstance(error, Problem) else _webargs_errors(error)
    body: dict[str, object] = {
        "type": "about:blank",
        "title": (getattr(error, "title", None) or error.name),
        "status": status,
        "detail": _detail(error, errors),
        "instance": request.path if request else None,
    }
    if errors:
        body["errors"] = [{"field": f, "reason": r} for f, r in errors.items()]
    if isinstance(error, Problem):
        body.update(error.extra)
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON)
    for name, value in _headers(error).items():
        response.headers[name] = value
    return response


def _detail(error: HTTPException, errors: Mapping[str, str]) -> str:
    if not isinstance(error, Problem) and errors:
        return "; ".join(f"{field}: {reason}" for field, reason in errors.items())
    return error.description or error.name


def _headers(error: HTTPException) -> dict[str, str]:
    headers = {}
    if isinstance(error, Problem):
        headers.update(error.extra_headers)
    data = getattr(error, "data", None) or {}
    headers.update(data.get("headers") or {})
    if error.code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
        headers["Allow"] = ", ".join(error.valid_methods)
    return headers


def init_app(app: Flask) -> None:
    """Route every error, HTTP or not, through the problem renderer."""
    app.register_error_handler(HTTPException, problem_response)
    app.register_error_handler(domain.DomainError, problem_response)

    @app.errorhandler(OperationalError)
    def _database_unavailable(error: OperationalError) -> Response:
        # The database is down, restarting, or (SQLite) locked past busy_timeout: nothing was
        # committed, so the client may retry; a 500 would say the request itself was wrong.
        log.warning(
            "database unavailable on %s %s: %s",
            request.method,
            logs.loggable_path(request.path),
            str(error.orig).splitlines()[0] if error.orig else error,
        )
        return problem_response(
            Problem(
                503,
                "The database is unavailable; retry shortly.",
                title="Service Unavailable",
                headers={"Retry-After": "1"},
            )
        )

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, logs.loggable_path(request.path))
        return problem_response(InternalServerError("The service failed; it has been logged."))
