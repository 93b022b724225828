"""Orders belong to the client that placed them: ids are unique per client, and another
client's order is not there for a checkout key (issue 17: one cafe till's key read the phone
behind the website's order, completed it, cancelled it, and took ids the website had not used)."""

from __future__ import annotations

from sqlalchemy import select

from bonus_service.app_db import get_db
from bonus_service.models import AuditEntry
from tests.support.http import bearer, problem_fields
from tests.support.shop import pickup

WEBSITE_ORDER = "WEB-2026-000777"
NEVER_USED = "WEB-2026-000999"  # as long as WEBSITE_ORDER: bodies compare character by character


def place(shop, key: str, oid: str, phone: str, total: str = "1000.00"):
    body = {"id": oid, "phone": phone, "order": pickup(total), "redeem": "0"}
    return shop.client.post("/v1/orders", json=body, headers=bearer(key))


def as_never_used(response) -> str:
    """The answer's text with the order id swapped for the never-used one."""
    return response.get_data(as_text=True).replace(WEBSITE_ORDER, NEVER_USED)


def test_a_till_cannot_read_the_websites_order_it_is_404_as_if_never_used(shop, make_key):
    till = make_key("checkout", name="cafe-pos-12")
    phone, _ = shop.guest()
    assert place(shop, shop.checkout, WEBSITE_ORDER, phone).status_code == 201

    other = shop.client.get(f"/v1/orders/{WEBSITE_ORDER}", headers=bearer(till, None))
    never = shop.client.get(f"/v1/orders/{NEVER_USED}", headers=bearer(till, None))

    assert (other.status_code, never.status_code) == (404, 404)
    assert other.headers["Content-Type"] == never.headers["Content-Type"]
    assert as_never_used(other) == never.get_data(as_text=True)
    assert phone not in other.get_data(as_text=True)
    named = shop.client.get(f"/v1/orders/{WEBSITE_ORDER}?client=site", headers=bearer(till, None))
    assert as_never_used(named) == never.get_data(as_text=True)  # naming the owner opens nothing


def test_a_till_cannot_complete_or_cancel_the_websites_order(shop, make_key):
    till = make_key("checkout", name="cafe-pos-12")
    phone, token = shop.guest()
    assert place(shop, shop.checkout, WEBSITE_ORDER, phone).status_code == 201

    for verb in ("complete", "cancel"):
        other = shop.client.post(f"/v1/orders/{WEBSITE_ORDER}/{verb}", headers=bearer(till))
        never = shop.client.post(f"/v1/orders/{NEVER_USED}/{verb}", headers=bearer(till))
        assert (other.status_code, never.status_code) == (404, 404), verb
        assert as_never_used(other) == never.get_data(as_text=True)
    assert shop.complete(WEBSITE_ORDER).status_code == 200  # still placed: the website completes
    accrued = shop.me(token)["balance"]
    assert accrued == "100.00"

    cancelled = shop.client.post(f"/v1/orders/{WEBSITE_ORDER}/cancel", headers=bearer(till))

    assert cancelled.status_code == 404
    assert shop.me(token)["balance"] == accrued  # the guest keeps the accrual
    order = shop.client.get(f"/v1/orders/{WEBSITE_ORDER}", headers=bearer(shop.checkout, None))
    assert order.get_json()["status"] == "completed"


def test_a_till_cannot_squat_an_id_the_website_has_not_used_yet(shop, make_key):
    """The till's order of that id is its own; the website places, completes and cancels its
    own order of the same id as if the till's did not exist."""
    till = make_key("checkout", name="cafe-pos-12")
    guest, guest_token = shop.guest()
    stranger, stranger_token = shop.guest()

    squatted = place(shop, till, WEBSITE_ORDER, stranger, "200.00")
    website = place(shop, shop.checkout, WEBSITE_ORDER, guest, "1000.00")

    assert (squatted.status_code, website.status_code) == (201, 201), website.get_json()
    assert shop.complete(WEBSITE_ORDER).status_code == 200
    assert shop.me(guest_token)["balance"] == "100.00"
    assert shop.me(stranger_token)["balance"] == "0.00"  # the till's order is still placed
    till_done = shop.client.post(f"/v1/orders/{WEBSITE_ORDER}/complete", headers=bearer(till))
    assert till_done.status_code == 200
    assert shop.me(stranger_token)["balance"] == "6.00"
    assert shop.cancel(WEBSITE_ORDER).status_code == 200
    assert (shop.me(guest_token)["balance"], shop.me(stranger_token)["balance"]) == (
        "0.00",
        "6.00",
    )
    again = place(shop, shop.checkout, WEBSITE_ORDER, guest)
    assert again.status_code == 409  # unique per client: the website's own id is used


