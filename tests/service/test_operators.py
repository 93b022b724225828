"""Operators look guests up and register them on their behalf; every call is audited."""

from sqlalchemy import select

from bonus_service.app_db import get_db
from bonus_service.models import AuditEntry, Guest
from tests.support.http import bearer, login, problem_fields
from tests.support.phones import new_phone
from tests.support.shop import pickup


def test_an_operator_registers_a_guest_who_gets_the_login_sms(client, fake_twilio, make_key):
    key, phone = make_key("operator", name="cc-anna"), new_phone()
    response = client.post("/v1/guests", json={"phone": phone}, headers=bearer(key))
    assert response.status_code == 201
    assert response.get_json()["phone"] == phone
    sms = fake_twilio.messages_to(phone)[-1]["body"]
    assert "vilkinet" in sms.lower() or "ВилкиНет" in sms
    code = fake_twilio.last_code(phone)
    verified = client.post("/v1/auth/verify", json={"phone": phone, "code": code})
    assert verified.status_code == 200


def test_registering_a_registered_phone_is_409(client, fake_twilio, make_key):
    key, phone = make_key("operator"), new_phone()
    login(client, fake_twilio, phone)
    response = client.post("/v1/guests", json={"phone": phone}, headers=bearer(key))
    assert response.status_code == 409
    assert "phone" in problem_fields(response)


def test_registration_is_undone_when_the_sms_cannot_go(app, client, fake_twilio, make_key):
    key, phone = make_key("operator"), new_phone()
    fake_twilio.fail_next("server_error")
    response = client.post("/v1/guests", json={"phone": phone}, headers=bearer(key))
    assert response.status_code == 503
    with get_db(app).unit_of_work(write=False) as session:
        assert session.scalar(select(Guest).where(Guest.phone == phone)) is None
    assert client.post("/v1/guests", json={"phone": phone}, headers=bearer(key)).status_code == 201


def test_operator_writes_need_an_idempotency_key(client, make_key):
    response = client.post(
        "/v1/guests", json={"phone": new_phone()}, headers=bearer(make_key("operator"), None)
    )
    assert response.status_code == 400
    assert "Idempotency-Key" in problem_fields(response)


def test_a_retried_registration_returns_the_first_answer(client, fake_twilio, make_key):
    key, phone = make_key("operator"), new_phone()
    headers = bearer(key, "register-once")
    first = client.post("/v1/guests", json={"phone": phone}, headers=headers)
    second = client.post("/v1/guests", json={"phone": phone}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.data == second.data
    assert len(fake_twilio.messages_to(phone)) == 1
    other = client.post("/v1/guests", json={"phone": new_phone()}, headers=headers)
    assert other.status_code == 422


def test_a_lookup_shows_the_account_and_is_audited(app, client, fake_twilio, make_key):
    key, phone = make_key("operator", name="cc-boris"), new_phone()
    login(client, fake_twilio, phone)
    response = client.get(f"/v1/guests/8{phone[2:]}", headers=bearer(key, None))
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {
        "phone",
        "balance",
        "available",
        "registered_at",
        "last_order_at",
        "burns_at",
        "history",
    }
    with get_db(app).unit_of_work(write=False) as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.target == phone)).all()
    assert [(e.actor, e.action) for e in entries] == [("cc-boris", "guest.lookup")]


def test_an_unknown_guest_is_404(client, make_key):
    assert (
        client.get(
            f"/v1/guests/{new_phone()}", headers=bearer(make_key("operator"), None)
        ).status_code
        == 404
    )


def test_a_malformed_phone_in_the_path_is_422(client, make_key):
    response = client.get("/v1/guests/abc", headers=bearer(make_key("operator"), None))
    assert response.status_code == 422


def test_a_registration_checks_the_key_before_the_body_and_keeps_its_refusal(
    client, fake_twilio, make_key
):
    """As on every idempotent call: no key is 400 whatever the body; a 422 for a bad body is
    the key's answer, so the same key with another body is 422 too, and nothing is texted."""
    operator = make_key("operator")
    headers = bearer(operator, None)
    assert client.post("/v1/guests", json={"phone": "nonsense"}, headers=headers).status_code == 400
    headers["Idempotency-Key"] = "reg-bad-first"
    bad = client.post("/v1/guests", json={"phone": "nonsense"}, headers=headers)
    assert bad.status_code == 422 and "phone" in problem_fields(bad)
    phone = new_phone()
    again = client.post("/v1/guests", json={"phone": phone}, headers=headers)
    assert again.status_code == 422 and "Idempotency-Key" in problem_fields(again)
    assert fake_twilio.messages_to(phone) == []


def test_a_duplicate_overtaken_by_its_own_first_call_replays_its_answer(
    live_server, make_key, fake_twilio, monkeypatch
):
    """B looks for a stored answer, finds none, and before it texts, A (same key, same body)
    registers the phone: B's "already registered" is A's success, and B replays it."""
    import threading

    import requests

    from bonus_service import idempotency

    headers = bearer(make_key("operator"), "K-race")
    phone = new_phone()

    def post():
        return requests.post(f"{live_server}/v1/guests", json={"phone": phone},
                             headers=headers, timeout=30)  # fmt: skip

    looked_up, first = idempotency._stored_answer, {}

    def a_runs_meanwhile(*call):
        answer = looked_up(*call)
        if not first:  # B has just found no answer: A now runs start to finish
            first["answer"] = None
            thread = threading.Thread(target=lambda: first.update(answer=post()))
            thread.start()
            thread.join()
        return answer

    monkeypatch.setattr(idempotency, "_stored_answer", a_runs_meanwhile)
    b = post()
    assert first["answer"].status_code == 201
    assert b.status_code == 201 and b.headers["Idempotent-Replayed"] == "true"
    assert b.json() == first["answer"].json()


def test_an_order_read_with_an_operator_key_is_audited_and_a_tills_is_not(app, shop):
    """The order shows the guest's phone and balances: read by the call center, it is guest
    data seen, and it left no trace (a security audit)."""
    phone, _ = shop.guest()
    placed = shop.place(phone, pickup("400.00")).get_json()["id"]
    for key in (shop.checkout, shop.operator):
        assert shop.client.get(f"/v1/orders/{placed}", headers=bearer(key, None)).status_code == 200
    missing = shop.client.get("/v1/orders/nope", headers=bearer(shop.operator, None))
    assert missing.status_code == 404
    with get_db(app).unit_of_work(write=False) as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "order.view")).all()
    seen = [(e.target, e.details) for e in entries]
    assert seen == [(phone, {"order": placed, "client": "site"})]
