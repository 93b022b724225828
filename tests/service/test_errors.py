"""Every error is application/problem+json that names what was wrong."""

import json
import socket

import pytest

from tests.support.http import problem_fields


def test_an_unknown_path_is_a_404_problem(client):
    response = client.get("/v1/nowhere")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 404


def test_a_wrong_method_is_a_405_problem_with_allow(client):
    response = client.delete("/v1/auth/sms-code")
    assert response.status_code == 405
    assert response.mimetype == "application/problem+json"
    assert "POST" in response.headers["Allow"]


def test_malformed_json_is_a_400_problem(client):
    response = client.post("/v1/auth/sms-code", data=b'{"phone": ', content_type="application/json")
    assert response.status_code == 400
    assert "not valid JSON" in response.get_json()["detail"]


def test_an_empty_body_is_a_400_problem(client):
    response = client.post("/v1/auth/sms-code", data=b"", content_type="application/json")
    assert response.status_code == 400


def test_a_wrong_content_type_is_a_415_problem(client):
    response = client.post(
        "/v1/auth/sms-code",
        data="phone=+79123456789",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 415
    assert "application/json" in response.get_json()["detail"]


def test_a_body_over_the_limit_is_a_413_problem(client):
    response = client.post(
        "/v1/auth/sms-code",
        data=b'{"phone": "' + b"9" * 70_000 + b'"}',
        content_type="application/json",
    )
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"


def test_unknown_fields_are_refused_by_name(client):
    response = client.post("/v1/auth/sms-code", json={"phone": "+79123456789", "admin": True})
    assert response.status_code == 422
    assert "admin" in problem_fields(response)


def test_a_missing_field_is_named(client):
    response = client.post("/v1/auth/verify", json={"phone": "+79123456789"})
    assert response.status_code == 422
    assert "code" in problem_fields(response)


@pytest.mark.parametrize("body", [[], "text", 5, None])
def test_a_body_that_is_not_an_object_is_refused(client, body):
    response = client.post("/v1/auth/sms-code", json=body)
    assert response.status_code in (400, 422)
    assert response.mimetype == "application/problem+json"


def test_a_bare_nan_is_a_422_naming_its_field_not_a_400(client):
    """NaN and Infinity are not JSON, but Python's json writes them for a float amount: the
    contract's "NaN → 422" holds for the bare constant too, with the field named."""
    response = client.post(
        "/v1/auth/sms-code", data=b'{"phone": NaN}', content_type="application/json"
    )
    assert response.status_code == 422
    assert set(problem_fields(response)) == {"phone"}


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_a_bare_nan_amount_is_refused_as_not_finite(shop, constant):
    price = b'{"channel": "pickup", "items": [{"sku": "A", "qty": 1, "price": %s}]}'
    for body, field in [
        (b'{"order": %s}' % (price % constant.encode()), "order.items.0.price"),
        (b'{"order": %s, "redeem": %s}' % (price % b'"10"', constant.encode()), "redeem"),
    ]:
        response = shop.client.post(
            "/v1/quote", data=body, content_type="application/json",
            headers={"Authorization": f"Bearer {shop.checkout}"},
        )  # fmt: skip
        assert response.status_code == 422, response.get_json()
        assert problem_fields(response) == {field: "must be a finite number"}


def _chunked_post(base: str, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    """A raw HTTP/1.1 POST whose body is sent chunked (no Content-Length); the status line."""
    host, port = base.removeprefix("http://").split(":")
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 8192]), body[i:i + 8192])
                      for i in range(0, len(body), 8192)) + b"0\r\n\r\n"  # fmt: skip
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    request = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n"
               f"Connection: close\r\n{head}\r\n").encode() + chunks  # fmt: skip
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(request)
        answer = b""
        while data := connection.recv(65536):
            answer += data
    return answer.split(b"\r\n", 1)[0]


def test_a_chunked_body_over_the_limit_is_413_not_cut_and_parsed(shop, live_server):
    """werkzeug only cut a chunked stream at the limit: a valid JSON prefix of an oversized
    body was quoted (200) where the same body with Content-Length is 413."""
    order = {"order": {"channel": "pickup", "items": [{"sku": "A", "qty": 1, "price": "100"}]}}
    valid = json.dumps(order).encode()
    headers = {"Authorization": f"Bearer {shop.checkout}", "Content-Type": "application/json"}
    oversized = valid + b" " * (64 * 1024 - len(valid)) + b"garbage" * 1000
    assert b" 413 " in _chunked_post(live_server, "/v1/quote", oversized, headers)
    assert b" 200 " in _chunked_post(live_server, "/v1/quote", valid, headers)


def test_api_answers_are_not_stored_by_caches_nor_sniffed(client, fake_twilio):
    """A token (verify) or a balance (/v1/me) must not stay in a shared cache; errors alike."""
    from tests.support.http import login

    token = login(client, fake_twilio, "+79161234567")
    for answer in (client.get("/v1/me", headers={"Authorization": f"Bearer {token}"}),
                   client.get("/v1/me")):  # fmt: skip
        assert answer.headers["Cache-Control"] == "no-store"
        assert answer.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    ("remote", "counted_as"),
    [
        ("2001:db8:1:1::1", "2001:db8:1:1::/64"),
        ("2001:DB8:1:1:0:0:0:8", "2001:db8:1:1::/64"),  # another spelling, another host in it
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("192.0.2.7", "192.0.2.7"),
    ],
)
def test_the_per_address_limits_count_an_ipv6_host_by_its_64(app, remote, counted_as):
    """Each address of a /64 was a fresh SMS limit: one host had 2^64 of them."""
    from bonus_service.http import client_address

    with app.test_request_context("/", environ_base={"REMOTE_ADDR": remote}):
        assert client_address() == counted_as
