"""Small verbs the HTTP tests share: ask for a code, log in, sign a request, read problems."""

from __future__ import annotations

import uuid


def ask_code(client, fake, phone: str, **headers) -> str:
    response = client.post("/v1/auth/sms-code", json={"phone": phone}, headers=headers)
    assert response.status_code == 202, response.get_json()
    return fake.last_code(phone)


def login(client, fake, phone: str) -> str:
    code = ask_code(client, fake, phone)
    response = client.post("/v1/auth/verify", json={"phone": phone, "code": code})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["token"]


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
