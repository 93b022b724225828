"""Request plumbing: JSON numbers as Decimal, body and content-type checks, client address."""

from __future__ import annotations

import json
from decimal import Decimal

from flask import Flask, request
from flask.json.provider import DefaultJSONProvider
from webargs.flaskparser import FlaskParser
from werkzeug.middleware.proxy_fix import ProxyFix

from bonus_service.problems import Problem


class ExponentNumber:
    """A JSON number written with an exponent: amounts refuse it, by name."""

    def __init__(self, literal: str):
        self.literal = literal

    def __repr__(self) -> str:
        return self.literal


def _parse_float(literal: str) -> Decimal | ExponentNumber:
    return ExponentNumber(literal) if "e" in literal.lower() else Decimal(literal)


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not allowed")


def loads(data: str | bytes) -> object:
    """Parse JSON without ever creating a float."""
    return json.loads(data, parse_float=_parse_float, parse_constant=_refuse_constant)


class DecimalJSONProvider(DefaultJSONProvider):
    """Flask's JSON, with numbers parsed as Decimal."""

    ensure_ascii = False
    sort_keys = False

    def loads(self, s, **kwargs):
        return loads(s)


class JsonBodyParser(FlaskParser):
    """webargs parser reading the body with the Decimal loader; bad JSON is a 400 problem."""

    def _raw_load_json(self, req):
        if not req.get_data(cache=True):
            raise Problem(400, "The request body is empty; a JSON object is required.")
        try:
            return loads(req.get_data(cache=True))
        except (ValueError, UnicodeDecodeError) as error:
            raise Problem(400, f"The request body is not valid JSON: {error}") from None


BODY_METHODS = {"POST", "PUT", "PATCH"}


def _check_body() -> None:
    """Refuse a wrong content type early, before any view runs."""
    if request.method not in BODY_METHODS or not request.path.startswith("/v1/"):
        return
    if request.content_length == 0 and not request.mimetype:
        return
    if request.get_data(cache=True) and request.mimetype != "application/json":
        raise Problem(
            415,
            f"Content-Type must be application/json, got {request.mimetype or 'none'}.",
            title="Unsupported Media Type",
        )


def client_address() -> str:
    """The guest's address: ProxyFix has already read X-Forwarded-For for trusted hops."""
    return request.remote_addr or "unknown"


def init_app(app: Flask, proxy_hops: int, max_body_bytes: int) -> None:
    app.json = DecimalJSONProvider(app)
    app.config["MAX_CONTENT_LENGTH"] = max_body_bytes
    if proxy_hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxy_hops, x_proto=proxy_hops)
    app.before_request(_check_body)
