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


def test_creating_and_revoking_a_key_is_audited_and_listed_with_its_last_use(shop, bonus, db):
    """A key rotation asks which keys exist and whether the old one is still in use; the key
    changes themselves were in no audit trail."""
    from bonus_service.models import AuditEntry
    from tests.service.checkout_helpers import pickup

    assert bonus("create-client", "till-7", "--scope", "checkout").exit_code == 0
    phone, _ = shop.guest()
    shop.complete(shop.place(phone, pickup("1000.00")).get_json()["id"])  # the shop's key moves
    assert bonus("revoke-client", "till-7").exit_code == 0
    with db.unit_of_work(write=False) as session:
        trail = session.execute(
            select(AuditEntry.actor, AuditEntry.action, AuditEntry.target)
            .where(AuditEntry.action.like("client.%")).order_by(AuditEntry.id)
        ).all()  # fmt: skip
    assert [tuple(row) for row in trail] == [
        ("cli", "client.create", "till-7"), ("cli", "client.revoke", "till-7")]
    listed = {line.split("\t")[0]: line for line in bonus("list-clients").output.splitlines()}
    assert "checkout\tcreated " in listed["till-7"] and "\trevoked " in listed["till-7"]
    assert listed["till-7"].endswith("last moved bonuses never (UTC)")
    assert "\tactive\t" in listed["site"]  # the shop's checkout key moved bonuses
    assert "last moved bonuses never" not in listed["site"]
