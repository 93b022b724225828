"""Small verbs the HTTP tests share: ask for a code, log in, read problems."""

from __future__ import annotations

import itertools
import uuid

_phones = itertools.count(1000)


def new_phone() -> str:
    """A fresh, valid Russian mobile number per call (+7 912 xxx xx xx)."""
    return f"+7912{next(_phones):07d}"


def ask_code(client, fake, phone: str, **headers) -> str:
    response = client.post("/v1/auth/sms-code", json={"phone": phone}, headers=headers)
    assert response.status_code == 202, response.get_json()
    return fake.last_code(phone)


def login(client, fake, phone: str) -> str:
    code = ask_code(client, fake, phone)
    response = client.post("/v1/auth/verify", json={"phone": phone, "code": code})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["token"]


def checkout_client(session, name: str = "test") -> int:
    """A checkout client's id, for tests that call the checkout verbs directly: an order
    belongs to a client."""
    from sqlalchemy import select

    from bonus_service.clock import utcnow
    from bonus_service.credentials import create_client
    from bonus_service.models import ApiClient

    create_client(session, name, ["checkout"], utcnow())
    return session.scalar(select(ApiClient.id).where(ApiClient.name == name))


def bearer(key: str, idempotency_key: str | None = "auto") -> dict:
    headers = {"Authorization": f"Bearer {key}"}
    if idempotency_key:
        headers["Idempotency-Key"] = (
            uuid.uuid4().hex if idempotency_key == "auto" else idempotency_key
        )
    return headers


def problem_fields(response) -> dict[str, str]:
    assert response.mimetype == "application/problem+json", response.data
    return {e["field"]: e["reason"] for e in response.get_json().get("errors", [])}
