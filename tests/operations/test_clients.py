"""`bonus revoke-client`: the last step of a key rotation."""

from __future__ import annotations

from sqlalchemy import select

from bonus_service.models import ApiClient
from tests.service.helpers import bearer


def test_a_revoked_key_is_refused_from_then_on(client, make_key, bonus):
    key = make_key("checkout", name="site-2024")
    assert client.get("/v1/orders/T-1", headers=bearer(key, None)).status_code == 404

    result = bonus("revoke-client", "site-2024")

    assert result.exit_code == 0, result.output
    assert result.output.startswith("client 'site-2024' revoked at ")
    assert client.get("/v1/orders/T-1", headers=bearer(key, None)).status_code == 401


def test_the_other_clients_keys_keep_working(client, make_key, bonus):
    make_key("checkout", name="old")
    new = make_key("checkout", name="new")

    bonus("revoke-client", "old")

    assert client.get("/v1/orders/T-1", headers=bearer(new, None)).status_code == 404


def test_revoking_twice_keeps_the_first_revocation(make_key, bonus, db):
    make_key("operator", name="call-center")
    first = bonus("revoke-client", "call-center")
    with db.unit_of_work(write=False) as session:
        revoked_at = session.scalar(select(ApiClient.revoked_at))

    second = bonus("revoke-client", "call-center")

    assert second.exit_code == 0
    assert second.output == first.output
    assert revoked_at.isoformat() in second.output


def test_revoking_an_unknown_client_fails_naming_it(bonus):
    result = bonus("revoke-client", "ghost")

    assert result.exit_code == 1
    assert "no client named 'ghost'" in result.output