def test_each_client_reads_its_own_order_of_a_shared_id(shop, make_key):
    till = make_key("checkout", name="cafe-pos-12")
    guest, _ = shop.guest()
    stranger, _ = shop.guest()
    place(shop, shop.checkout, WEBSITE_ORDER, guest, "1000.00")
    place(shop, till, WEBSITE_ORDER, stranger, "200.00")

    mine = shop.client.get(f"/v1/orders/{WEBSITE_ORDER}", headers=bearer(shop.checkout, None))
    theirs = shop.client.get(f"/v1/orders/{WEBSITE_ORDER}", headers=bearer(till, None))

    assert (mine.get_json()["phone"], mine.get_json()["client"]) == (guest, "site")
    assert (theirs.get_json()["phone"], theirs.get_json()["client"]) == (stranger, "cafe-pos-12")
    assert [m["amount"] for m in theirs.get_json()["movements"]] == []


def test_an_operator_names_the_client_of_a_shared_id_and_the_read_is_audited(app, shop, make_key):
    till = make_key("checkout", name="cafe-pos-12")
    guest, _ = shop.guest()
    stranger, _ = shop.guest()
    place(shop, shop.checkout, WEBSITE_ORDER, guest)
    place(shop, till, WEBSITE_ORDER, stranger, "200.00")
    operator = bearer(shop.operator, None)

    ambiguous = shop.client.get(f"/v1/orders/{WEBSITE_ORDER}", headers=operator)
    named = shop.client.get(f"/v1/orders/{WEBSITE_ORDER}?client=cafe-pos-12", headers=operator)
    unknown = shop.client.get(f"/v1/orders/{WEBSITE_ORDER}?client=app", headers=operator)

    assert ambiguous.status_code == 409
    assert ambiguous.get_json()["clients"] == ["cafe-pos-12", "site"]
    assert named.status_code == 200
    assert (named.get_json()["phone"], named.get_json()["client"]) == (stranger, "cafe-pos-12")
    assert unknown.status_code == 404
    only_site = place(shop, shop.checkout, "WEB-2026-000001", guest)
    assert only_site.status_code == 201
    alone = shop.client.get("/v1/orders/WEB-2026-000001", headers=operator)
    assert (alone.status_code, alone.get_json()["client"]) == (200, "site")
    with get_db(app).unit_of_work(write=False) as session:
        seen = session.execute(
            select(AuditEntry.actor, AuditEntry.target, AuditEntry.details)
            .where(AuditEntry.action == "order.view")
            .order_by(AuditEntry.id)
        ).all()
    assert [tuple(row) for row in seen] == [
        ("call-center", stranger, {"order": WEBSITE_ORDER, "client": "cafe-pos-12"}),
        ("call-center", guest, {"order": "WEB-2026-000001", "client": "site"}),
    ]


def test_the_spec_says_how_an_operator_names_an_orders_client(client):
    operation = client.get("/openapi.json").get_json()["paths"]["/v1/orders/{order_id}"]["get"]
    names = {p["name"]: p for p in operation["parameters"] if p["in"] == "query"}
    assert "client" in names
    assert "409" in operation["responses"] and "404" in operation["responses"]


def test_a_key_with_both_scopes_reads_its_own_order_of_a_shared_id_without_naming_it(
    shop, make_key
):
    """The call center places orders too: its own order of an id is what it reads by that id,
    whoever else used the id."""
    call_center = make_key("checkout", "operator", name="call-center-2")
    guest, _ = shop.guest()
    stranger, _ = shop.guest()
    place(shop, shop.checkout, WEBSITE_ORDER, stranger)
    place(shop, call_center, WEBSITE_ORDER, guest, "200.00")

    own = shop.client.get(f"/v1/orders/{WEBSITE_ORDER}", headers=bearer(call_center, None))
    named = shop.client.get(
        f"/v1/orders/{WEBSITE_ORDER}?client=site", headers=bearer(call_center, None)
    )

    assert (own.get_json()["client"], own.get_json()["phone"]) == ("call-center-2", guest)
    assert (named.get_json()["client"], named.get_json()["phone"]) == ("site", stranger)


def test_a_malformed_client_name_is_422_naming_it(shop):
    answer = shop.client.get(
        f"/v1/orders/{WEBSITE_ORDER}?client=site%27--", headers=bearer(shop.operator, None)
    )
    assert answer.status_code == 422
    assert "query.client" in problem_fields(answer)
