"""SQL-looking and oversized input in every field, path parameter, query parameter and header of
every operation: always a 4xx or plain data, never a 5xx, never the service's insides, and the
database exactly as sound afterwards."""

from __future__ import annotations

import itertools
import json
from urllib.parse import quote

import pytest

import rules
from bonus_service.app_db import get_db
from tests.support.ledger_checks import assert_ledger_invariants
from tests.support.populated import POOR, RICH, table_sizes
from tests.support.shop import pickup
from tests.support.surface import OPERATIONS, Operation, assert_no_leak

# the shipped program as GET /v1/rules serves it (numbers as strings)
PROGRAM = json.loads(json.dumps(rules.load_book().get("2024-01-01-default").data, default=str))
INJECTIONS = ("' OR 1=1 --", '"; DROP TABLE guests; --', "') OR ('a'='a", "%' OR '%'='")
# A request each operation with a body accepts; a new one fails below until it is given one.
VALID = {
    "POST /v1/auth/sms-code": {"phone": POOR},
    "POST /v1/auth/verify": {"phone": POOR, "code": "000000"},
    "POST /v1/guests": {"phone": "+79160000003"},
    "POST /v1/guests/{phone}/adjustments": {
        "amount": "1.00",
        "reason": "проверка",
        "operator": "clerk",
    },
    "POST /v1/adjustments/{adjustment_id}/approve": {"operator": "clerk"},
    "POST /v1/adjustments/{adjustment_id}/reject": {"operator": "clerk", "reason": "нет"},
    "POST /v1/quote": {"phone": RICH, "order": pickup("600.00"), "redeem": "0"},
    "POST /v1/orders": {"id": "H-1", "phone": RICH, "order": pickup("600.00"), "redeem": "0"},
    "POST /v1/orders/confirmation-code": {"phone": RICH, "amount": "100.00"},
    "PUT /v1/zones/{code}": {"name": "Север", "min_order": "500.00"},
    "POST /v1/programs": {"program": {**PROGRAM, "version": "hostile"}},
    "PUT /v1/programs/{version}": {"program": PROGRAM},
    "POST /v1/programs/{version}/publish": {"effective_from": "2099-01-01T00:00:00+03:00"},
    "POST /v1/programs/{version}/simulate": {
        "since": "2024-01-01T00:00:00+03:00",
        "until": "2024-02-01T00:00:00+03:00",
    },
}
WITH_BODY = [op for op in OPERATIONS if op.has_body]
WITH_PATH = [op for op in OPERATIONS if "{" in op.path]
WITH_QUERY = [op for op in OPERATIONS if op.query]
_keys = itertools.count(1)


def send(client, op: Operation, key: str, body=None, url: str | None = None, **headers):
    """Call `op` with `key` and a fresh Idempotency-Key; the answer has passed the leak scan."""
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": f"h-{next(_keys)}", **headers}
    data = body if isinstance(body, str | bytes) or body is None else json.dumps(body)
    response = client.open(
        url or op.url(), method=op.method, data=data, headers=headers,
        content_type="application/json" if data is not None else None,
    )  # fmt: skip
    assert_no_leak(response)
    return response


def string_leaves(value, path=()):
    """Paths to every string inside a JSON value."""
    if isinstance(value, str):
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from string_leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from string_leaves(item, (*path, index))


def replaced(document, path, new):
    """A deep copy of `document` with the value at `path` replaced."""
    copy = json.loads(json.dumps(document))
    target = copy
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = new
    if "id" in copy and path != ("id",):
        copy["id"] = f"H-{next(_keys)}"  # a fresh order each time, unless the id is the attack
    return copy


@pytest.fixture
def intact(app, populated):
    """After the test: no table lost a row and the ledger still adds up."""
    before = table_sizes(app)
    yield
    after = table_sizes(app)
    assert all(after[name] >= count for name, count in before.items()), (before, after)
    assert_ledger_invariants(get_db(app))


def test_every_operation_with_a_body_has_a_valid_example():
    assert {op.label for op in WITH_BODY} <= set(VALID), "add a valid body for the new operation"


@pytest.mark.parametrize("op", WITH_BODY, ids=lambda op: op.label)
def test_sql_in_any_body_field_is_refused_or_kept_as_data(client, full_key, intact, op):
    body = VALID[op.label]
    for path, attack in itertools.product(list(string_leaves(body)), INJECTIONS):
        send(client, op, full_key, replaced(body, path, attack))


@pytest.mark.parametrize("op", WITH_PATH, ids=lambda op: op.label)
def test_sql_in_any_path_parameter_names_nothing(client, full_key, populated, intact, op):
    body = VALID.get(op.label)
    for attack in INJECTIONS:
        names = ("phone", "order_id", "code", "adjustment_id", "version", "replay_id")
        url = op.url(**{name: quote(attack, safe="") for name in names})
        response = send(client, op, full_key, body, url)
        assert 400 <= response.status_code < 500, response.get_json()


