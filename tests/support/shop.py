"""Set-up verbs for checkout tests: a shop with keys and zones, guests with balances."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from bonus_service.app_db import get_db
from bonus_service.clock import utcnow
from bonus_service.services import operators
from tests.support.http import bearer, login
from tests.support.phones import new_phone

_orders = itertools.count(1)


def order_id() -> str:
    return f"T-{next(_orders):06d}"


def items(total: str, category: str | None = None) -> list[dict]:
    item = {"sku": "X-1", "name": "Блюдо", "qty": 1, "price": total}
    if category:
        item["category"] = category
    return [item]


def delivery(total: str, zone: str = "north", **extra) -> dict:
    return {"channel": "delivery", "zone": zone, "items": items(total), **extra}


def pickup(total: str, **extra) -> dict:
    return {"channel": "pickup", "items": items(total), **extra}


def cafe(total: str, category: str | None = None, **extra) -> dict:
    return {"channel": "cafe", "items": items(total, category), **extra}


@dataclass
class Shop:
    """An app with a checkout key, an operator key and an admin key, and two zones."""

    client: object
    fake: object
    checkout: str
    operator: str
    admin: str

    def zone(self, code: str, min_order: str, name: str = "Зона") -> None:
        response = self.client.put(
            f"/v1/zones/{code}",
            json={"name": name, "min_order": min_order},
            headers=bearer(self.admin),
        )
        assert response.status_code == 200, response.get_json()

    def guest(self, balance: str = "0") -> tuple[str, str]:
        """A registered guest with `balance` bonuses; returns (phone, guest token)."""
        phone = new_phone()
        token = login(self.client, self.fake, phone)
        if balance != "0":
            self.adjust(phone, balance)
        return phone, token

    def adjust(self, phone: str, amount: str, reason: str = "тестовое начисление"):
        """An adjustment applied at once, signed by the shop's person (made on first use)."""
        response = self.client.post(
            f"/v1/guests/{phone}/adjustments",
            json={"amount": amount, "reason": reason, "operator": self.person()},
            headers=bearer(self.operator),
        )
        assert response.status_code == 201, response.get_json()
        return response

    def person(self, name: str = "clerk", role: str = "operator") -> str:
        """A console account of `role` to name in `operator` fields; made if missing."""
        app = self.client.application
        with get_db(app).unit_of_work() as session:
            if operators.person(session, name) is None:
                operators.create(session, name, "a password of ours", utcnow(), role=role)
                session.commit()
        return name

    def quote(self, order: dict, phone: str | None = None, redeem: str | None = None):
        body = {"order": order}
        if phone:
            body["phone"] = phone
        if redeem:
            body["redeem"] = redeem
        return self.client.post("/v1/quote", json=body, headers=bearer(self.checkout, None))

    def place(
        self,
        phone: str,
        order: dict,
        redeem: str = "0",
        token: str | None = None,
        key: str | None = "auto",
        oid: str | None = None,
        **extra,
    ):
        headers = bearer(self.checkout, key)
        if token:
            headers["X-Guest-Token"] = token
        body = {"id": oid or order_id(), "phone": phone, "order": order, "redeem": redeem, **extra}
        return self.client.post("/v1/orders", json=body, headers=headers)

    def ask_spending_code(self, phone: str, amount: str = "100", key: str = "auto",
                          api_key: str | None = None):
        """POST /v1/orders/confirmation-code with this shop's checkout key (or `api_key`)."""
        return self.client.post("/v1/orders/confirmation-code",
                                json={"phone": phone, "amount": amount},
                                headers=bearer(api_key or self.checkout, key))  # fmt: skip

    def spending_code(self, phone: str, amount: str = "100", api_key: str | None = None) -> str:
        """A spending code for the guest, as the fake Twilio received it."""
        response = self.ask_spending_code(phone, amount, api_key=api_key)
        assert response.status_code == 202, response.get_json()
        return self.fake.last_code(phone)

    def complete(self, oid: str, key: str = "auto"):
        return self.client.post(f"/v1/orders/{oid}/complete", headers=bearer(self.checkout, key))

    def cancel(self, oid: str, key: str = "auto"):
        return self.client.post(f"/v1/orders/{oid}/cancel", headers=bearer(self.checkout, key))

    def me(self, token: str) -> dict:
        return self.client.get("/v1/me", headers={"Authorization": f"Bearer {token}"}).get_json()

    def history(self, token: str) -> list[dict]:
        response = self.client.get(
            "/v1/me/history?limit=100", headers={"Authorization": f"Bearer {token}"}
        )
        return response.get_json()["entries"]
