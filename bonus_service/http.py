"""Request plumbing: JSON numbers as Decimal, body and content-type checks, client address."""

from __future__ import annotations

import io
import ipaddress
import json
import re
import typing
from decimal import Decimal

from flask import Flask, request
from flask.json.provider import DefaultJSONProvider
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix

from bonus_service.problems import Problem
from rules.nesting import MAX_DEPTH, nested_deeper_than


class NumberLiteral:
    """A JSON number the service does not read as a Decimal, kept as written: one with an
    exponent (`1e3`), or the constants `NaN`, `Infinity` and `-Infinity` that JSON does not
    have but Python's json writes. Amounts refuse it by name (422); it is no number to any
    other field either."""

    def __init__(self, literal: str):
        self.literal = literal
        self.exponent = "e" in literal.lower()  # NaN and Infinity have none

    def __repr__(self) -> str:
        return self.literal


def _parse_float(literal: str) -> Decimal | NumberLiteral:
    return NumberLiteral(literal) if "e" in literal.lower() else Decimal(literal)


class TooDeep(ValueError):
    """JSON nested deeper than any request needs (rules.nesting.MAX_DEPTH levels)."""


def loads(data: str | bytes) -> object:
    """Parse JSON without ever creating a float; refuse it first if it nests too deeply (the
    parser and everything after it recurse once per level or more)."""
    if nested_deeper_than(data):
        raise TooDeep(f"nested deeper than {MAX_DEPTH} levels of arrays and objects")
    try:
        return json.loads(data, parse_float=_parse_float, parse_constant=NumberLiteral)
    except RecursionError:  # a stack already deep before parsing: still bad input, not a 500
        raise TooDeep("the JSON is nested too deeply") from None


# NUL and unpaired surrogates are valid in a JSON string but cannot be stored (PostgreSQL refuses
# NUL in text, no database can encode a lone surrogate): refused up front, by the field's path.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# In a JSON text they can only come as escapes (a raw NUL or lone surrogate is not valid JSON or
# UTF-8): a body without one of these needs no walk (a match may be a false alarm: then walk).
ESCAPED_UNSTORABLE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")


def refuse_unstorable_text(document: object) -> None:
    """422 naming the first string (or key) in `document` that no database could store."""
    pending: list[tuple[str, object]] = [("", document)]
    while pending:  # iterative: the document may be as deep as the parser allowed
        path, value = pending.pop()
        if isinstance(value, dict):
            pending.extend((f"{path}.{k}" if path else str(k), v) for k, v in value.items())
            value = " ".join(map(str, value))
        elif isinstance(value, list):
            pending.extend((f"{path}.{i}" if path else str(i), v) for i, v in enumerate(value))
        if isinstance(value, str) and UNSTORABLE.search(value):
            field = path or "body"
            raise Problem(
                422,
                f"{field}: must not contain NUL or unpaired surrogate characters",
                errors={field: "must not contain NUL or unpaired surrogate characters"},
            )


class DecimalJSONProvider(DefaultJSONProvider):
    """Flask's JSON, with numbers parsed as Decimal."""

    ensure_ascii = False
    sort_keys = False

    def loads(self, s, **kwargs):
        return loads(s)


class JsonBodyParser(FlaskParser):
    """webargs parser reading the body with the Decimal loader; bad JSON is a 400 problem."""

    # A query string is as strict as a body: the schema's own `unknown` applies (Strict refuses),
    # so `?limt=5` is a 422 naming the parameter instead of a silently ignored typo.
    DEFAULT_UNKNOWN_BY_LOCATION: typing.ClassVar[dict] = {
        **FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION,
        "query": None,
        "querystring": None,
    }

    def load_json(self, req, schema):
        """The body as JSON, read by `loads`; webargs' own JSON errors never arise here, so
        its public loader is replaced whole (its `_raw_load_json` hook is not public API)."""
        body = req.get_data(cache=True)
        if not body:
            raise Problem(400, "The request body is empty; a JSON object is required.")
        try:
            document = loads(body)
        except TooDeep as error:
            raise Problem(
                400, f"The request body is {error}.", errors={"body": str(error)}
            ) from None
        except (ValueError, UnicodeDecodeError) as error:
            raise Problem(400, f"The request body is not valid JSON: {error}") from None
        if ESCAPED_UNSTORABLE.search(body):
            refuse_unstorable_text(document)
        return document


BODY_METHODS = {"POST", "PUT", "PATCH"}
_OVERSIZED = "bonus.body_too_large"


class ChunkedBodyLimit:
    """WSGI middleware: a body sent without Content-Length (chunked) is read here, up to the
    limit and one byte more. werkzeug only cuts such a stream at MAX_CONTENT_LENGTH, so an
    oversized body was parsed from its first 64 KiB (a valid prefix answered 200) where the
    same body with a Content-Length is 413. Within the limit it goes on with its length."""

    def __init__(self, app, max_body_bytes: int):
        self.app, self.limit = app, max_body_bytes

    def __call__(self, environ, start_response):
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if chunked and not environ.get("CONTENT_LENGTH"):
            body = environ["wsgi.input"].read(self.limit + 1)
            if len(body) > self.limit:
                environ[_OVERSIZED] = True  # answered 413 by _check_body, like any request
                body = b""
            environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(body), str(len(body))
        return self.app(environ, start_response)


def _check_body() -> None:
    """Refuse an oversized body or a wrong content type early, before any view runs."""
    req = request._get_current_object()  # one context lookup, not one per attribute
    if req.environ.get(_OVERSIZED):
        raise RequestEntityTooLarge()
    if req.method not in BODY_METHODS or not req.path.startswith("/v1/"):
        return
    if req.content_length == 0 and not req.mimetype:
        return
    if req.get_data(cache=True) and req.mimetype != "application/json":
        raise Problem(
            415,
            f"Content-Type must be application/json, got {req.mimetype or 'none'}.",
            title="Unsupported Media Type",
        )


def _check_path() -> None:
    """A NUL in the path can name nothing, and PostgreSQL refuses it in a query: 400 up front."""
    if "\x00" in request.path:
        raise Problem(
            400, "The path must not contain NUL characters.", errors={"path": "contains NUL"}
        )


API_HEADERS = {
    # balances, tokens and codes must not stay in a shared cache or a browser's history
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}


def _api_headers(response):
    if request.path.startswith("/v1/"):
        for name, value in API_HEADERS.items():
            response.headers.setdefault(name, value)
    return response


def client_address() -> str:
    """The guest's address as the per-address limits count it: ProxyFix has already read
    X-Forwarded-For for trusted hops. An IPv6 address stands for its /64, which one host
    usually holds whole (each of its 2^64 addresses would otherwise be a fresh limit); any
    spelling of an address is one key."""
    raw = request.remote_addr or "unknown"
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return raw
    if address.version == 6:
        if address.ipv4_mapped is not None:  # ::ffff:192.0.2.7 is 192.0.2.7
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def init_app(app: Flask, proxy_hops: int, max_body_bytes: int) -> None:
    app.json = DecimalJSONProvider(app)
    app.config["MAX_CONTENT_LENGTH"] = max_body_bytes
    app.wsgi_app = ChunkedBodyLimit(app.wsgi_app, max_body_bytes)
    if proxy_hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxy_hops, x_proto=proxy_hops)
    app.before_request(_check_path)
    app.before_request(_check_body)
    app.after_request(_api_headers)
