"""API keys: created by the CLI, stored hashed, scoped."""

from sqlalchemy import select

from bonus_service.app_db import get_db
from bonus_service.models import ApiClient, ApiKey
from tests.support.http import bearer
from tests.support.phones import new_phone


def test_create_client_prints_a_key_once_and_stores_only_its_hash(app, runner, client):
    result = runner.invoke(args=["bonus", "create-client", "call-center", "--scope", "operator"])
    assert result.exit_code == 0, result.output
    key = result.output.strip()
    assert key.startswith("bk_")
    with get_db(app).unit_of_work(write=False) as session:
        stored = session.scalar(select(ApiClient).where(ApiClient.name == "call-center"))
        keys = session.scalars(select(ApiKey.key_hash).where(ApiKey.client_id == stored.id)).all()
    assert len(keys) == 1 and key not in (keys[0], stored.scopes)
    response = client.get(f"/v1/guests/{new_phone()}", headers=bearer(key, None))
    assert response.status_code == 404


def test_a_duplicate_client_name_is_refused(runner):
    runner.invoke(args=["bonus", "create-client", "site", "--scope", "checkout"])
    again = runner.invoke(args=["bonus", "create-client", "site", "--scope", "checkout"])
    assert again.exit_code != 0
    assert "already exists" in again.output


def test_an_unknown_scope_is_refused(runner):
    result = runner.invoke(args=["bonus", "create-client", "x", "--scope", "root"])
    assert result.exit_code != 0


def test_no_key_is_401(client):
    response = client.get(f"/v1/guests/{new_phone()}")
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert "Bearer" in response.headers["WWW-Authenticate"]


def test_an_invalid_key_is_401(client):
    response = client.get(f"/v1/guests/{new_phone()}", headers=bearer("bk_nonsense", None))
    assert response.status_code == 401


def test_a_key_without_the_scope_is_403(client, make_key):
    response = client.get(f"/v1/guests/{new_phone()}", headers=bearer(make_key("checkout"), None))
    assert response.status_code == 403


def test_a_guest_token_does_not_open_operator_paths(client, fake_twilio):
    from tests.support.http import login

    token = login(client, fake_twilio, new_phone())
    response = client.get(f"/v1/guests/{new_phone()}", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_an_api_key_does_not_open_guest_paths(client, make_key):
    response = client.get("/v1/me", headers=bearer(make_key("operator"), None))
    assert response.status_code == 401
