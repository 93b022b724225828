"""Request limits: JSON nested deeper than any request needs is refused before anything
recurses over it, on every entry point that parses JSON."""

import json
import logging

import pytest

from tests.support.http import bearer
from tests.support.phones import new_phone
from tests.support.shop import order_id, pickup


def nested(depth: int, **body) -> str:
    """A body whose order's `items` is a list nested `depth` levels deep (written out by hand:
    json.dumps itself recurses)."""
    order = json.dumps({**pickup("100.00"), "items": "ITEMS"})
    order = order.replace('"ITEMS"', "[" * depth + "]" * depth)
    return json.dumps({**body, "order": "ORDER"}).replace('"ORDER"', order)


def post_raw(client, path: str, body: str, headers: dict):
    return client.post(path, data=body, headers=headers, content_type="application/json")


@pytest.mark.parametrize("depth", [200, 600, 1000])
@pytest.mark.parametrize("where", ["quote", "orders"])
def test_an_order_nested_too_deeply_is_a_400_naming_the_depth(client, shop, caplog, depth, where):
    caplog.set_level(logging.INFO)
    if where == "quote":
        answer = post_raw(client, "/v1/quote", nested(depth), bearer(shop.checkout, None))
    else:
        body = nested(depth, id=order_id(), phone=new_phone(), redeem="0")
        answer = post_raw(client, "/v1/orders", body, bearer(shop.checkout))
    assert answer.status_code == 400, answer.data[:300]
    assert answer.mimetype == "application/problem+json"
    assert "nested deeper than 64" in answer.get_json()["detail"]
    assert not any(record.exc_info for record in caplog.records)
    assert "Traceback" not in caplog.text


def test_every_json_entry_point_refuses_the_same_depth(client, shop):
    deep: object = {}
    for _ in range(100):
        deep = {"a": deep}
    for path, key in [
        ("/v1/auth/sms-code", None),
        ("/v1/auth/verify", None),
        ("/v1/guests", shop.operator),
        (f"/v1/guests/{new_phone()}/adjustments", shop.operator),
        ("/v1/zones/north", shop.admin),
    ]:
        headers = bearer(key) if key else {}
        method = client.put if path.startswith("/v1/zones") else client.post
        answer = method(path, data=json.dumps({"phone": deep}), headers=headers,
                        content_type="application/json")  # fmt: skip
        assert answer.status_code == 400, (path, answer.status_code, answer.data[:200])
        assert "nested deeper than 64" in answer.get_json()["detail"], path


def test_an_order_as_deep_as_the_limit_is_read_as_usual(client, shop):
    """63 levels inside the body (the body itself is one): the order's own error, a 422."""
    answer = post_raw(client, "/v1/quote", nested(61), bearer(shop.checkout, None))
    assert answer.status_code == 422
