"""The attack surface, read from the service itself: every operation of /openapi.json and every
route of the URL map, with sample values for their path parameters, and the leak scan every
hostile answer goes through."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from bonus_service.app import create_app
from bonus_service.problems import PROBLEM_JSON
from tests.support.populated import ORDERS, RICH

ROOT = Path(__file__).resolve().parents[2]
# what an answer must never show: a stack trace, SQL, the driver, where the code lives
LEAKS = (
    *("Traceback", 'File "', "site-packages", str(ROOT), "/work/"),
    *("SELECT ", "INSERT INTO", "sqlalchemy", "psycopg", "sqlite3"),
)
# each names something real (adjustment 1: the populated fixture's credit to RICH)
SAMPLES = {"phone": RICH, "order_id": ORDERS[0], "code": "north", "adjustment_id": "1",
           "version": "2024-01-01-default", "replay_id": "0" * 32}


@dataclass(frozen=True)
class Operation:
    method: str  # upper case
    path: str  # the spec's template, /v1/orders/{order_id}
    schemes: frozenset[str]  # apiKey, guestToken; empty for a public operation
    has_body: bool
    query: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    def url(self, **values: str) -> str:
        """The path with each {name} filled by `values` or a sample that exists."""
        return re.sub(r"\{(\w+)\}", lambda m: values.get(m[1], SAMPLES[m[1]]), self.path)


def published_spec() -> dict:
    """The spec as the service serves it (building it touches no database)."""
    app = create_app({"database_url": "sqlite://", "secret_key": "spec", "sms_backend": "console"})
    return json.loads(app.test_client().get("/openapi.json").data)  # floats stay floats


def operations(spec: dict) -> list[Operation]:
    found = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            schemes = frozenset(n for need in operation.get("security", []) for n in need)
            query = tuple(p["name"] for p in operation.get("parameters", []) if p["in"] == "query")
            found.append(
                Operation(method.upper(), path, schemes, "requestBody" in operation, query)
            )
    return found


def route_templates(app) -> set[str]:
    """Every rule of the URL map in the spec's spelling: /v1/guests/<string:phone> → {phone}."""
    return {re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule) for rule in app.url_map.iter_rules()}


def leaked(body: str) -> str | None:
    """The first sign of the service's insides in an answer's body, if any."""
    return next((marker for marker in LEAKS if marker in body), None)


def assert_no_leak(response, *, problem: bool = True) -> None:
    """No 5xx, nothing of the service's insides, and (API answers) errors as problem+json."""
    body = response.get_data(as_text=True)
    assert response.status_code < 500, f"{response.status_code}: {body[:300]}"
    assert leaked(body) is None, f"{leaked(body)!r} in the answer: {body[:300]}"
    if problem and response.status_code >= 400:
        assert response.mimetype == PROBLEM_JSON, body[:300]


SPEC = published_spec()
OPERATIONS = operations(SPEC)