@pytest.mark.parametrize("op", WITH_QUERY, ids=lambda op: op.label)
def test_sql_in_any_query_parameter_is_refused(client, full_key, populated, intact, op):
    token = populated.rich_token if "guestToken" in op.schemes else full_key
    for name, attack in itertools.product(op.query, INJECTIONS):
        url = f"{op.url()}?{name}={quote(attack, safe='')}"
        assert send(client, op, token, url=url).status_code == 422


def test_sql_in_headers_is_refused(client, full_key, populated, intact):
    orders = next(op for op in OPERATIONS if op.label == "POST /v1/orders")
    spend = {**VALID["POST /v1/orders"], "id": "H-header", "redeem": "10.00"}
    for attack in INJECTIONS:
        assert send(client, orders, full_key, spend, **{"X-Guest-Token": attack}).status_code == 403
        assert send(client, orders, attack, spend).status_code == 401


@pytest.mark.parametrize("op", WITH_BODY, ids=lambda op: op.label)
def test_text_no_database_can_store_is_422_naming_the_field(client, full_key, intact, op):
    """NUL (PostgreSQL refuses it in text) and lone surrogates (no encoding has them)."""
    body = VALID[op.label]
    for path, bad in itertools.product(list(string_leaves(body)), ("a\x00b", "a\ud800b")):
        response = send(client, op, full_key, replaced(body, path, bad))
        assert response.status_code == 422, response.get_json()
        assert ".".join(map(str, path)) in {e["field"] for e in response.get_json()["errors"]}


def test_a_nul_in_a_path_is_400(client, full_key, populated):
    for op in WITH_PATH:
        url = op.url(phone="%2B7916%00", order_id="P-%00", code="n%00rth", adjustment_id="1%00",
                     version="v%00", replay_id="0%00")  # fmt: skip
        assert send(client, op, full_key, VALID.get(op.label), url).status_code == 400


def test_sql_looking_text_is_stored_and_shown_exactly_as_sent(client, populated, full_key):
    shop, attack = populated.shop, INJECTIONS[1]
    order = {"channel": "pickup", "items": [{"sku": attack, "qty": 1, "price": "10.00"}]}
    assert shop.place(RICH, order, oid=attack).status_code == 201
    shown = client.get(f"/v1/orders/{quote(attack, safe='')}", headers=_bearer(full_key))
    assert (shown.get_json()["id"], shown.get_json()["order"]["items"][0]["sku"]) == (
        attack,
        attack,
    )
    assert shop.adjust(RICH, "1.00", reason=attack).get_json()["entry"]["reason"].endswith(attack)


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.mark.parametrize("op", WITH_BODY, ids=lambda op: op.label)
def test_a_body_over_the_limit_is_413(client, full_key, populated, op):
    assert send(client, op, full_key, "x" * 1_000_000).status_code == 413


@pytest.mark.parametrize("op", WITH_BODY, ids=lambda op: op.label)
def test_json_nested_past_any_sane_depth_is_400(client, full_key, populated, op):
    # both well under the 64 KiB body limit, both far deeper than the parser's stack
    assert send(client, op, full_key, "[" * 30_000 + "]" * 30_000).status_code == 400
    nested = '{"a":' * 10_000 + "1" + "}" * 10_000
    assert send(client, op, full_key, nested).status_code == 400


@pytest.mark.parametrize("op", WITH_BODY, ids=lambda op: op.label)
def test_a_huge_string_in_any_field_is_refused_or_harmless(client, full_key, intact, op):
    body = VALID[op.label]
    for path in string_leaves(body):
        send(client, op, full_key, replaced(body, path, "Я" * 30_000))


def test_ten_thousand_items_are_413_and_many_small_ones_are_served(client, populated, full_key):
    quote_op = next(op for op in OPERATIONS if op.label == "POST /v1/quote")
    item = {"sku": "a", "qty": 1, "price": 1}
    huge = {"order": {"channel": "pickup", "items": [item] * 10_000}}
    assert send(client, quote_op, full_key, huge).status_code == 413
    many = {"order": {"channel": "pickup", "items": [item] * 1_800}}
    assert send(client, quote_op, full_key, many).status_code == 200


def test_huge_headers_paths_and_query_strings_are_4xx(client, populated, full_key):
    orders = next(op for op in OPERATIONS if op.label == "POST /v1/orders")
    body = VALID["POST /v1/orders"]
    assert (
        send(client, orders, full_key, body, **{"Idempotency-Key": "k" * 10_000}).status_code == 400
    )
    assert send(client, orders, "bk_" + "x" * 10_000, body).status_code == 401
    order = next(op for op in OPERATIONS if op.label == "GET /v1/orders/{order_id}")
    assert send(client, order, full_key, url=order.url(order_id="x" * 10_000)).status_code == 404
    history = next(op for op in OPERATIONS if op.label == "GET /v1/me/history")
    url = f"/v1/me/history?limit={'9' * 10_000}"
    assert send(client, history, populated.rich_token, url=url).status_code == 422
