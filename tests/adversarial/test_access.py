"""Who may call what, for every operation the service publishes (read from its own spec, so a new
endpoint is checked the day it appears): no key, a bad key, a key of the wrong scope, a guest's
token where a key is needed and a key where a guest's token is needed."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from bonus_service.app_db import get_db
from bonus_service.clock import utcnow
from bonus_service.models import ApiClient
from bonus_service.problems import PROBLEM_JSON
from tests.support.surface import OPERATIONS, Operation, assert_no_leak, route_templates

# Reviewed: these answer anyone. A new operation without security fails until it is added here.
PUBLIC = {
    "GET /healthz",
    "GET /readyz",
    "GET /metrics",
    "POST /v1/auth/sms-code",
    "POST /v1/auth/verify",
    "GET /v1/zones",
    "GET /v1/rules",
    "GET /rules",
}
# The scopes each API-key operation accepts (CONTRACT.md, "Auth" and the endpoint table).
SCOPES = {
    "POST /v1/quote": {"checkout"},
    "POST /v1/orders": {"checkout"},
    "POST /v1/orders/{order_id}/complete": {"checkout"},
    "POST /v1/orders/{order_id}/cancel": {"checkout"},
    "POST /v1/orders/confirmation-code": {"checkout"},
    "GET /v1/orders/{order_id}": {"checkout", "operator"},
    "GET /v1/guests/{phone}": {"operator"},
    "POST /v1/guests": {"operator"},
    "POST /v1/guests/{phone}/adjustments": {"operator"},
    "GET /v1/adjustments": {"operator"},
    "GET /v1/adjustments/{adjustment_id}": {"operator"},
    "POST /v1/adjustments/{adjustment_id}/approve": {"operator"},
    "POST /v1/adjustments/{adjustment_id}/reject": {"operator"},
    "PUT /v1/zones/{code}": {"admin"},
    "GET /v1/reports/liability": {"admin"},
    "GET /v1/programs": {"admin"},
    "POST /v1/programs": {"admin"},
    "GET /v1/programs/{version}": {"admin"},
    "PUT /v1/programs/{version}": {"admin"},
    "POST /v1/programs/{version}/publish": {"admin"},
    "POST /v1/programs/{version}/simulate": {"admin"},
    "GET /v1/programs/{version}/simulate/{replay_id}": {"admin"},
}
SECURED = [op for op in OPERATIONS if op.schemes]
BY_KEY = [op for op in SECURED if "apiKey" in op.schemes]
BY_TOKEN = [op for op in SECURED if "guestToken" in op.schemes]


def call(client, op: Operation, authorization: str | None = None):
    headers = {"Idempotency-Key": "access-check"}
    if authorization:
        headers["Authorization"] = authorization
    body = {} if op.has_body else None
    response = client.open(op.url(), method=op.method, json=body, headers=headers)
    assert_no_leak(response)
    return response


def assert_refused(response, status: int) -> None:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == PROBLEM_JSON
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_every_api_route_is_published_in_the_spec(app):
    api_routes = {path for path in route_templates(app) if path.startswith("/v1/")}
    published = {op.path for op in OPERATIONS}
    assert api_routes <= published, api_routes - published


def test_every_unlisted_operation_demands_credentials():
    open_ones = {op.label for op in OPERATIONS if not op.schemes}
    assert open_ones <= PUBLIC, f"review and list as public, or protect: {open_ones - PUBLIC}"


def test_every_key_operation_says_which_scopes_it_accepts():
    assert {op.label for op in BY_KEY} <= set(SCOPES), "add the new operation to SCOPES"


@pytest.mark.parametrize("op", SECURED, ids=lambda op: op.label)
@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer bk_not-a-key", "Basic dXNlcjpwYXNz", "Bearer gt_not-a-token"],
    ids=["none", "empty", "unknown key", "basic", "unknown token"],
)
def test_an_operation_without_valid_credentials_is_401(client, op, authorization):
    assert_refused(call(client, op, authorization), 401)


@pytest.mark.parametrize("op", BY_KEY, ids=lambda op: op.label)
def test_a_key_of_another_scope_is_403_and_a_right_one_passes(client, populated, make_key, op):
    for scope in ("checkout", "operator", "admin"):
        response = call(client, op, f"Bearer {make_key(scope)}")
        if scope in SCOPES[op.label]:
            assert response.status_code not in (401, 403), (scope, response.get_json())
        else:
            assert_refused(response, 403)


@pytest.mark.parametrize("op", BY_KEY, ids=lambda op: op.label)
def test_a_guest_token_opens_no_operation_that_needs_a_key(client, populated, op):
    assert_refused(call(client, op, f"Bearer {populated.rich_token}"), 401)


@pytest.mark.parametrize("op", BY_TOKEN, ids=lambda op: op.label)
def test_an_api_key_opens_no_operation_that_needs_a_guest(client, populated, full_key, op):
    assert_refused(call(client, op, f"Bearer {full_key}"), 401)


def test_a_revoked_key_is_401(client, populated, make_key, app):
    key = make_key("checkout", name="revoked-till")
    with get_db(app).unit_of_work() as session:
        session.execute(
            update(ApiClient).where(ApiClient.name == "revoked-till").values(revoked_at=utcnow())
        )
        session.commit()
    quote = next(op for op in BY_KEY if op.label == "POST /v1/quote")
    assert_refused(call(client, quote, f"Bearer {key}"), 401)
